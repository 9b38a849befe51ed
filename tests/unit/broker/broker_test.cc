// Broker tests with real clients: the Broker runs in-process on 127.0.0.1
// port 0 with a recording IngressSink; mosquitto_pub / mosquitto_sub (v3.1.1
// and v5) and raw sockets talk to it. Waits are on conditions (the sink's
// condition variable, the broker's stats, a child's exit), never fixed sleeps.
#include "gateway/broker/broker.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gateway/mqtt/codec.h"
#include "tests/support/process.h"

namespace gw::broker {
namespace {

using namespace std::chrono_literals;
using gw::testing::Process;
using gw::testing::run_command;
using gw::testing::TempDir;

// Records every message; answers done() at once with `answer`, or holds the
// completion when `hold` says so, to be released later from the test thread.
class RecordingSink : public IngressSink {
 public:
  void on_publish(const Message& msg, Done done) override {
    std::unique_lock<std::mutex> lock(mu_);
    messages_.push_back(msg);
    cv_.notify_all();
    if (hold_ && hold_(msg)) {
      held_.push_back(std::move(done));
      return;
    }
    const Status answer = answer_;
    lock.unlock();
    done(answer);
  }

  bool wait_for(size_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return messages_.size() >= n; });
  }
  std::vector<Message> messages() {
    std::lock_guard<std::mutex> lock(mu_);
    return messages_;
  }
  void set_answer(Status s) {
    std::lock_guard<std::mutex> lock(mu_);
    answer_ = std::move(s);
  }
  void set_hold(std::function<bool(const Message&)> hold) {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = std::move(hold);
  }
  // drop_qos2: with hold_drops, an awaited drop's done() waits for
  // release_drops().
  void drop_qos2(const std::string&, Done done) override {
    std::unique_lock<std::mutex> lock(mu_);
    if (done && hold_drops_) {
      held_drops_.push_back(std::move(done));
      return;
    }
    lock.unlock();
    if (done) done(Status::ok());
  }
  void set_hold_drops(bool hold) {
    std::lock_guard<std::mutex> lock(mu_);
    hold_drops_ = hold;
  }
  size_t held_drops() {
    std::lock_guard<std::mutex> lock(mu_);
    return held_drops_.size();
  }
  // Call every held done() from this (the test) thread.
  void release(const Status& s) { call_all(held_, s); }
  void release_drops(const Status& s) { call_all(held_drops_, s); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Message> messages_;
  std::vector<Done> held_;
  void call_all(std::vector<Done>& from, const Status& s) {
    std::vector<Done> held;
    {
      std::lock_guard<std::mutex> lock(mu_);
      held.swap(from);
    }
    for (auto& d : held) d(s);
  }

  std::vector<Done> held_drops_;
  bool hold_drops_ = false;
  Status answer_;
  std::function<bool(const Message&)> hold_;
};

// Polls a condition (for state only the broker's stats expose).
bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return cond();
}

// A blocking TCP client for byte-level tests.
class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawClient() { ::close(fd_); }
  bool connected() const { return connected_; }
  void send(const std::string& bytes) { ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size())); }
  // Reads exactly n bytes (or fewer on EOF/timeout).
  std::string read(size_t n) {
    std::string out;
    char buf[4096];
    while (out.size() < n) {
      const ssize_t r = ::recv(fd_, buf, std::min(sizeof buf, n - out.size()), 0);
      if (r <= 0) break;
      out.append(buf, static_cast<size_t>(r));
    }
    return out;
  }
  // True when nothing arrives (and the peer does not close) within `wait`.
  bool quiet_for(std::chrono::milliseconds wait) {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(wait.count())) == 0;
  }
  // True when the peer closed (EOF) within the receive timeout.
  bool eof() {
    char c;
    return ::recv(fd_, &c, 1, 0) == 0;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

std::string connect_bytes(mqtt::ProtocolVersion v, const std::string& client_id) {
  mqtt::Connect c;
  c.version = v;
  c.client_id = client_id;
  c.keep_alive_s = 30;
  std::string out;
  mqtt::encode(c, out);
  return out;
}

class BrokerTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }

  void start(BrokerOptions o) {
    if (broker_) broker_->stop();
    o.listeners = {ListenerOptions{"local", "127.0.0.1", 0}};
    auto b = Broker::create(std::move(o), sink_, SystemClock::instance());
    ASSERT_TRUE(b.is_ok()) << b.status().to_string();
    broker_ = std::move(b).value();
    ASSERT_TRUE(broker_->start().is_ok());
    port_ = std::to_string(broker_->bound_port("local"));
    ASSERT_NE(port_, "0");
  }

  std::vector<std::string> pub(const std::string& version, const std::string& topic, const std::string& payload,
                               const std::string& qos = "1", const std::string& id = "pub") {
    return {"mosquitto_pub", "-h", "127.0.0.1", "-p", port_, "-V", version, "-q", qos,
            "-t",            topic, "-m", payload, "-i", id};
  }

  RecordingSink sink_;
  std::unique_ptr<Broker> broker_;
  std::string port_;
  TempDir dir_;
};

