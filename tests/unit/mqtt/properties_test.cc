// MQTT 5.0 properties (§2.2.2): the per-packet table, round trips of every
// property, and the duplicate / misplaced property rules.
#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "gateway/mqtt/codec.h"
#include "tests/unit/mqtt/test_bytes.h"

namespace gw::mqtt {
namespace {

using testing::bytes;
using testing::hex;
using P = PacketType;
constexpr auto kV5 = ProtocolVersion::kV5;

// Stand-in for the Will Properties column of the §2.2.2.2 table.
constexpr int kWill = 0;

struct PropertyRow {
  PropertyId id;
  std::string value;      // a valid encoded value
  std::set<int> allowed;  // packet type numbers, kWill for will properties
};

// Transcribed from the MQTT 5.0 §2.2.2.2 table.
std::vector<PropertyRow> spec_table() {
  const int kConnect = 1, kConnack = 2, kPublish = 3, kPuback = 4, kPubrec = 5, kPubrel = 6,
            kPubcomp = 7, kSubscribe = 8, kSuback = 9, kUnsubscribe = 10, kUnsuback = 11,
            kDisconnect = 14, kAuth = 15;
  return {
      {PropertyId::kPayloadFormatIndicator, bytes({0x01}), {kPublish, kWill}},
      {PropertyId::kMessageExpiryInterval, bytes({0, 0, 0, 1}), {kPublish, kWill}},
      {PropertyId::kContentType, bytes({0, 1, 'a'}), {kPublish, kWill}},
      {PropertyId::kResponseTopic, bytes({0, 1, 'r'}), {kPublish, kWill}},
      {PropertyId::kCorrelationData, bytes({0, 1, 0x00}), {kPublish, kWill}},
      {PropertyId::kSubscriptionIdentifier, bytes({0x01}), {kPublish, kSubscribe}},
      {PropertyId::kSessionExpiryInterval, bytes({0, 0, 0, 1}), {kConnect, kConnack, kDisconnect}},
      {PropertyId::kAssignedClientIdentifier, bytes({0, 1, 'i'}), {kConnack}},
      {PropertyId::kServerKeepAlive, bytes({0, 5}), {kConnack}},
      {PropertyId::kAuthenticationMethod, bytes({0, 1, 'm'}), {kConnect, kConnack, kAuth}},
      {PropertyId::kAuthenticationData, bytes({0, 1, 0x01}), {kConnect, kConnack, kAuth}},
      {PropertyId::kRequestProblemInformation, bytes({0x01}), {kConnect}},
      {PropertyId::kWillDelayInterval, bytes({0, 0, 0, 1}), {kWill}},
      {PropertyId::kRequestResponseInformation, bytes({0x01}), {kConnect}},
      {PropertyId::kResponseInformation, bytes({0, 1, 'x'}), {kConnack}},
      {PropertyId::kServerReference, bytes({0, 1, 's'}), {kConnack, kDisconnect}},
      {PropertyId::kReasonString,
       bytes({0, 1, 'r'}),
       {kConnack, kPuback, kPubrec, kPubrel, kPubcomp, kSuback, kUnsuback, kDisconnect, kAuth}},
      {PropertyId::kReceiveMaximum, bytes({0, 1}), {kConnect, kConnack}},
      {PropertyId::kTopicAliasMaximum, bytes({0, 1}), {kConnect, kConnack}},
      {PropertyId::kTopicAlias, bytes({0, 1}), {kPublish}},
      {PropertyId::kMaximumQos, bytes({0x00}), {kConnack}},
      {PropertyId::kRetainAvailable, bytes({0x01}), {kConnack}},
      {PropertyId::kUserProperty,
       bytes({0, 1, 'k', 0, 1, 'v'}),
       {kConnect, kConnack, kPublish, kWill, kPuback, kPubrec, kPubrel, kPubcomp, kSubscribe,
        kSuback, kUnsubscribe, kUnsuback, kDisconnect, kAuth}},
      {PropertyId::kMaximumPacketSize, bytes({0, 0, 1, 0}), {kConnect, kConnack}},
      {PropertyId::kWildcardSubscriptionAvailable, bytes({0x01}), {kConnack}},
      {PropertyId::kSubscriptionIdentifierAvailable, bytes({0x01}), {kConnack}},
      {PropertyId::kSharedSubscriptionAvailable, bytes({0x01}), {kConnack}},
  };
}

std::string with_length(int first_byte, const std::string& body) {
  return bytes({first_byte, static_cast<int>(body.size())}) + body;
}

// A minimal v5 packet of `type` (kWill: CONNECT with a will) carrying the
// property block `props` (already length-prefixed).
std::string packet_with(int type, const std::string& props) {
  const std::string mqtt5 = bytes({0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05});
  switch (type) {
    case kWill:
      return with_length(0x10, mqtt5 + bytes({0x06, 0x00, 0x00, 0x00, 0x00, 0x01, 'c'}) + props +
                                   bytes({0x00, 0x01, 'w', 0x00, 0x00}));
    case 1:
      return with_length(0x10,
                         mqtt5 + bytes({0x02, 0x00, 0x00}) + props + bytes({0x00, 0x01, 'c'}));
    case 2:
      return with_length(0x20, bytes({0x00, 0x00}) + props);
    case 3:
      return with_length(0x30, bytes({0x00, 0x01, 't'}) + props);
    case 4:
      return with_length(0x40, bytes({0x00, 0x01, 0x00}) + props);
    case 5:
      return with_length(0x50, bytes({0x00, 0x01, 0x00}) + props);
    case 6:
      return with_length(0x62, bytes({0x00, 0x01, 0x00}) + props);
    case 7:
      return with_length(0x70, bytes({0x00, 0x01, 0x00}) + props);
    case 8:
      return with_length(0x82, bytes({0x00, 0x01}) + props + bytes({0x00, 0x01, 'a', 0x00}));
    case 9:
      return with_length(0x90, bytes({0x00, 0x01}) + props + bytes({0x00}));
    case 10:
      return with_length(0xA2, bytes({0x00, 0x01}) + props + bytes({0x00, 0x01, 'a'}));
    case 11:
      return with_length(0xB0, bytes({0x00, 0x01}) + props + bytes({0x00}));
    case 14:
      return with_length(0xE0, bytes({0x00}) + props);
    case 15:
      return with_length(0xF0, bytes({0x00}) + props);
    default:
      return {};
  }
}

std::string block(const std::string& props) {
  return bytes({static_cast<int>(props.size())}) + props;
}

const std::vector<int> kPacketsWithProperties = {kWill, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 15};

TEST(PropertiesTest, AllowedTableMatchesSpec) {
  for (const PropertyRow& row : spec_table()) {
    for (int t = 1; t <= 15; ++t) {
      EXPECT_EQ(property_allowed(row.id, static_cast<PacketType>(t)), row.allowed.count(t) == 1)
          << "property " << int(row.id) << " in " << to_string(static_cast<PacketType>(t));
    }
    EXPECT_EQ(property_allowed(row.id, P::kConnect, true), row.allowed.count(kWill) == 1)
        << "property " << int(row.id) << " in will properties";
  }
}

TEST(PropertiesTest, EachPropertyIsAcceptedOnlyWhereAllowed) {
  for (const PropertyRow& row : spec_table()) {
    const std::string one = std::string(1, static_cast<char>(row.id)) + row.value;
    for (int t : kPacketsWithProperties) {
      // §3.1.2.11.10: authentication data alone in CONNECT is its own error.
      if (row.id == PropertyId::kAuthenticationData && t == 1) continue;
      DecodeResult r = decode(packet_with(t, block(one)), kV5);
      if (row.allowed.count(t)) {
        EXPECT_TRUE(r.is_ok()) << "property " << int(row.id) << " in type " << t << ": "
                               << r.error().message;
      } else {
        ASSERT_FALSE(r.is_ok()) << "property " << int(row.id) << " in type " << t;
        // §2.2.2.2: an identifier not valid for the packet type is Malformed.
        EXPECT_EQ(r.error().reason_code, ReasonCode::kMalformedPacket)
            << "property " << int(row.id) << " in type " << t;
      }
    }
  }
}

TEST(PropertiesTest, DuplicatesAreProtocolErrorsExceptRepeatableOnes) {
  for (const PropertyRow& row : spec_table()) {
    const std::string one = std::string(1, static_cast<char>(row.id)) + row.value;
    for (int t : row.allowed) {
      if (row.id == PropertyId::kAuthenticationData && t == 1) continue;
      DecodeResult r = decode(packet_with(t, block(one + one)), kV5);
      const bool repeatable = row.id == PropertyId::kUserProperty ||
                              (row.id == PropertyId::kSubscriptionIdentifier && t == 3);
      if (repeatable) {
        EXPECT_TRUE(r.is_ok()) << "property " << int(row.id) << " twice in type " << t;
      } else {
        ASSERT_FALSE(r.is_ok()) << "property " << int(row.id) << " twice in type " << t;
        EXPECT_EQ(r.error().reason_code, ReasonCode::kProtocolError)
            << "property " << int(row.id) << " twice in type " << t;
      }
    }
  }
}

TEST(PropertiesTest, EveryConnackPropertyRoundTrips) {
  Connack c;
  Properties& p = c.properties;
  p.session_expiry_interval_s = 0xFFFFFFFF;
  p.assigned_client_identifier = "auto-1";
  p.server_keep_alive_s = 120;
  p.authentication_method = "SCRAM-SHA-1";
  p.authentication_data = std::string("\x00\x01\x02", 3);
  p.response_information = "resp/";
  p.server_reference = "other:1883";
  p.reason_string = "welcome";
  p.receive_maximum = 65535;
  p.topic_alias_maximum = 0;
  p.maximum_qos = 1;
  p.retain_available = 0;
  p.user = {{"a", "1"}, {"a", "2"}};
  p.maximum_packet_size = 1u << 20;
  p.wildcard_subscription_available = 1;
  p.subscription_identifier_available = 0;
  p.shared_subscription_available = 1;
  std::string wire;
  encode(c, kV5, wire);
  DecodeResult r = decode(wire, kV5);
  ASSERT_TRUE(r.is_ok()) << r.error().message;
  EXPECT_TRUE(std::get<Connack>(r.packet()) == c);
}

TEST(PropertiesTest, EveryConnectAndWillPropertyRoundTrips) {
  Connect c;
  c.version = kV5;
  c.client_id = "dev-1";
  c.keep_alive_s = 65535;
  c.clean_start = false;
  c.properties.session_expiry_interval_s = 3600;
  c.properties.authentication_method = "m";
  c.properties.authentication_data = "d";
  c.properties.request_problem_information = 0;
  c.properties.request_response_information = 1;
  c.properties.receive_maximum = 10;
  c.properties.topic_alias_maximum = 5;
  c.properties.maximum_packet_size = 4096;
  c.properties.user = {{"z", ""}, {"", "y"}};
  Will w;
  w.topic = "dev/1/status";
  w.payload = "offline";
  w.qos = 2;
  w.retain = true;
  w.properties.payload_format_indicator = 1;
  w.properties.message_expiry_interval_s = 10;
  w.properties.content_type = "text/plain";
  w.properties.response_topic = "dev/1/reply";
  w.properties.correlation_data = "cid";
  w.properties.will_delay_interval_s = 30;
  w.properties.user = {{"k", "v"}};
  c.will = w;
  c.username = "user";
  c.password = "secret";
  std::string wire;
  encode(c, wire);
  DecodeResult r = decode(wire, ProtocolVersion::kV311);
  ASSERT_TRUE(r.is_ok()) << r.error().message;
  EXPECT_TRUE(std::get<Connect>(r.packet()) == c);
}

TEST(PropertiesTest, LargeSubscriptionIdentifiersUseFourByteVarint) {
  Publish p;
  p.topic = "t";
  p.properties.subscription_identifiers = {268435455, 1, 128};
  std::string wire;
  encode(p, kV5, wire);
  // 0B FF FF FF 7F, 0B 01, 0B 80 01 in the property block.
  EXPECT_NE(wire.find(bytes({0x0B, 0xFF, 0xFF, 0xFF, 0x7F, 0x0B, 0x01, 0x0B, 0x80, 0x01})),
            std::string::npos)
      << hex(wire);
  DecodeResult r = decode(wire, kV5);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(std::get<Publish>(r.packet()).properties.subscription_identifiers,
            (std::vector<uint32_t>{268435455, 1, 128}));
}

TEST(PropertiesTest, EmptyMeansNothingSet) {
  Properties p;
  EXPECT_TRUE(p.empty());
  p.user.emplace_back("a", "b");
  EXPECT_FALSE(p.empty());
  Properties q;
  q.maximum_qos = 0;  // set to zero is still set
  EXPECT_FALSE(q.empty());
}

TEST(PropertiesTest, MessagePropertiesMoveOutAndBack) {
  Properties p;
  p.payload_format_indicator = 1;
  p.message_expiry_interval_s = 5;
  p.content_type = "application/json";
  p.response_topic = "r";
  p.correlation_data = "c";
  p.user = {{"k", "v"}};
  p.topic_alias = 3;
  MessageProperties m = take_message_properties(p);
  EXPECT_EQ(m.payload_format, 1);
  EXPECT_EQ(m.message_expiry_s, 5u);
  EXPECT_EQ(m.content_type, "application/json");
  EXPECT_EQ(m.response_topic, "r");
  EXPECT_EQ(m.correlation_data, "c");
  EXPECT_EQ(m.user, (std::vector<UserProperty>{{"k", "v"}}));
  EXPECT_TRUE(p.user.empty());
  EXPECT_FALSE(p.content_type);
  EXPECT_EQ(p.topic_alias, 3);  // not a message property: left in place

  Properties back;
  put_message_properties(std::move(m), back);
  EXPECT_EQ(back.content_type, "application/json");
  EXPECT_EQ(back.payload_format_indicator, 1);
  EXPECT_EQ(back.user.size(), 1u);
}

TEST(ReasonCodeTest, NamesAndConnectReturnCodes) {
  EXPECT_EQ(static_cast<int>(ReasonCode::kQuotaExceeded), 0x97);
  EXPECT_EQ(to_string(ReasonCode::kPacketTooLarge), "Packet too large");
  EXPECT_EQ(to_string(static_cast<ReasonCode>(0x05)), "Unknown");
  EXPECT_TRUE(is_known(ReasonCode::kWildcardSubscriptionsNotSupported));
  EXPECT_FALSE(is_known(static_cast<ReasonCode>(0xA3)));
  EXPECT_TRUE(is_error(ReasonCode::kUnspecifiedError));
  EXPECT_FALSE(is_error(ReasonCode::kGrantedQos2));
  EXPECT_EQ(to_connect_return_code(ReasonCode::kUnsupportedProtocolVersion),
            ConnectReturnCode::kUnacceptableProtocolVersion);
  EXPECT_EQ(to_connect_return_code(ReasonCode::kClientIdentifierNotValid),
            ConnectReturnCode::kIdentifierRejected);
  EXPECT_EQ(to_connect_return_code(ReasonCode::kBanned), ConnectReturnCode::kNotAuthorized);
  for (int rc = 0; rc <= 5; ++rc) {
    const auto code = static_cast<ConnectReturnCode>(rc);
    EXPECT_EQ(to_connect_return_code(to_reason_code(code)), code) << rc;
  }
}

}  // namespace
}  // namespace gw::mqtt
