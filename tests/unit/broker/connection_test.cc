// State-machine tests for gw::broker::Connection: exact bytes in (encoded
// with the codec, or written by hand where the codec would refuse them),
// decoded packets and host calls out. No sockets, fake time.
#include "gateway/broker/connection.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gateway/mqtt/codec.h"
#include "tests/support/fake_clock.h"

namespace gw::broker {
namespace {

using mqtt::ProtocolVersion;
using mqtt::ReasonCode;
using namespace std::chrono_literals;

class FakeHost : public ConnectionHost {
 public:
  struct Ingested {
    Message msg;
    uint64_t token;
    std::optional<uint16_t> qos2_packet_id;
  };
  struct Release {
    uint16_t packet_id;
    uint64_t token;
  };
  // ConnectionHost:
  ConnectDecision on_connect(Connection&, const mqtt::Connect& c) override {
    connects.push_back(c);
    return decision;
  }
  void ingest(Connection&, Message msg, uint64_t token, std::optional<uint16_t> qos2_packet_id) override {
    ingested.push_back({std::move(msg), token, qos2_packet_id});
  }
  void release_qos2(Connection& conn, uint16_t packet_id, uint64_t token) override {
    releases.push_back({packet_id, token});
    if (!hold_releases) conn.on_release_done(token, Status::ok());
  }
  void route(const Message& msg, const Connection*) override { routed.push_back(msg); }
  bool subscribe(Connection&, const std::string& f, const SubscriptionOptions& o) override {
    const bool is_new = subs.count(f) == 0;
    subs[f] = o;
    return is_new;
  }
  void send_retained(Connection& conn, const std::string& f, const SubscriptionOptions& o, bool) override {
    if (retained) conn.deliver(*retained, std::min(retained->qos, o.qos), true, {});
    retained_for.push_back(f);
  }
  bool unsubscribe(Connection&, const std::string& f) override { return subs.erase(f) > 0; }
  bool may_publish(const Connection&, const std::string& topic) override { return topic.rfind("denied/", 0) != 0; }
  bool may_subscribe(const Connection&, std::string_view filter) override { return filter.rfind("denied/", 0) != 0; }
  void on_disconnect(Connection&, std::optional<WillMessage> w, uint32_t expiry, SessionState st) override {
    ++disconnects;
    will = std::move(w);
    session_expiry = expiry;
    state = std::move(st);
  }

  ConnectDecision decision;
  bool hold_releases = false;  // answer release_qos2() later, from the test
  std::vector<Release> releases;
  std::vector<mqtt::Connect> connects;
  std::vector<Ingested> ingested;
  std::vector<Message> routed;
  std::map<std::string, SubscriptionOptions> subs;
  std::optional<Message> retained;
  std::vector<std::string> retained_for;
  int disconnects = 0;
  std::optional<WillMessage> will;
  uint32_t session_expiry = 0;
  SessionState state;
};

template <typename P>
std::string bytes(const P& p, ProtocolVersion v) {
  std::string out;
  mqtt::encode(p, v, out);
  return out;
}

std::vector<mqtt::Packet> decode_all(const std::string& wire, ProtocolVersion v) {
  std::vector<mqtt::Packet> out;
  std::string_view rest(wire);
  while (!rest.empty()) {
    const mqtt::FrameResult f = mqtt::scan_frame(rest, 1 << 20);
    EXPECT_EQ(f.state, mqtt::FrameState::kComplete);
    if (f.state != mqtt::FrameState::kComplete) break;
    mqtt::DecodeResult r = mqtt::decode(rest.substr(0, f.size), v);
    EXPECT_TRUE(r.is_ok()) << r.to_status().to_string();
    if (!r) break;
    out.push_back(std::move(r).packet());
    rest.remove_prefix(f.size);
  }
  return out;
}

class ConnectionTest : public ::testing::Test {
 protected:
  void make(ConnectionOptions o = {}) { conn_ = std::make_unique<Connection>(7, o, host_, clock_); }

  // Feeds a CONNECT and returns the CONNACK.
  mqtt::Connack connect(ProtocolVersion v, mqtt::Connect c = {}) {
    if (!conn_) make();
    c.version = v;
    if (c.client_id.empty()) c.client_id = "dev-1";
    conn_->on_bytes(bytes(c, v));
    auto out = take(v);
    EXPECT_EQ(out.size(), 1u);
    EXPECT_TRUE(!out.empty() && std::holds_alternative<mqtt::Connack>(out[0]));
    return out.empty() ? mqtt::Connack{} : std::get<mqtt::Connack>(out[0]);
  }

  std::vector<mqtt::Packet> take(ProtocolVersion v) { return decode_all(conn_->take_output(), v); }

  void publish(ProtocolVersion v, const std::string& topic, uint8_t qos, uint16_t id, mqtt::Properties props = {}) {
    mqtt::Publish p;
    p.topic = topic;
    p.payload = "payload";
    p.qos = qos;
    p.packet_id = id;
    p.properties = std::move(props);
    conn_->on_bytes(bytes(p, v));
  }