TEST_F(BrokerTest, V311Qos1PublishReachesTheSink) {
  const auto r = run_command(pub("mqttv311", "plant/a/temp", "21.5", "1", "dev-311"), 10s);
  EXPECT_EQ(r.exit_code, 0);
  ASSERT_TRUE(sink_.wait_for(1));
  const Message m = sink_.messages()[0];
  EXPECT_EQ(m.topic, "plant/a/temp");
  EXPECT_EQ(m.payload, "21.5");
  EXPECT_EQ(m.qos, 1);
  EXPECT_EQ(m.client_id, "dev-311");
  EXPECT_EQ(m.protocol_version, 4);
  EXPECT_GT(m.received_at_ms, 1'600'000'000'000);
  EXPECT_TRUE(m.properties.empty());
  const BrokerStats s = broker_->stats();
  EXPECT_EQ(s.messages_in[1], 1u);
  EXPECT_GE(s.connections_total, 1u);
}

TEST_F(BrokerTest, V5UserPropertiesInOrderAndContentType) {
  auto argv = pub("mqttv5", "plant/b/alarm", "{\"t\":1}", "1", "dev-5");
  const std::vector<std::string> extra = {
      "-D", "publish", "user-property", "site", "s1",  "-D", "publish", "user-property", "line", "l7",
      "-D", "publish", "user-property", "site", "s2",  "-D", "publish", "content-type", "application/json",
      "-D", "publish", "payload-format-indicator", "1", "-D", "publish", "message-expiry-interval", "120",
      "-D", "publish", "response-topic", "reply/dev-5", "-D", "publish", "correlation-data", "abc"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  const auto r = run_command(argv, 10s);
  EXPECT_EQ(r.exit_code, 0);
  ASSERT_TRUE(sink_.wait_for(1));
  const Message m = sink_.messages()[0];
  EXPECT_EQ(m.protocol_version, 5);
  EXPECT_EQ(m.qos, 1);
  EXPECT_EQ(m.properties.user, (std::vector<UserProperty>{{"site", "s1"}, {"line", "l7"}, {"site", "s2"}}));
  EXPECT_EQ(m.properties.content_type, "application/json");
  EXPECT_EQ(m.properties.payload_format, 1);
  EXPECT_EQ(m.properties.message_expiry_s, 120u);
  EXPECT_EQ(m.properties.response_topic, "reply/dev-5");
  EXPECT_EQ(m.properties.correlation_data, "abc");
}

TEST_F(BrokerTest, Qos1IsNotAcknowledgedBeforeTheSinkSaysOk) {
  for (const char* version : {"mqttv311", "mqttv5"}) {
    SCOPED_TRACE(version);
    const size_t before = sink_.messages().size();
    sink_.set_hold([](const Message&) { return true; });
    Process p(pub(version, "held/topic", "x", "1", std::string("held-") + version), dir_ / "pub.log");
    ASSERT_TRUE(sink_.wait_for(before + 1));
    // The sink has it but holds done(): mosquitto_pub is waiting for PUBACK.
    EXPECT_EQ(p.wait(300ms), -1);
    sink_.set_hold(nullptr);
    sink_.release(Status::ok());  // from this thread, not the io thread
    EXPECT_EQ(p.wait(5s), 0);
  }
}

TEST_F(BrokerTest, V5RefusalIsCountedAndAnswered) {
  sink_.set_answer(resource_exhausted("queue full"));
  const auto r = run_command(pub("mqttv5", "t", "x", "1", "refused"), 10s);
  // mosquitto_pub reads PUBACK 0x97 as a failed publish but still finishes.
  EXPECT_NE(r.exit_code, -1);
  ASSERT_TRUE(sink_.wait_for(1));
  EXPECT_TRUE(eventually([&] { return broker_->stats().ingest_refused == 1; }));
}

TEST_F(BrokerTest, SlowSinkDoesNotBlockOtherClients) {
  sink_.set_hold([](const Message& m) { return m.topic.rfind("slow/", 0) == 0; });
  Process slow(pub("mqttv5", "slow/x", "1", "1", "slow-dev"), dir_ / "slow.log");
  ASSERT_TRUE(sink_.wait_for(1));
  const auto fast = run_command(pub("mqttv311", "fast/x", "2", "1", "fast-dev"), 10s);
  EXPECT_EQ(fast.exit_code, 0);
  EXPECT_TRUE(slow.running());
  sink_.release(Status::ok());
  EXPECT_EQ(slow.wait(5s), 0);
}

TEST_F(BrokerTest, LocalSubscribersReceiveAcrossVersions) {
  const auto out = dir_ / "sub.out";
  Process sub({"mosquitto_sub", "-h", "127.0.0.1", "-p", port_, "-V", "mqttv5", "-q", "1", "-t", "plant/#", "-C",
               "2", "-W", "10", "-i", "sub-1", "-F", "%t|%p|%q|%P"},
              out);
  ASSERT_TRUE(eventually([&] { return broker_->stats().subscriptions == 1; }));
  EXPECT_EQ(run_command(pub("mqttv311", "plant/a", "one", "1", "p1"), 10s).exit_code, 0);
  auto v5 = pub("mqttv5", "plant/b", "two", "0", "p2");
  for (const char* a : {"-D", "publish", "user-property", "k", "v"}) v5.emplace_back(a);
  EXPECT_EQ(run_command(v5, 10s).exit_code, 0);
  EXPECT_EQ(sub.wait(10s), 0);
  EXPECT_EQ(gw::testing::read_file(out), "plant/a|one|1|\nplant/b|two|0|k:v\n");
  // The sink sees them too (QoS 0 may reach the subscriber before the sink).
  EXPECT_TRUE(eventually([&] { return sink_.messages().size() == 2u; })) << sink_.messages().size();
}

TEST_F(BrokerTest, PublishLocalAndRetainedReachSubscribers) {
  Message retained;
  retained.topic = "cmd/dev-1/config";
  retained.payload = "cfg-v1";
  retained.qos = 1;
  retained.retain = true;
  broker_->publish_local(retained);
  ASSERT_TRUE(eventually([&] { return broker_->stats().retained_messages == 1; }));
  const auto out = dir_ / "sub.out";
  Process sub({"mosquitto_sub", "-h", "127.0.0.1", "-p", port_, "-V", "mqttv311", "-q", "1", "-t", "cmd/dev-1/#",
               "-C", "2", "-W", "10", "-F", "%t|%p|%r"},
              out);
  ASSERT_TRUE(eventually([&] { return broker_->stats().subscriptions == 1; }));
  Message downlink;
  downlink.topic = "cmd/dev-1/reboot";
  downlink.payload = "now";
  downlink.qos = 1;
  broker_->publish_local(downlink);
  EXPECT_EQ(sub.wait(10s), 0);
  EXPECT_EQ(gw::testing::read_file(out), "cmd/dev-1/config|cfg-v1|1\ncmd/dev-1/reboot|now|0\n");
  EXPECT_TRUE(sink_.messages().empty());  // publish_local does not go to the sink
}

TEST_F(BrokerTest, MalformedPacketGetsDisconnect0x81AndOthersCarryOn) {
  RawClient raw(broker_->bound_port("local"));
  ASSERT_TRUE(raw.connected());
  raw.send(connect_bytes(mqtt::ProtocolVersion::kV5, "raw-1"));
  const std::string connack = raw.read(2);
  ASSERT_EQ(connack.size(), 2u);
  EXPECT_EQ(connack[0], '\x20');
  raw.read(static_cast<uint8_t>(connack[1]));
  // PUBLISH with QoS 3: malformed (§3.3.1.2).
  raw.send(std::string("\x36\x05\x00\x01t\x00\x01", 7));
  const std::string disconnect = raw.read(3);
  ASSERT_EQ(disconnect.size(), 3u);
  EXPECT_EQ(disconnect[0], '\xe0');  // DISCONNECT
  EXPECT_EQ(disconnect[2], '\x81');  // Malformed Packet
  raw.read(static_cast<uint8_t>(disconnect[1]) - 1);  // properties (reason string)
  EXPECT_TRUE(raw.eof());
  EXPECT_EQ(run_command(pub("mqttv5", "after", "ok", "1", "other"), 10s).exit_code, 0);
  EXPECT_EQ(broker_->stats().protocol_errors, 1u);
}

// Reads one whole packet (fixed header + remaining length < 128).
std::string read_packet(RawClient& c) {
  std::string head = c.read(2);
  if (head.size() < 2) return head;
  return head + c.read(static_cast<uint8_t>(head[1]));
}

std::string publish_bytes(mqtt::ProtocolVersion v, const std::string& topic, uint8_t qos, uint16_t id) {
  mqtt::Publish p;
  p.topic = topic;
  p.payload = "x";
  p.qos = qos;
  p.packet_id = id;
  std::string out;
  mqtt::encode(p, v, out);
  return out;
}

TEST_F(BrokerTest, RefusalOnTheWireV5PubackReasonV311NoAck) {
  sink_.set_answer(resource_exhausted("queue full"));
  {
    RawClient raw(broker_->bound_port("local"));
    raw.send(connect_bytes(mqtt::ProtocolVersion::kV5, "refused-5"));
    read_packet(raw);  // CONNACK
    raw.send(publish_bytes(mqtt::ProtocolVersion::kV5, "t", 1, 7));
    const std::string ack = read_packet(raw);
    ASSERT_GE(ack.size(), 5u);
    EXPECT_EQ(ack[0], '\x40');                    // PUBACK
    EXPECT_EQ(ack.substr(2, 2), std::string("\x00\x07", 2));  // packet id 7
    EXPECT_EQ(ack[4], '\x97');                    // Quota exceeded
  }
  {
    RawClient raw(broker_->bound_port("local"));
    raw.send(connect_bytes(mqtt::ProtocolVersion::kV311, "refused-311"));
    EXPECT_EQ(read_packet(raw), std::string("\x20\x02\x00\x00", 4));
    raw.send(publish_bytes(mqtt::ProtocolVersion::kV311, "t", 1, 7));
    raw.send(std::string("\xc0\x00", 2));  // PINGREQ
    // The next packet is the PINGRESP: no PUBACK came first.
    EXPECT_EQ(read_packet(raw), std::string("\xd0\x00", 2));
  }
  EXPECT_TRUE(eventually([&] { return broker_->stats().ingest_refused == 2; }));
}

TEST_F(BrokerTest, PersistentSessionQueuesWhileOffline) {
  const auto out = dir_ / "sub.out";
  const std::vector<std::string> sub = {"mosquitto_sub", "-h", "127.0.0.1", "-p", port_, "-V", "mqttv311", "-c",
                                        "-i", "persist-1", "-q", "1", "-t", "q/#", "-C", "1", "-W", "10", "-F", "%t|%p"};
  {
    Process first(sub, out);
    ASSERT_TRUE(eventually([&] { return broker_->stats().subscriptions == 1; }));
    EXPECT_EQ(run_command(pub("mqttv311", "q/1", "online"), 10s).exit_code, 0);
    EXPECT_EQ(first.wait(10s), 0);
  }
  EXPECT_EQ(gw::testing::read_file(out), "q/1|online\n");
  ASSERT_TRUE(eventually([&] { return broker_->stats().connections_current == 0; }));
  EXPECT_EQ(broker_->stats().subscriptions, 1u);  // Clean Session 0: the session stays
  EXPECT_EQ(run_command(pub("mqttv5", "q/2", "while-offline"), 10s).exit_code, 0);
  const auto out2 = dir_ / "sub2.out";
  Process second(sub, out2);
  EXPECT_EQ(second.wait(10s), 0);
  EXPECT_EQ(gw::testing::read_file(out2), "q/2|while-offline\n");
}

TEST_F(BrokerTest, WrongProtocolLevelOverTheWire) {
  RawClient raw(broker_->bound_port("local"));
  raw.send(std::string("\x10\x0c\x00\x04MQTT\x03\x02\x00\x3c\x00\x00", 14));
  EXPECT_EQ(raw.read(4), std::string("\x20\x02\x00\x01", 4));
  EXPECT_TRUE(raw.eof());
}

TEST_F(BrokerTest, SessionTakeOverDisconnectsTheOldConnection) {
  RawClient first(broker_->bound_port("local"));
  first.send(connect_bytes(mqtt::ProtocolVersion::kV5, "same-id"));
  const std::string ack = first.read(2);
  ASSERT_EQ(ack.size(), 2u);
  first.read(static_cast<uint8_t>(ack[1]));
  RawClient second(broker_->bound_port("local"));
  second.send(connect_bytes(mqtt::ProtocolVersion::kV5, "same-id"));
  const std::string d = first.read(3);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0], '\xe0');
  EXPECT_EQ(d[2], '\x8e');  // Session taken over
  EXPECT_EQ(second.read(1), "\x20");
}

// A Clean Start that ends a session holding a QoS 2 record (id 1, PUBREC
// sent, no PUBREL yet): the CONNACK, and the PUBLISH sent behind the CONNECT,
// wait until the sink has deleted the record for good. Answered earlier, a
// crash before the delete would leave the old record to swallow this client's
// next message with id 1 as a "retransmission".
TEST_F(BrokerTest, CleanStartConnackWaitsForTheOldQos2RecordsToBeDeleted) {
  const uint16_t port = broker_->bound_port("local");
  mqtt::Connect c;
  c.version = mqtt::ProtocolVersion::kV311;
  c.client_id = "q2-dev";
  c.clean_start = false;
  c.keep_alive_s = 30;
  mqtt::Publish p;
  p.topic = "plant/q2";
  p.payload = "old session";
  p.qos = 2;
  p.packet_id = 1;
  {
    RawClient first(port);
    std::string bytes;
    mqtt::encode(c, bytes);
    mqtt::encode(p, c.version, bytes);
    first.send(bytes);
    EXPECT_EQ(first.read(4), std::string("\x20\x02\x00\x00", 4));
    EXPECT_EQ(first.read(4), std::string("\x50\x02\x00\x01", 4));  // PUBREC 1
  }  // gone without DISCONNECT: the session and its record stay
  ASSERT_TRUE(eventually([&] { return broker_->stats().connections_current == 0; }));

  sink_.set_hold_drops(true);
  RawClient second(port);
  c.clean_start = true;
  p.qos = 1;
  p.packet_id = 2;
  p.payload = "new session";
  std::string bytes;
  mqtt::encode(c, bytes);
  mqtt::encode(p, c.version, bytes);
  second.send(bytes);
  ASSERT_TRUE(eventually([&] { return sink_.held_drops() == 1; }));
  EXPECT_TRUE(second.quiet_for(300ms));
  EXPECT_EQ(sink_.messages().size(), 1u);  // the new PUBLISH is not read yet
  sink_.release_drops(Status::ok());
  EXPECT_EQ(second.read(4), std::string("\x20\x02\x00\x00", 4));  // CONNACK, no session
  EXPECT_EQ(second.read(4), std::string("\x40\x02\x00\x02", 4));  // then PUBACK 2
  ASSERT_TRUE(sink_.wait_for(2));
  EXPECT_EQ(sink_.messages()[1].payload, "new session");
}