  testing::FakeClock clock_;
  FakeHost host_;
  std::unique_ptr<Connection> conn_;
};

TEST(ReasonForStatus, OneMapping) {
  EXPECT_EQ(reason_for_status(Status::ok()), ReasonCode::kSuccess);
  EXPECT_EQ(reason_for_status(resource_exhausted("full")), ReasonCode::kQuotaExceeded);
  EXPECT_EQ(reason_for_status(unavailable("store down")), ReasonCode::kUnspecifiedError);
  EXPECT_EQ(reason_for_status(internal_error("x")), ReasonCode::kUnspecifiedError);
  EXPECT_EQ(reason_for_status(invalid_argument("x")), ReasonCode::kUnspecifiedError);
}

TEST_F(ConnectionTest, V5ConnackAnnouncesLimits) {
  ConnectionOptions o;
  o.receive_maximum = 10;
  o.topic_alias_maximum = 5;
  o.max_packet_size = 1000;
  make(o);
  mqtt::Connect c;
  c.keep_alive_s = 30;
  const mqtt::Connack ack = connect(ProtocolVersion::kV5, c);
  EXPECT_EQ(ack.reason_code, ReasonCode::kSuccess);
  EXPECT_FALSE(ack.session_present);
  EXPECT_EQ(ack.properties.receive_maximum, 10);
  EXPECT_EQ(ack.properties.topic_alias_maximum, 5);
  EXPECT_EQ(ack.properties.maximum_packet_size, 1000u);
  EXPECT_FALSE(ack.properties.server_keep_alive_s);  // 30 <= max 60
  EXPECT_FALSE(ack.properties.assigned_client_identifier);
  EXPECT_EQ(conn_->client_id(), "dev-1");
  EXPECT_EQ(conn_->state(), Connection::State::kConnected);
}

TEST_F(ConnectionTest, V311ConnackIsFourBytes) {
  make();
  mqtt::Connect c;
  c.version = ProtocolVersion::kV311;
  c.client_id = "dev";
  conn_->on_bytes(bytes(c, ProtocolVersion::kV311));
  // 0x20 CONNACK, remaining length 2, session present 0, return code 0.
  EXPECT_EQ(conn_->take_output(), std::string("\x20\x02\x00\x00", 4));
}

TEST_F(ConnectionTest, WrongProtocolLevelGetsReturnCode1AndClose) {
  make();
  // CONNECT: remaining length 12, "MQTT", level 3, flags clean, keep alive 60, client id "".
  conn_->on_bytes(std::string("\x10\x0c\x00\x04MQTT\x03\x02\x00\x3c\x00\x00", 14));
  EXPECT_EQ(conn_->take_output(), std::string("\x20\x02\x00\x01", 4));
  EXPECT_TRUE(conn_->close_requested());
  EXPECT_TRUE(host_.connects.empty());
}

TEST_F(ConnectionTest, WrongProtocolNameIsClosedWithoutAnswer) {
  make();
  conn_->on_bytes(std::string("\x10\x0c\x00\x04MQXX\x04\x02\x00\x3c\x00\x00", 14));
  EXPECT_EQ(conn_->take_output(), "");
  EXPECT_TRUE(conn_->close_requested());
}

TEST_F(ConnectionTest, FirstPacketMustBeConnect) {
  make();
  conn_->on_bytes(std::string("\xc0\x00", 2));  // PINGREQ
  EXPECT_TRUE(conn_->close_requested());
  EXPECT_EQ(conn_->take_output(), "");
}

TEST_F(ConnectionTest, EmptyClientIdV5IsAssigned) {
  make();
  mqtt::Connect c;
  c.version = ProtocolVersion::kV5;
  conn_->on_bytes(bytes(c, ProtocolVersion::kV5));
  auto out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 1u);
  const auto& ack = std::get<mqtt::Connack>(out[0]);
  EXPECT_EQ(ack.reason_code, ReasonCode::kSuccess);
  ASSERT_TRUE(ack.properties.assigned_client_identifier);
  EXPECT_EQ(*ack.properties.assigned_client_identifier, conn_->client_id());
  EXPECT_FALSE(conn_->client_id().empty());
}

TEST_F(ConnectionTest, EmptyClientIdV311WithoutCleanSessionIsRejected) {
  make();
  mqtt::Connect c;
  c.version = ProtocolVersion::kV311;
  c.clean_start = false;
  conn_->on_bytes(bytes(c, ProtocolVersion::kV311));
  EXPECT_EQ(conn_->take_output(), std::string("\x20\x02\x00\x02", 4));  // identifier rejected
  EXPECT_TRUE(conn_->close_requested());
  EXPECT_EQ(host_.disconnects, 0);  // never accepted
}

TEST_F(ConnectionTest, EmptyClientIdV311WithCleanSessionIsAccepted) {
  make();
  mqtt::Connect c;
  c.version = ProtocolVersion::kV311;
  conn_->on_bytes(bytes(c, ProtocolVersion::kV311));
  EXPECT_EQ(conn_->take_output(), std::string("\x20\x02\x00\x00", 4));
  EXPECT_FALSE(conn_->client_id().empty());
}

TEST_F(ConnectionTest, HostCanRefuseConnect) {
  host_.decision.reason_code = ReasonCode::kNotAuthorized;
  const auto ack = connect(ProtocolVersion::kV5);
  EXPECT_EQ(ack.reason_code, ReasonCode::kNotAuthorized);
  EXPECT_TRUE(conn_->close_requested());
  EXPECT_EQ(host_.disconnects, 0);
}

TEST_F(ConnectionTest, MessageCarriesEverythingTheSinkNeeds) {
  mqtt::Connect c;
  c.username = "alice";
  connect(ProtocolVersion::kV5, c);
  mqtt::Properties props;
  props.user = {{"k", "1"}, {"a", "2"}, {"k", "3"}};
  props.content_type = "application/json";
  props.payload_format_indicator = 1;
  props.message_expiry_interval_s = 60;
  props.response_topic = "reply/here";
  props.correlation_data = std::string("\x00\x01", 2);
  publish(ProtocolVersion::kV5, "plant/a/temp", 1, 5, props);
  ASSERT_EQ(host_.ingested.size(), 1u);
  const Message& m = host_.ingested[0].msg;
  EXPECT_EQ(m.topic, "plant/a/temp");
  EXPECT_EQ(m.payload, "payload");
  EXPECT_EQ(m.qos, 1);
  EXPECT_FALSE(m.retain);
  EXPECT_EQ(m.properties.user, (std::vector<UserProperty>{{"k", "1"}, {"a", "2"}, {"k", "3"}}));
  EXPECT_EQ(m.properties.content_type, "application/json");
  EXPECT_EQ(m.properties.payload_format, 1);
  EXPECT_EQ(m.properties.message_expiry_s, 60u);
  EXPECT_EQ(m.properties.response_topic, "reply/here");
  EXPECT_EQ(m.properties.correlation_data, std::string("\x00\x01", 2));
  EXPECT_EQ(m.client_id, "dev-1");
  EXPECT_EQ(m.username, "alice");
  EXPECT_EQ(m.protocol_version, 5);
  EXPECT_EQ(m.received_at_ms, clock_.wall_ms());
  ASSERT_EQ(host_.routed.size(), 1u);  // local subscribers see it at once
  EXPECT_EQ(host_.routed[0], m);
}

TEST_F(ConnectionTest, Qos1PubackOnlyAfterSinkSaysOk) {
  connect(ProtocolVersion::kV311);
  publish(ProtocolVersion::kV311, "t", 1, 42);
  ASSERT_EQ(host_.ingested.size(), 1u);
  EXPECT_NE(host_.ingested[0].token, 0u);
  EXPECT_EQ(conn_->take_output(), "");  // nothing until the sink answers
  conn_->on_ingest_done(host_.ingested[0].token, Status::ok());
  // 0x40 PUBACK, remaining length 2, packet id 42.
  EXPECT_EQ(conn_->take_output(), std::string("\x40\x02\x00\x2a", 4));
}

TEST_F(ConnectionTest, Qos0IsIngestedWithoutToken) {
  connect(ProtocolVersion::kV5);
  publish(ProtocolVersion::kV5, "t", 0, 0);
  ASSERT_EQ(host_.ingested.size(), 1u);
  EXPECT_EQ(host_.ingested[0].token, 0u);
  EXPECT_EQ(conn_->take_output(), "");
}

TEST_F(ConnectionTest, V5RefusalsCarryTheMappedReason) {
  connect(ProtocolVersion::kV5);
  publish(ProtocolVersion::kV5, "t", 1, 1);
  publish(ProtocolVersion::kV5, "t", 1, 2);
  conn_->on_ingest_done(host_.ingested[0].token, resource_exhausted("queue full"));
  conn_->on_ingest_done(host_.ingested[1].token, unavailable("store down"));
  auto out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 2u);
  const auto& a = std::get<mqtt::Puback>(out[0]);
  EXPECT_EQ(a.packet_id, 1);
  EXPECT_EQ(a.reason_code, ReasonCode::kQuotaExceeded);  // 0x97
  EXPECT_EQ(a.properties.reason_string, "queue full");
  const auto& b = std::get<mqtt::Puback>(out[1]);
  EXPECT_EQ(b.packet_id, 2);
  EXPECT_EQ(b.reason_code, ReasonCode::kUnspecifiedError);  // 0x80
  EXPECT_EQ(conn_->counters().ingest_refused, 2u);
}