TEST_F(BrokerTest, MaxConnectionsPerListener) {
  BrokerOptions o;
  o.listeners = {ListenerOptions{"local", "127.0.0.1", 0, 1}};
  auto b = Broker::create(o, sink_, SystemClock::instance());
  ASSERT_TRUE(b.is_ok());
  broker_ = std::move(b).value();
  ASSERT_TRUE(broker_->start().is_ok());
  RawClient first(broker_->bound_port("local"));
  ASSERT_TRUE(eventually([&] { return broker_->stats().connections_current == 1; }));
  RawClient second(broker_->bound_port("local"));
  EXPECT_TRUE(second.eof());
  EXPECT_EQ(broker_->stats().connections_rejected, 1u);
}

TEST_F(BrokerTest, ConnectTimeoutClosesSilentSockets) {
  BrokerOptions o;
  o.connect_timeout = 1s;
  start(o);
  RawClient raw(broker_->bound_port("local"));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(raw.eof());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

TEST_F(BrokerTest, StartErrorNamesListenerAndAddress) {
  BrokerOptions o;
  o.listeners = {ListenerOptions{"plant", "127.0.0.1", broker_->bound_port("local")}};
  auto b = Broker::create(o, sink_, SystemClock::instance());
  ASSERT_TRUE(b.is_ok());
  const Status s = b.value()->start();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("listener 'plant' 127.0.0.1:" + port_), std::string::npos) << s.message();
}

TEST(BrokerCreateTest, ValidatesOptions) {
  RecordingSink sink;
  EXPECT_FALSE(Broker::create({}, sink, SystemClock::instance()).is_ok());
  BrokerOptions o;
  o.listeners = {{"a", "127.0.0.1", 0}, {"a", "127.0.0.1", 0}};
  EXPECT_FALSE(Broker::create(o, sink, SystemClock::instance()).is_ok());
  o.listeners = {{"a", "localhost:1883", 0}};
  EXPECT_FALSE(Broker::create(o, sink, SystemClock::instance()).is_ok());
}

TEST(BrokerLifecycleTest, StopIsIdempotentAndWorksBeforeStart) {
  RecordingSink sink;
  BrokerOptions o;
  o.listeners = {{"a", "127.0.0.1", 0}, {"b", "127.0.0.1", 0}};
  auto b = Broker::create(o, sink, SystemClock::instance());
  ASSERT_TRUE(b.is_ok());
  b.value()->stop();
  ASSERT_TRUE(b.value()->start().is_ok());
  EXPECT_NE(b.value()->bound_port("a"), 0);
  EXPECT_NE(b.value()->bound_port("b"), b.value()->bound_port("a"));
  EXPECT_EQ(b.value()->bound_port("nope"), 0);
  b.value()->stop();
  b.value()->stop();
}