TEST_F(ConnectionTest, V5ReasonStringOnlyWhenProblemInformationAllowed) {
  mqtt::Connect c;
  c.properties.request_problem_information = 0;
  connect(ProtocolVersion::kV5, c);
  publish(ProtocolVersion::kV5, "t", 1, 1);
  conn_->on_ingest_done(host_.ingested[0].token, resource_exhausted("queue full"));
  auto out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<mqtt::Puback>(out[0]).reason_code, ReasonCode::kQuotaExceeded);
  EXPECT_FALSE(std::get<mqtt::Puback>(out[0]).properties.reason_string);
}

TEST_F(ConnectionTest, V311RefusalSendsNoAck) {
  connect(ProtocolVersion::kV311);
  publish(ProtocolVersion::kV311, "t", 1, 1);
  publish(ProtocolVersion::kV311, "t", 1, 2);
  conn_->on_ingest_done(host_.ingested[0].token, resource_exhausted("full"));
  conn_->on_ingest_done(host_.ingested[1].token, Status::ok());
  EXPECT_EQ(conn_->take_output(), std::string("\x40\x02\x00\x02", 4));  // only the accepted one
}

TEST_F(ConnectionTest, AcksGoOutInArrivalOrder) {
  connect(ProtocolVersion::kV5);
  publish(ProtocolVersion::kV5, "t", 1, 1);
  publish(ProtocolVersion::kV5, "t", 1, 2);
  publish(ProtocolVersion::kV5, "t", 1, 3);
  conn_->on_ingest_done(host_.ingested[2].token, Status::ok());
  conn_->on_ingest_done(host_.ingested[1].token, Status::ok());
  EXPECT_EQ(conn_->take_output(), "");  // §4.6: 1 first
  conn_->on_ingest_done(host_.ingested[0].token, Status::ok());
  auto out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 3u);
  for (uint16_t i = 0; i < 3; ++i) EXPECT_EQ(std::get<mqtt::Puback>(out[i]).packet_id, i + 1);
}

TEST_F(ConnectionTest, LateCompletionAfterCloseIsIgnored) {
  connect(ProtocolVersion::kV5);
  publish(ProtocolVersion::kV5, "t", 1, 1);
  conn_->on_transport_closed();
  conn_->on_ingest_done(host_.ingested[0].token, Status::ok());
  conn_->on_ingest_done(999, Status::ok());
  EXPECT_EQ(conn_->take_output(), "");
}

TEST_F(ConnectionTest, InboundWindowStopsReadingAndV5OverflowIs0x93) {
  ConnectionOptions o;
  o.receive_maximum = 2;
  make(o);
  connect(ProtocolVersion::kV5);
  publish(ProtocolVersion::kV5, "t", 1, 1);
  EXPECT_TRUE(conn_->wants_read());
  publish(ProtocolVersion::kV5, "t", 1, 2);
  EXPECT_FALSE(conn_->wants_read());  // the driver stops reading: backpressure
  conn_->on_ingest_done(host_.ingested[0].token, Status::ok());
  EXPECT_TRUE(conn_->wants_read());
  take(ProtocolVersion::kV5);
  publish(ProtocolVersion::kV5, "t", 1, 3);
  publish(ProtocolVersion::kV5, "t", 1, 4);  // a third unacknowledged one
  auto out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<mqtt::Disconnect>(out[0]).reason_code, ReasonCode::kReceiveMaximumExceeded);
  EXPECT_TRUE(conn_->close_requested());
}

TEST_F(ConnectionTest, Qos2InboundExactlyOnce) {
  connect(ProtocolVersion::kV5);
  publish(ProtocolVersion::kV5, "t", 2, 9);
  ASSERT_EQ(host_.ingested.size(), 1u);
  EXPECT_EQ(conn_->take_output(), "");
  publish(ProtocolVersion::kV5, "t", 2, 9);  // retransmission before PUBREC: ignored
  EXPECT_EQ(host_.ingested.size(), 1u);
  conn_->on_ingest_done(host_.ingested[0].token, Status::ok());
  auto out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<mqtt::Pubrec>(out[0]).packet_id, 9);
  publish(ProtocolVersion::kV5, "t", 2, 9);  // retransmission after PUBREC: PUBREC again, no new message
  EXPECT_EQ(host_.ingested.size(), 1u);
  out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<mqtt::Pubrec>(out[0]));
  conn_->on_bytes(bytes(mqtt::Pubrel{9, ReasonCode::kSuccess, {}}, ProtocolVersion::kV5));
  out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<mqtt::Pubcomp>(out[0]).packet_id, 9);
  EXPECT_EQ(std::get<mqtt::Pubcomp>(out[0]).reason_code, ReasonCode::kSuccess);
  publish(ProtocolVersion::kV5, "t", 2, 9);  // the id is free again: a new message
  EXPECT_EQ(host_.ingested.size(), 2u);
}

// Issue 3: the QoS 2 packet id goes to the host with the message (to be
// recorded in the same transaction), and PUBCOMP waits until the host has
// forgotten it, in PUBREL order.
TEST_F(ConnectionTest, Qos2PacketIdGoesWithTheMessageAndPubcompWaitsForTheRelease) {
  connect(ProtocolVersion::kV5);
  host_.hold_releases = true;
  publish(ProtocolVersion::kV5, "t", 1, 4);
  publish(ProtocolVersion::kV5, "t", 2, 5);
  publish(ProtocolVersion::kV5, "t", 2, 6);
  ASSERT_EQ(host_.ingested.size(), 3u);
  EXPECT_EQ(host_.ingested[0].qos2_packet_id, std::nullopt);
  EXPECT_EQ(host_.ingested[1].qos2_packet_id, std::optional<uint16_t>(5));
  EXPECT_EQ(host_.ingested[2].qos2_packet_id, std::optional<uint16_t>(6));
  for (const auto& i : host_.ingested) conn_->on_ingest_done(i.token, Status::ok());
  EXPECT_EQ(take(ProtocolVersion::kV5).size(), 3u);  // PUBACK 4, PUBREC 5, PUBREC 6
  conn_->on_bytes(bytes(mqtt::Pubrel{5, ReasonCode::kSuccess, {}}, ProtocolVersion::kV5));
  conn_->on_bytes(bytes(mqtt::Pubrel{6, ReasonCode::kSuccess, {}}, ProtocolVersion::kV5));
  conn_->on_bytes(bytes(mqtt::Pubrel{77, ReasonCode::kSuccess, {}}, ProtocolVersion::kV5));  // unknown id
  ASSERT_EQ(host_.releases.size(), 2u);  // the unknown id is not the host's business
  EXPECT_TRUE(take(ProtocolVersion::kV5).empty()) << "no PUBCOMP before the record is gone";
  // Until PUBCOMP the flow is open: a retransmission is still a duplicate.
  publish(ProtocolVersion::kV5, "t", 2, 5);
  EXPECT_EQ(host_.ingested.size(), 3u);
  take(ProtocolVersion::kV5);
  conn_->on_release_done(host_.releases[1].token, Status::ok());  // 6 first: still waits for 5
  EXPECT_TRUE(take(ProtocolVersion::kV5).empty());
  conn_->on_release_done(host_.releases[0].token, Status::ok());
  auto out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(std::get<mqtt::Pubcomp>(out[0]).packet_id, 5);
  EXPECT_EQ(std::get<mqtt::Pubcomp>(out[1]).packet_id, 6);
  EXPECT_EQ(std::get<mqtt::Pubcomp>(out[2]).packet_id, 77);
  EXPECT_EQ(std::get<mqtt::Pubcomp>(out[2]).reason_code, ReasonCode::kPacketIdentifierNotFound);
  EXPECT_TRUE(conn_->qos2_received().empty());
}