TEST(BrokerLifecycleTest, CompletionAfterStopIsDropped) {
  RecordingSink sink;
  sink.set_hold([](const Message&) { return true; });
  BrokerOptions o;
  o.listeners = {{"a", "127.0.0.1", 0}};
  auto b = Broker::create(o, sink, SystemClock::instance());
  ASSERT_TRUE(b.is_ok());
  ASSERT_TRUE(b.value()->start().is_ok());
  TempDir dir;
  Process p({"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(b.value()->bound_port("a")), "-q", "1", "-t",
             "t", "-m", "x"},
            dir / "pub.log");
  ASSERT_TRUE(sink.wait_for(1));
  b.value().reset();           // broker gone while the sink still holds done()
  sink.release(Status::ok());  // must not crash or touch freed memory
  p.wait(5s);
}


// ---- TLS listeners, authentication, ACL (issue 3) ---------------------------

// A CA, a server certificate for 127.0.0.1, client certificates with CN
// "line-7" (same CA) and "rogue" (another CA), made once with the openssl CLI.
class Pki {
 public:
  Pki() {
    ok_ = make_ca("ca") && make_ca("rogue-ca") && make_cert("server", "localhost", "ca", true) &&
          make_cert("client", "line-7", "ca", false) && make_cert("rogue", "rogue", "rogue-ca", false);
  }
  bool ok() const { return ok_; }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