// A failed release keeps the record and closes, so the client sends the
// PUBREL again on its next connection (no PUBCOMP claims a forgotten id).
TEST_F(ConnectionTest, FailedReleaseSendsNoPubcompAndDisconnects) {
  connect(ProtocolVersion::kV5);
  host_.hold_releases = true;
  publish(ProtocolVersion::kV5, "t", 2, 5);
  conn_->on_ingest_done(host_.ingested[0].token, Status::ok());
  take(ProtocolVersion::kV5);
  conn_->on_bytes(bytes(mqtt::Pubrel{5, ReasonCode::kSuccess, {}}, ProtocolVersion::kV5));
  conn_->on_release_done(host_.releases[0].token, unavailable("disk gone"));
  auto out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<mqtt::Disconnect>(out[0]).reason_code, ReasonCode::kUnspecifiedError);
  EXPECT_TRUE(conn_->close_requested());
  EXPECT_EQ(host_.state.qos2_received, (std::set<uint16_t>{5}));
}

// After a gateway restart the records come back without a session: the
// CONNACK says Session Present 0, a retransmission (DUP) of a recorded id is
// answered PUBREC without a second copy, its PUBREL completes it; a first
// delivery (no DUP) reusing a recorded id is a new message.
TEST_F(ConnectionTest, RestoredQos2RecordsMatchOnlyRetransmissions) {
  for (ProtocolVersion v : {ProtocolVersion::kV311, ProtocolVersion::kV5}) {
    SCOPED_TRACE(static_cast<int>(v));
    conn_.reset();
    host_.ingested.clear();
    host_.decision = {};
    host_.decision.resume.qos2_received = {5, 6};
    host_.decision.resume.qos2_restored = {5, 6};
    mqtt::Connect c;
    c.clean_start = false;
    EXPECT_FALSE(connect(v, c).session_present);
    EXPECT_EQ(conn_->qos2_received(), (std::set<uint16_t>{5, 6}));
    mqtt::Publish dup;
    dup.topic = "t";
    dup.payload = "again";
    dup.qos = 2;
    dup.packet_id = 5;
    dup.dup = true;
    conn_->on_bytes(bytes(dup, v));
    EXPECT_TRUE(host_.ingested.empty());
    auto out = take(v);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(std::get<mqtt::Pubrec>(out[0]).packet_id, 5);
    conn_->on_bytes(bytes(mqtt::Pubrel{5, ReasonCode::kSuccess, {}}, v));
    out = take(v);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(std::get<mqtt::Pubcomp>(out[0]).reason_code, ReasonCode::kSuccess);
    publish(v, "t", 2, 6);  // no DUP: the client moved on; a new message
    ASSERT_EQ(host_.ingested.size(), 1u);
    EXPECT_EQ(host_.ingested[0].qos2_packet_id, std::optional<uint16_t>(6));
    conn_->on_ingest_done(host_.ingested[0].token, Status::ok());
    out = take(v);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(std::get<mqtt::Pubrec>(out[0]).packet_id, 6);
    // Now a record of this connection: a DUP or not, it is a duplicate.
    publish(v, "t", 2, 6);
    EXPECT_EQ(host_.ingested.size(), 1u);
  }
}

// A CONNECT that ends a session with QoS 2 records: nothing is answered or
// read until the host says the records are gone, then the CONNACK comes
// first and the PUBLISH the client sent right behind its CONNECT follows.
TEST_F(ConnectionTest, ConnackWaitsUntilTheEndedSessionsRecordsAreDeleted) {
  for (ProtocolVersion v : {ProtocolVersion::kV311, ProtocolVersion::kV5}) {
    SCOPED_TRACE(static_cast<int>(v));
    make();
    host_.ingested.clear();
    host_.decision = {};
    host_.decision.await_session_cleared = true;
    mqtt::Connect c;
    c.version = v;
    c.client_id = "dev-1";
    mqtt::Publish p;
    p.topic = "t";
    p.payload = "after connect";
    p.qos = 2;
    p.packet_id = 1;  // the id the ended session's record may hold
    conn_->on_bytes(bytes(c, v) + bytes(p, v));
    EXPECT_TRUE(take(v).empty());
    EXPECT_TRUE(host_.ingested.empty());
    EXPECT_FALSE(conn_->wants_read());

    conn_->on_session_cleared(Status::ok());
    auto out = take(v);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(std::get<mqtt::Connack>(out[0]).reason_code, ReasonCode::kSuccess);
    ASSERT_EQ(host_.ingested.size(), 1u);  // a new message, not a retransmission
    EXPECT_EQ(host_.ingested[0].msg.payload, "after connect");
    EXPECT_TRUE(conn_->wants_read());
    conn_->on_ingest_done(host_.ingested[0].token, Status::ok());
    out = take(v);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(std::get<mqtt::Pubrec>(out[0]).packet_id, 1);
  }
}

// The records could not be deleted (store down): refused, no will, nothing read.
TEST_F(ConnectionTest, ConnackRefusedWhenTheRecordsCannotBeDeleted) {
  for (ProtocolVersion v : {ProtocolVersion::kV311, ProtocolVersion::kV5}) {
    SCOPED_TRACE(static_cast<int>(v));
    make();
    host_.ingested.clear();
    host_.disconnects = 0;
    host_.decision = {};
    host_.decision.await_session_cleared = true;
    mqtt::Connect c;
    c.version = v;
    c.client_id = "dev-1";
    c.will = mqtt::Will{"wills/dev-1", "gone", 1, false, {}};
    conn_->on_bytes(bytes(c, v));
    publish(v, "t", 1, 1);
    conn_->on_session_cleared(unavailable("store: disk I/O error"));
    auto out = take(v);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(std::get<mqtt::Connack>(out[0]).reason_code, ReasonCode::kServerUnavailable);
    EXPECT_TRUE(conn_->close_requested());
    EXPECT_TRUE(host_.ingested.empty());
    EXPECT_EQ(host_.disconnects, 1);
    EXPECT_FALSE(host_.will.has_value());
  }
}

// Restored records are unknown to a v5 client told Session Present 0, so they
// do not count against the Receive Maximum it must respect.
TEST_F(ConnectionTest, RestoredRecordsDoNotCountAgainstReceiveMaximum) {
  ConnectionOptions o;
  o.receive_maximum = 2;
  make(o);
  host_.decision.resume.qos2_received = {1, 2, 3};
  host_.decision.resume.qos2_restored = {1, 2, 3};
  connect(ProtocolVersion::kV5);
  publish(ProtocolVersion::kV5, "t", 2, 10);
  publish(ProtocolVersion::kV5, "t", 2, 11);
  EXPECT_FALSE(conn_->close_requested());
  EXPECT_EQ(host_.ingested.size(), 2u);
}

TEST_F(ConnectionTest, Qos2RefusedV5GetsPubrecWithReason) {
  connect(ProtocolVersion::kV5);
  publish(ProtocolVersion::kV5, "t", 2, 3);
  conn_->on_ingest_done(host_.ingested[0].token, resource_exhausted("full"));
  auto out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<mqtt::Pubrec>(out[0]).reason_code, ReasonCode::kQuotaExceeded);
  conn_->on_bytes(bytes(mqtt::Pubrel{3, ReasonCode::kSuccess, {}}, ProtocolVersion::kV5));
  out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<mqtt::Pubcomp>(out[0]).reason_code, ReasonCode::kPacketIdentifierNotFound);
}

TEST_F(ConnectionTest, MalformedPacketV5GetsDisconnect0x81) {
  connect(ProtocolVersion::kV5);
  // PUBLISH with QoS 3 (both QoS bits set) is malformed (§3.3.1.2).
  conn_->on_bytes(std::string("\x36\x05\x00\x01t\x00\x01", 7));
  auto out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<mqtt::Disconnect>(out[0]).reason_code, ReasonCode::kMalformedPacket);
  EXPECT_TRUE(conn_->close_requested());
  EXPECT_EQ(conn_->counters().protocol_errors, 1u);
  EXPECT_EQ(host_.disconnects, 1);
}

TEST_F(ConnectionTest, MalformedPacketV311JustCloses) {
  connect(ProtocolVersion::kV311);
  conn_->on_bytes(std::string("\x36\x05\x00\x01t\x00\x01", 7));
  EXPECT_EQ(conn_->take_output(), "");
  EXPECT_TRUE(conn_->close_requested());
}

TEST_F(ConnectionTest, BrokenRemainingLengthIsMalformed) {
  connect(ProtocolVersion::kV5);
  conn_->on_bytes(std::string("\x30\xff\xff\xff\xff\x01", 6));  // 5-byte remaining length
  auto out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<mqtt::Disconnect>(out[0]).reason_code, ReasonCode::kMalformedPacket);
}

TEST_F(ConnectionTest, PacketTooLargeV5GetsDisconnect0x95) {
  ConnectionOptions o;
  o.max_packet_size = 64;
  make(o);
  connect(ProtocolVersion::kV5);
  mqtt::Publish p;
  p.topic = "t";
  p.payload = std::string(100, 'x');
  conn_->on_bytes(bytes(p, ProtocolVersion::kV5).substr(0, 10));  // the header is enough to know
  auto out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<mqtt::Disconnect>(out[0]).reason_code, ReasonCode::kPacketTooLarge);
  EXPECT_TRUE(conn_->close_requested());
  EXPECT_TRUE(host_.ingested.empty());
}

TEST_F(ConnectionTest, PacketsSplitAcrossReadsAndCoalesced) {
  make();
  mqtt::Connect c;
  c.client_id = "split";
  std::string wire = bytes(c, ProtocolVersion::kV5);
  mqtt::Publish p;
  p.topic = "a/b";
  p.payload = "xyz";
  wire += bytes(p, ProtocolVersion::kV5);
  wire += bytes(mqtt::Pingreq{}, ProtocolVersion::kV5);
  for (char ch : wire) conn_->on_bytes(std::string_view(&ch, 1));
  auto out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<mqtt::Connack>(out[0]));
  EXPECT_TRUE(std::holds_alternative<mqtt::Pingresp>(out[1]));
  ASSERT_EQ(host_.ingested.size(), 1u);
  EXPECT_EQ(host_.ingested[0].msg.payload, "xyz");
}

TEST_F(ConnectionTest, KeepAliveTimeoutAtOneAndAHalfTimes) {
  mqtt::Connect c;
  c.keep_alive_s = 10;
  connect(ProtocolVersion::kV5, c);
  clock_.advance(14s);
  conn_->on_tick(clock_.now());
  EXPECT_FALSE(conn_->close_requested());
  conn_->on_bytes(bytes(mqtt::Pingreq{}, ProtocolVersion::kV5));  // resets the timer
  take(ProtocolVersion::kV5);
  clock_.advance(14s);
  conn_->on_tick(clock_.now());
  EXPECT_FALSE(conn_->close_requested());
  EXPECT_EQ(conn_->next_deadline(), clock_.now() + 1s);
  clock_.advance(1s);
  conn_->on_tick(clock_.now());
  auto out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<mqtt::Disconnect>(out[0]).reason_code, ReasonCode::kKeepAliveTimeout);
  EXPECT_TRUE(conn_->close_requested());
}

TEST_F(ConnectionTest, KeepAliveAboveMaximumGetsServerKeepAlive) {
  mqtt::Connect c;
  c.keep_alive_s = 600;
  const auto ack = connect(ProtocolVersion::kV5, c);
  EXPECT_EQ(ack.properties.server_keep_alive_s, 60);
  EXPECT_EQ(conn_->next_deadline(), clock_.now() + 90s);
}

TEST_F(ConnectionTest, ConnectTimeout) {
  make();
  EXPECT_EQ(conn_->next_deadline(), clock_.now() + 10s);
  clock_.advance(9s);
  conn_->on_tick(clock_.now());
  EXPECT_FALSE(conn_->close_requested());
  clock_.advance(1s);
  conn_->on_tick(clock_.now());
  EXPECT_TRUE(conn_->close_requested());
  EXPECT_EQ(conn_->take_output(), "");
}

TEST_F(ConnectionTest, PingreqGetsPingresp) {
  connect(ProtocolVersion::kV311);
  conn_->on_bytes(std::string("\xc0\x00", 2));
  EXPECT_EQ(conn_->take_output(), std::string("\xd0\x00", 2));
}

TEST_F(ConnectionTest, SubscribeGrantsAndRejectsPerFilterThenRetained) {
  connect(ProtocolVersion::kV5);
  Message retained;
  retained.topic = "a/b";
  retained.payload = "r";
  retained.qos = 1;
  retained.retain = true;
  host_.retained = retained;
  mqtt::Subscribe s;
  s.packet_id = 11;
  s.subscriptions = {{"a/#", 2, false, false, 0}, {"a/#/b", 1, false, false, 0}, {"x/+", 0, true, true, 2}};
  s.properties.subscription_identifiers = {77};
  conn_->on_bytes(bytes(s, ProtocolVersion::kV5));
  auto out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 3u);  // SUBACK, then one retained message per granted filter
  const auto& ack = std::get<mqtt::Suback>(out[0]);
  EXPECT_EQ(ack.packet_id, 11);
  EXPECT_EQ(ack.reason_codes,
            (std::vector<ReasonCode>{ReasonCode::kGrantedQos2, ReasonCode::kTopicFilterInvalid, ReasonCode::kGrantedQos0}));
  EXPECT_EQ(host_.subs.at("a/#").subscription_id, 77u);
  EXPECT_TRUE(host_.subs.at("x/+").no_local);
  EXPECT_TRUE(host_.subs.at("x/+").retain_as_published);
  EXPECT_EQ(host_.subs.at("x/+").retain_handling, 2);
  const auto& r = std::get<mqtt::Publish>(out[1]);
  EXPECT_TRUE(r.retain);
  EXPECT_EQ(r.qos, 1);
  EXPECT_EQ(host_.retained_for, (std::vector<std::string>{"a/#", "x/+"}));
}