 private:
  bool run(const std::vector<std::string>& argv) {
    const auto r = run_command(argv, 30s);
    if (r.exit_code != 0) ADD_FAILURE() << "openssl failed: " << argv[1] << " " << r.out;
    return r.exit_code == 0;
  }
  bool make_ca(const std::string& n) {
    return run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", path(n + ".key"), "-out", path(n + ".crt"), "-subj", "/CN=" + n, "-days", "2"});
  }
  bool make_cert(const std::string& n, const std::string& cn, const std::string& ca, bool server) {
    gw::testing::write_file(dir_ / (n + ".ext"), server ? "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                                         : "extendedKeyUsage=clientAuth\n");
    return run({"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                path(n + ".key"), "-out", path(n + ".csr"), "-subj", "/CN=" + cn}) &&
           run({"openssl", "x509", "-req", "-in", path(n + ".csr"), "-CA", path(ca + ".crt"), "-CAkey",
                path(ca + ".key"), "-CAcreateserial", "-out", path(n + ".crt"), "-days", "2", "-extfile",
                path(n + ".ext")});
  }
  TempDir dir_;
  bool ok_ = false;
};

class SecureBrokerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new Pki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(pki_->ok()); }

  // Starts a broker with a plain loopback listener "local" and a TLS
  // listener "tls" (client certificates required, CN as username).
  void start(BrokerOptions o, bool tls = true) {
    o.listeners = {ListenerOptions{"local", "127.0.0.1", 0}};
    if (tls) {
      ListenerOptions t{"tls", "127.0.0.1", 0};
      t.tls = TlsOptions{pki_->path("server.crt"), pki_->path("server.key"), pki_->path("ca.crt"), true, true};
      o.listeners.push_back(t);
    }
    auto b = Broker::create(std::move(o), sink_, SystemClock::instance());
    ASSERT_TRUE(b.is_ok()) << b.status().to_string();
    broker_ = std::move(b).value();
    ASSERT_TRUE(broker_->start().is_ok());
  }
  std::string port(const char* listener) const { return std::to_string(broker_->bound_port(listener)); }
  std::vector<std::string> tls_args(const std::string& client) const {
    std::vector<std::string> a = {"-h", "127.0.0.1", "-p", port("tls"), "--cafile", pki_->path("ca.crt")};
    if (!client.empty()) {
      a.insert(a.end(), {"--cert", pki_->path(client + ".crt"), "--key", pki_->path(client + ".key")});
    }
    return a;
  }
  // CONNECT with credentials on the plain listener; returns the CONNACK bytes.
  std::string connack_for(mqtt::ProtocolVersion v, std::optional<std::string> user,
                          std::optional<std::string> password) {
    mqtt::Connect c;
    c.version = v;
    c.client_id = "raw";
    c.username = std::move(user);
    c.password = std::move(password);
    std::string bytes;
    mqtt::encode(c, bytes);
    RawClient raw(broker_->bound_port("local"));
    raw.send(bytes);
    return read_packet(raw);
  }

  static Pki* pki_;
  RecordingSink sink_;
  std::unique_ptr<Broker> broker_;
  TempDir dir_;
};
Pki* SecureBrokerTest::pki_ = nullptr;

TEST_F(SecureBrokerTest, TlsClientCertCnBecomesUsernameAndSubscribersOnBothListenersGetIt) {
  start({});
  const auto out = dir_ / "sub.out";
  std::vector<std::string> sub = {"mosquitto_sub", "-V", "mqttv5", "-q", "1", "-t", "plant/#", "-C", "1",
                                  "-i", "tls-sub", "-F", "%t %p"};
  const auto args = tls_args("client");
  sub.insert(sub.end(), args.begin(), args.end());
  Process s(sub, out);
  ASSERT_TRUE(eventually([&] { return broker_->stats().subscriptions == 1; }));
  std::vector<std::string> pub = {"mosquitto_pub", "-V", "mqttv311", "-q", "1", "-t", "plant/line-7/temp",
                                  "-m", "21.5", "-i", "tls-pub", "-u", "spoofed", "-P", "x"};
  pub.insert(pub.end(), args.begin(), args.end());
  const auto r = run_command(pub, 10s);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  ASSERT_TRUE(sink_.wait_for(1));
  const Message m = sink_.messages()[0];
  EXPECT_EQ(m.username, "line-7");  // from the certificate, not from CONNECT
  EXPECT_EQ(m.cert_cn, "line-7");
  EXPECT_EQ(s.wait(10s), 0);
  EXPECT_EQ(gw::testing::read_file(out), "plant/line-7/temp 21.5\n");
}

TEST_F(SecureBrokerTest, TlsRefusesClientsWithoutOrWithForeignCertificates) {
  start({});
  for (const char* client : {"", "rogue"}) {
    std::vector<std::string> pub = {"mosquitto_pub", "-q", "1", "-t", "t", "-m", "x"};
    const auto args = tls_args(client);
    pub.insert(pub.end(), args.begin(), args.end());
    EXPECT_NE(run_command(pub, 10s).exit_code, 0) << client;
  }
  EXPECT_TRUE(eventually([&] { return broker_->stats().tls_handshake_failures == 2; }));
  EXPECT_TRUE(sink_.messages().empty());
  // A plain MQTT client on the TLS port gets nothing and is closed.
  RawClient raw(broker_->bound_port("tls"));
  raw.send(connect_bytes(mqtt::ProtocolVersion::kV5, "plain"));
  EXPECT_TRUE(raw.eof());
}

TEST_F(SecureBrokerTest, BadTlsFilesFailStartNamingTheListener) {
  BrokerOptions o;
  ListenerOptions t{"plant", "127.0.0.1", 0};
  t.tls = TlsOptions{pki_->path("server.crt"), pki_->path("client.key"), "", false, false};  // wrong key
  o.listeners = {t};
  auto b = Broker::create(o, sink_, SystemClock::instance());
  ASSERT_TRUE(b.is_ok());
  const Status s = b.value()->start();
  EXPECT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("listener 'plant'"), std::string::npos) << s.message();
}