TEST_F(ConnectionTest, V311SubackFailureIs0x80) {
  connect(ProtocolVersion::kV311);
  mqtt::Subscribe s;
  s.packet_id = 1;
  s.subscriptions = {{"a/#/b", 1, false, false, 0}, {"ok", 1, false, false, 0}};
  conn_->on_bytes(bytes(s, ProtocolVersion::kV311));
  // 0x90 SUBACK, remaining 4, packet id 1, 0x80 failure, 0x01 granted QoS 1.
  EXPECT_EQ(conn_->take_output(), std::string("\x90\x04\x00\x01\x80\x01", 6));
}

TEST_F(ConnectionTest, UnsubscribeReportsPerFilter) {
  connect(ProtocolVersion::kV5);
  host_.subs["a"] = {};
  mqtt::Unsubscribe u;
  u.packet_id = 4;
  u.filters = {"a", "b"};
  conn_->on_bytes(bytes(u, ProtocolVersion::kV5));
  auto out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<mqtt::Unsuback>(out[0]).reason_codes,
            (std::vector<ReasonCode>{ReasonCode::kSuccess, ReasonCode::kNoSubscriptionExisted}));
}

TEST_F(ConnectionTest, OutboundQos1WindowAndQueue) {
  ConnectionOptions o;
  o.max_inflight = 2;
  o.max_queued_messages = 1;
  make(o);
  connect(ProtocolVersion::kV5);
  Message m;
  m.topic = "t";
  m.payload = "p";
  m.qos = 1;
  for (int i = 0; i < 4; ++i) conn_->deliver(m, 1, false, {});
  auto out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 2u);  // the window
  EXPECT_EQ(std::get<mqtt::Publish>(out[0]).packet_id, 1);
  EXPECT_EQ(std::get<mqtt::Publish>(out[1]).packet_id, 2);
  EXPECT_EQ(conn_->queued_out(), 1u);
  EXPECT_EQ(conn_->counters().dropped_outbound, 1u);  // beyond the queue
  conn_->on_bytes(bytes(mqtt::Puback{1, ReasonCode::kSuccess, {}}, ProtocolVersion::kV5));
  out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<mqtt::Publish>(out[0]).packet_id, 3);
  EXPECT_EQ(conn_->inflight_out(), 2u);
}

TEST_F(ConnectionTest, OutboundRespectsClientReceiveMaximumAndPacketSize) {
  mqtt::Connect c;
  c.properties.receive_maximum = 1;
  c.properties.maximum_packet_size = 40;
  connect(ProtocolVersion::kV5, c);
  Message m;
  m.topic = "t";
  m.payload = "p";
  conn_->deliver(m, 1, false, {7});
  conn_->deliver(m, 1, false, {});
  auto out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<mqtt::Publish>(out[0]).properties.subscription_identifiers, (std::vector<uint32_t>{7}));
  Message big = m;
  big.payload = std::string(100, 'x');
  conn_->deliver(big, 0, false, {});
  EXPECT_EQ(conn_->take_output(), "");  // §3.1.2.11.4: never larger than the client allows
  EXPECT_EQ(conn_->counters().dropped_outbound, 1u);
}

// ---- Outbound topic aliases (issue 3, MQTT 5.0 §3.3.2.3.4) ----------------

// Sends `topics` in order at QoS 0 and returns what went out as (topic, alias).
std::vector<std::pair<std::string, std::optional<uint16_t>>> sent_aliases(Connection& conn,
                                                                            const std::vector<std::string>& topics,
                                                                            ProtocolVersion v) {
  for (const std::string& t : topics) {
    Message m;
    m.topic = t;
    m.payload = "p";
    conn.deliver(m, 0, false, {});
  }
  std::vector<std::pair<std::string, std::optional<uint16_t>>> out;
  for (const auto& p : decode_all(conn.take_output(), v)) {
    const auto& pub = std::get<mqtt::Publish>(p);
    out.emplace_back(pub.topic, pub.properties.topic_alias);
  }
  return out;
}

TEST_F(ConnectionTest, OutboundTopicAliasesRespectTheClientsMaximum) {
  mqtt::Connect c;
  c.properties.topic_alias_maximum = 2;
  connect(ProtocolVersion::kV5, c);
  using A = std::optional<uint16_t>;
  const auto out = sent_aliases(*conn_, {"plant/a", "plant/a", "plant/b", "plant/c", "plant/a", "plant/c", "plant/b"},
                                ProtocolVersion::kV5);
  const std::vector<std::pair<std::string, A>> want = {
      {"plant/a", A(1)},  // first time: topic and the alias it gets
      {"", A(1)},         // then the alias alone
      {"plant/b", A(2)},
      {"plant/c", A()},  // the client's maximum (2) is reached: no alias, never a third one
      {"", A(1)},
      {"plant/c", A()},
      {"", A(2)},
  };
  EXPECT_EQ(out, want);
}

TEST_F(ConnectionTest, NoOutboundTopicAliasesWithoutAClientMaximumOrOnV311) {
  connect(ProtocolVersion::kV5);  // no Topic Alias Maximum: 0 (§3.1.2.11.5)
  for (const auto& [topic, alias] : sent_aliases(*conn_, {"t", "t"}, ProtocolVersion::kV5)) {
    EXPECT_EQ(topic, "t");
    EXPECT_FALSE(alias);
  }
  conn_.reset();
  connect(ProtocolVersion::kV311);
  EXPECT_EQ(sent_aliases(*conn_, {"t", "t"}, ProtocolVersion::kV311).size(), 2u);
}

TEST_F(ConnectionTest, OutboundTopicAliasesAreCappedByOurOptionAndResetOnReconnect) {
  ConnectionOptions o;
  o.max_outbound_topic_aliases = 1;
  make(o);
  mqtt::Connect c;
  c.properties.topic_alias_maximum = 10;
  connect(ProtocolVersion::kV5, c);
  using A = std::optional<uint16_t>;
  EXPECT_EQ(sent_aliases(*conn_, {"x", "y", "x", "y"}, ProtocolVersion::kV5),
            (std::vector<std::pair<std::string, A>>{{"x", A(1)}, {"y", A()}, {"", A(1)}, {"y", A()}}));
  // A new connection knows no alias: the topic goes out again first.
  conn_.reset();
  make(o);
  connect(ProtocolVersion::kV5, c);
  EXPECT_EQ(sent_aliases(*conn_, {"x", "x"}, ProtocolVersion::kV5),
            (std::vector<std::pair<std::string, A>>{{"x", A(1)}, {"", A(1)}}));
}

// A PUBLISH dropped as too large for the client must not leave an alias the
// client never learned.
TEST_F(ConnectionTest, DroppedOversizedPublishAssignsNoAlias) {
  mqtt::Connect c;
  c.properties.topic_alias_maximum = 5;
  c.properties.maximum_packet_size = 64;
  connect(ProtocolVersion::kV5, c);
  Message big;
  big.topic = "t/big";
  big.payload = std::string(100, 'x');
  conn_->deliver(big, 0, false, {});
  EXPECT_TRUE(conn_->take_output().empty());
  EXPECT_EQ(conn_->counters().dropped_outbound, 1u);
  using A = std::optional<uint16_t>;
  EXPECT_EQ(sent_aliases(*conn_, {"t/big", "t/big"}, ProtocolVersion::kV5),
            (std::vector<std::pair<std::string, A>>{{"t/big", A(1)}, {"", A(1)}}));
}

// QoS 1 in flight across a reconnect: the resent PUBLISH carries its topic on
// the new connection (aliases do not survive it).
TEST_F(ConnectionTest, ResentPublishOnANewConnectionCarriesItsTopic) {
  mqtt::Connect c;
  c.properties.topic_alias_maximum = 5;
  c.properties.session_expiry_interval_s = 60;
  connect(ProtocolVersion::kV5, c);
  Message m;
  m.topic = "t/q1";
  m.payload = "p";
  conn_->deliver(m, 1, false, {});
  conn_->deliver(m, 1, false, {});
  auto out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(std::get<mqtt::Publish>(out[1]).topic, "");
  conn_->on_transport_closed();
  host_.decision.session_present = true;
  host_.decision.resume = std::move(host_.state);
  conn_.reset();
  make();
  c.clean_start = false;
  c.version = ProtocolVersion::kV5;
  c.client_id = "dev-1";
  conn_->on_bytes(bytes(c, ProtocolVersion::kV5));
  out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 3u);
  const auto& first = std::get<mqtt::Publish>(out[1]);
  EXPECT_TRUE(first.dup);
  EXPECT_EQ(first.topic, "t/q1");
  EXPECT_EQ(first.properties.topic_alias, std::optional<uint16_t>(1));
  EXPECT_EQ(std::get<mqtt::Publish>(out[2]).topic, "");
}

TEST_F(ConnectionTest, OutboundQos2Flow) {
  connect(ProtocolVersion::kV5);
  Message m;
  m.topic = "t";
  conn_->deliver(m, 2, false, {});
  auto out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 1u);
  const uint16_t id = std::get<mqtt::Publish>(out[0]).packet_id;
  conn_->on_bytes(bytes(mqtt::Pubrec{id, ReasonCode::kSuccess, {}}, ProtocolVersion::kV5));
  out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<mqtt::Pubrel>(out[0]).packet_id, id);
  EXPECT_EQ(conn_->inflight_out(), 1u);
  conn_->on_bytes(bytes(mqtt::Pubcomp{id, ReasonCode::kSuccess, {}}, ProtocolVersion::kV5));
  EXPECT_EQ(conn_->inflight_out(), 0u);
}

TEST_F(ConnectionTest, TopicAliasInbound) {
  connect(ProtocolVersion::kV5);
  mqtt::Properties with_alias;
  with_alias.topic_alias = 3;
  publish(ProtocolVersion::kV5, "long/topic/name", 0, 0, with_alias);
  publish(ProtocolVersion::kV5, "", 0, 0, with_alias);
  ASSERT_EQ(host_.ingested.size(), 2u);
  EXPECT_EQ(host_.ingested[1].msg.topic, "long/topic/name");
  mqtt::Properties unknown;
  unknown.topic_alias = 4;
  publish(ProtocolVersion::kV5, "", 0, 0, unknown);
  auto out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<mqtt::Disconnect>(out[0]).reason_code, ReasonCode::kProtocolError);
}

TEST_F(ConnectionTest, TopicAliasAboveMaximumIs0x94) {
  connect(ProtocolVersion::kV5);
  mqtt::Properties props;
  props.topic_alias = 1000;
  publish(ProtocolVersion::kV5, "t", 0, 0, props);
  auto out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<mqtt::Disconnect>(out[0]).reason_code, ReasonCode::kTopicAliasInvalid);
}

TEST_F(ConnectionTest, WillPublishedOnLostConnectionNotOnDisconnect) {
  mqtt::Connect c;
  c.will = mqtt::Will{"dev/status", "offline", 1, true, {}};
  connect(ProtocolVersion::kV5, c);
  conn_->on_transport_closed();
  ASSERT_TRUE(host_.will);
  EXPECT_EQ(host_.will->message.topic, "dev/status");
  EXPECT_EQ(host_.will->message.payload, "offline");
  EXPECT_TRUE(host_.will->message.retain);
  EXPECT_EQ(host_.will->message.client_id, "dev-1");

  host_ = FakeHost{};
  conn_.reset();
  connect(ProtocolVersion::kV5, c);
  conn_->on_bytes(bytes(mqtt::Disconnect{}, ProtocolVersion::kV5));
  EXPECT_TRUE(conn_->close_requested());
  EXPECT_EQ(host_.disconnects, 1);
  EXPECT_FALSE(host_.will);
}

TEST_F(ConnectionTest, SessionExpiryFromConnectAndDisconnect) {
  mqtt::Connect c;
  c.properties.session_expiry_interval_s = 100;
  connect(ProtocolVersion::kV5, c);
  mqtt::Disconnect d;
  d.properties.session_expiry_interval_s = 5;
  conn_->on_bytes(bytes(d, ProtocolVersion::kV5));
  EXPECT_EQ(host_.session_expiry, 5u);
}

TEST_F(ConnectionTest, SecondConnectIsProtocolError) {
  connect(ProtocolVersion::kV5);
  mqtt::Connect c;
  c.client_id = "again";
  conn_->on_bytes(bytes(c, ProtocolVersion::kV5));
  auto out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<mqtt::Disconnect>(out[0]).reason_code, ReasonCode::kProtocolError);
}

TEST_F(ConnectionTest, TakeOverSendsSessionTakenOver) {
  connect(ProtocolVersion::kV5);
  conn_->take_over();
  auto out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<mqtt::Disconnect>(out[0]).reason_code, ReasonCode::kSessionTakenOver);
  EXPECT_TRUE(conn_->close_requested());
}

TEST_F(ConnectionTest, SessionStateIsHandedOverAndResumed) {
  mqtt::Connect c;
  c.properties.session_expiry_interval_s = 300;
  connect(ProtocolVersion::kV5, c);
  Message m;
  m.topic = "t";
  m.payload = "p";
  conn_->deliver(m, 1, false, {});
  conn_->deliver(m, 2, false, {});
  take(ProtocolVersion::kV5);
  conn_->on_bytes(bytes(mqtt::Pubrec{2, ReasonCode::kSuccess, {}}, ProtocolVersion::kV5));  // id 2 released
  take(ProtocolVersion::kV5);
  publish(ProtocolVersion::kV5, "in", 2, 50);
  conn_->on_ingest_done(host_.ingested[0].token, Status::ok());  // PUBREC sent for inbound 50
  conn_->on_transport_closed();
  EXPECT_EQ(host_.session_expiry, 300u);
  ASSERT_EQ(host_.state.inflight.size(), 2u);
  EXPECT_EQ(host_.state.qos2_received, (std::set<uint16_t>{50}));

  // A new connection resumes it: PUBLISH 1 again with DUP, PUBREL 2, and the
  // inbound QoS 2 id is still known (its PUBREL completes).
  host_.decision.session_present = true;
  host_.decision.resume = std::move(host_.state);
  conn_.reset();
  make();
  mqtt::Connect again;
  again.version = ProtocolVersion::kV5;
  again.client_id = "dev-1";
  again.clean_start = false;
  conn_->on_bytes(bytes(again, ProtocolVersion::kV5));
  auto out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(std::get<mqtt::Connack>(out[0]).session_present);
  const auto& p = std::get<mqtt::Publish>(out[1]);
  EXPECT_EQ(p.packet_id, 1);
  EXPECT_TRUE(p.dup);
  EXPECT_EQ(std::get<mqtt::Pubrel>(out[2]).packet_id, 2);
  conn_->on_bytes(bytes(mqtt::Pubrel{50, ReasonCode::kSuccess, {}}, ProtocolVersion::kV5));
  out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<mqtt::Pubcomp>(out[0]).reason_code, ReasonCode::kSuccess);
  // New packet ids do not collide with the resumed ones.
  conn_->deliver(m, 1, false, {});
  out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<mqtt::Publish>(out[0]).packet_id, 3);
}