TEST_F(SecureBrokerTest, CredentialsOnTheWire) {
  gw::testing::write_file(dir_ / "passwd", "alice:" + hash_password("wonder", 1000).value() + "\n");
  BrokerOptions o;
  o.auth.password_file = (dir_ / "passwd").string();
  o.auth.allow_anonymous = AnonymousPolicy::kNever;
  start(o, false);
  using V = mqtt::ProtocolVersion;
  // 3.1.1 return codes: 0 accepted, 4 bad user name or password, 5 not authorised.
  EXPECT_EQ(connack_for(V::kV311, "alice", "wonder"), std::string("\x20\x02\x00\x00", 4));
  EXPECT_EQ(connack_for(V::kV311, "alice", "nope"), std::string("\x20\x02\x00\x04", 4));
  EXPECT_EQ(connack_for(V::kV311, std::nullopt, std::nullopt), std::string("\x20\x02\x00\x05", 4));
  // v5: reason code is the 4th byte (after flags), then properties.
  EXPECT_EQ(connack_for(V::kV5, "alice", "wonder")[3], '\x00');
  EXPECT_EQ(connack_for(V::kV5, "bob", "wonder")[3], '\x86');
  EXPECT_EQ(connack_for(V::kV5, std::nullopt, std::nullopt)[3], '\x87');
  EXPECT_EQ(broker_->stats().auth_failures, 4u);
  // A real client with the right password gets through.
  const auto r = run_command({"mosquitto_pub", "-h", "127.0.0.1", "-p", port("local"), "-q", "1", "-t", "t", "-m",
                              "x", "-u", "alice", "-P", "wonder"},
                             10s);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  ASSERT_TRUE(sink_.wait_for(1));
  EXPECT_EQ(sink_.messages()[0].username, "alice");
}

TEST_F(SecureBrokerTest, AclOnPublishSubscribeAndDelivery) {
  BrokerOptions o;
  AclRule r1;
  r1.who.anonymous = true;
  r1.allow = false;
  r1.subscribe = true;
  r1.topics = {"test/nosubscribe"};
  AclRule r2;
  r2.who.any = true;
  r2.publish = r2.subscribe = true;
  r2.topics = {"test/#"};
  o.acl = std::vector<AclRule>{r1, r2};
  start(o, false);
  const auto out = dir_ / "sub.out";
  Process s({"mosquitto_sub", "-h", "127.0.0.1", "-p", port("local"), "-V", "mqttv5", "-t", "#", "-t",
             "test/nosubscribe", "-F", "%t", "-C", "1", "-i", "anon-sub"},
            out);
  ASSERT_TRUE(eventually([&] { return broker_->stats().subscribe_denied == 2; }));  // "#" and test/nosubscribe
  // Nothing was granted, so subscribe on an allowed filter with a second client.
  Process s2({"mosquitto_sub", "-h", "127.0.0.1", "-p", port("local"), "-V", "mqttv5", "-t", "test/#", "-F", "%t",
              "-C", "1", "-i", "anon-sub2"},
             dir_ / "sub2.out");
  ASSERT_TRUE(eventually([&] { return broker_->stats().subscriptions == 1; }));
  // Denied publish (v5 QoS 1): PUBACK 0x87, nothing stored or delivered.
  RawClient raw(broker_->bound_port("local"));
  raw.send(connect_bytes(mqtt::ProtocolVersion::kV5, "raw-pub"));
  read_packet(raw);
  raw.send(publish_bytes(mqtt::ProtocolVersion::kV5, "other/x", 1, 3));
  const std::string ack = read_packet(raw);
  ASSERT_GE(ack.size(), 5u);
  EXPECT_EQ(ack[0], '\x40');
  EXPECT_EQ(ack[4], '\x87');
  // Allowed to publish on test/nosubscribe, but the anonymous "test/#" subscriber may not receive it.
  raw.send(publish_bytes(mqtt::ProtocolVersion::kV5, "test/nosubscribe", 1, 4));
  read_packet(raw);
  raw.send(publish_bytes(mqtt::ProtocolVersion::kV5, "test/ok", 1, 5));
  read_packet(raw);
  EXPECT_EQ(s2.wait(10s), 0);
  EXPECT_EQ(gw::testing::read_file(dir_ / "sub2.out"), "test/ok\n");
  EXPECT_EQ(sink_.messages().size(), 2u);
  EXPECT_EQ(broker_->stats().publish_denied, 1u);
}

}  // namespace
}  // namespace gw::broker