// ---- Authorisation and topic limits (issue 3) ------------------------------

TEST_F(ConnectionTest, DeniedPublishV5GetsNotAuthorizedInArrivalOrder) {
  connect(ProtocolVersion::kV5);
  publish(ProtocolVersion::kV5, "ok/1", 1, 1);         // awaits the sink
  publish(ProtocolVersion::kV5, "denied/a", 1, 2);     // refused at once, but answered after id 1
  publish(ProtocolVersion::kV5, "denied/b", 2, 3);
  publish(ProtocolVersion::kV5, "denied/c", 0, 0);
  EXPECT_EQ(host_.ingested.size(), 1u);  // only ok/1 reaches the sink
  EXPECT_EQ(host_.routed.size(), 1u);
  EXPECT_TRUE(take(ProtocolVersion::kV5).empty());
  conn_->on_ingest_done(host_.ingested[0].token, Status::ok());
  auto out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(std::get<mqtt::Puback>(out[0]).packet_id, 1);
  EXPECT_EQ(std::get<mqtt::Puback>(out[0]).reason_code, ReasonCode::kSuccess);
  EXPECT_EQ(std::get<mqtt::Puback>(out[1]).packet_id, 2);
  EXPECT_EQ(std::get<mqtt::Puback>(out[1]).reason_code, ReasonCode::kNotAuthorized);
  EXPECT_EQ(std::get<mqtt::Pubrec>(out[2]).reason_code, ReasonCode::kNotAuthorized);
  EXPECT_EQ(conn_->counters().publish_denied, 3u);
  // The refused QoS 2 flow is over: its id may be used again for a new message.
  publish(ProtocolVersion::kV5, "ok/2", 2, 3);
  EXPECT_EQ(host_.ingested.size(), 2u);
}

TEST_F(ConnectionTest, DeniedPublishV311IsAcknowledgedAndDropped) {
  connect(ProtocolVersion::kV311);
  publish(ProtocolVersion::kV311, "denied/a", 1, 5);
  publish(ProtocolVersion::kV311, "denied/b", 2, 6);
  EXPECT_TRUE(host_.ingested.empty());
  EXPECT_TRUE(host_.routed.empty());
  // 3.1.1 §3.3.5: a positive ack; the QoS 2 flow completes normally.
  EXPECT_EQ(conn_->take_output(), std::string("\x40\x02\x00\x05\x50\x02\x00\x06", 8));
  conn_->on_bytes(bytes(mqtt::Pubrel{6, ReasonCode::kSuccess, {}}, ProtocolVersion::kV311));
  EXPECT_EQ(conn_->take_output(), std::string("\x70\x02\x00\x06", 4));  // PUBCOMP
  EXPECT_FALSE(conn_->close_requested());
}

TEST_F(ConnectionTest, DeniedSubscriptionGets0x87Or0x80) {
  for (ProtocolVersion v : {ProtocolVersion::kV5, ProtocolVersion::kV311}) {
    conn_.reset();
    host_.subs.clear();
    connect(v);
    mqtt::Subscribe s;
    s.packet_id = 9;
    s.subscriptions = {{"ok/#", 1}, {"denied/x", 1}};
    conn_->on_bytes(bytes(s, v));
    auto out = take(v);
    ASSERT_EQ(out.size(), 1u);
    const auto& ack = std::get<mqtt::Suback>(out[0]);
    ASSERT_EQ(ack.reason_codes.size(), 2u);
    EXPECT_EQ(ack.reason_codes[0], ReasonCode::kGrantedQos1);
    // 3.1.1 has only 0x80 Failure (§3.9.3); the decoder reads it as 0x80.
    EXPECT_EQ(ack.reason_codes[1], v == ProtocolVersion::kV5 ? ReasonCode::kNotAuthorized : ReasonCode::kUnspecifiedError);
    EXPECT_EQ(host_.subs.count("denied/x"), 0u);
    EXPECT_EQ(conn_->counters().subscribe_denied, 1u);
  }
}

TEST_F(ConnectionTest, TopicLimits) {
  ConnectionOptions o;
  o.max_topic_levels = 3;
  o.max_topic_length = 20;
  make(o);
  connect(ProtocolVersion::kV5);
  publish(ProtocolVersion::kV5, "a/b/c/d", 1, 1);                // 4 levels
  publish(ProtocolVersion::kV5, "aaaaaaaaaaaaaaaaaaaaa", 1, 2);  // 21 bytes
  publish(ProtocolVersion::kV5, "a/b/c", 1, 3);
  auto out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(std::get<mqtt::Puback>(out[0]).reason_code, ReasonCode::kTopicNameInvalid);
  EXPECT_EQ(std::get<mqtt::Puback>(out[1]).reason_code, ReasonCode::kTopicNameInvalid);
  ASSERT_EQ(host_.ingested.size(), 1u);
  EXPECT_EQ(host_.ingested[0].msg.topic, "a/b/c");
  mqtt::Subscribe s;
  s.packet_id = 4;
  s.subscriptions = {{"a/+/c/#", 0}, {"a/+/#", 0}};
  conn_->on_bytes(bytes(s, ProtocolVersion::kV5));
  out = take(ProtocolVersion::kV5);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<mqtt::Suback>(out[0]).reason_codes,
            (std::vector<ReasonCode>{ReasonCode::kTopicFilterInvalid, ReasonCode::kGrantedQos0}));
  EXPECT_EQ(conn_->counters().topic_refused, 3u);
}

TEST_F(ConnectionTest, TopicTooDeepV311Closes) {
  ConnectionOptions o;
  o.max_topic_levels = 2;
  make(o);
  connect(ProtocolVersion::kV311);
  publish(ProtocolVersion::kV311, "a/b/c", 1, 1);
  EXPECT_TRUE(conn_->close_requested());
  EXPECT_TRUE(host_.ingested.empty());
}

TEST_F(ConnectionTest, CertCnIsStampedAndCanBeTheUsername) {
  ConnectionOptions o;
  o.cert_cn_as_username = true;
  make(o);
  conn_->set_cert_cn("line-7");
  mqtt::Connect c;
  c.username = "spoofed";
  connect(ProtocolVersion::kV5, c);
  EXPECT_EQ(conn_->username(), "line-7");
  publish(ProtocolVersion::kV5, "t", 0, 0);
  ASSERT_EQ(host_.ingested.size(), 1u);
  EXPECT_EQ(host_.ingested[0].msg.username, "line-7");
  EXPECT_EQ(host_.ingested[0].msg.cert_cn, "line-7");
}

}  // namespace
}  // namespace gw::broker
