// Table of broken packets, each with the reason code the decoder must give
// (MQTT 5.0 §4.13: 0x81 Malformed Packet, 0x82 Protocol Error, ...).
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "gateway/mqtt/codec.h"
#include "tests/unit/mqtt/test_bytes.h"

namespace gw::mqtt {
namespace {

using testing::bytes;
using testing::hex;
constexpr auto kV4 = ProtocolVersion::kV311;
constexpr auto kV5 = ProtocolVersion::kV5;
constexpr auto kMalformed = ReasonCode::kMalformedPacket;
constexpr auto kProtocol = ReasonCode::kProtocolError;

struct Bad {
  std::string name;
  ProtocolVersion version;
  std::string wire;
  ReasonCode expected;
};

// A v5 CONNECT for client "c" with the given property block (length + bytes).
std::string connect_v5_with_properties(const std::string& props) {
  std::string body = bytes({0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05, 0x02, 0x00, 0x00});
  body += props;
  body += bytes({0x00, 0x01, 'c'});
  return bytes({0x10, static_cast<int>(body.size())}) + body;
}

// A v5 QoS 0 PUBLISH on topic "t" with the given property block.
std::string publish_v5_with_properties(const std::string& props) {
  std::string body = bytes({0x00, 0x01, 't'}) + props;
  return bytes({0x30, static_cast<int>(body.size())}) + body;
}

std::vector<Bad> bad_cases() {
  return {
      // -- fixed header --
      {"PacketTypeZero", kV5, bytes({0x00, 0x00}), kMalformed},
      {"PubrelWrongFlags", kV5, bytes({0x60, 0x02, 0x00, 0x01}), kMalformed},  // §3.6.1 needs 0010
      {"SubscribeFlagsZero", kV4, bytes({0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x00}),
       kMalformed},
      {"PingreqFlagsSet", kV4, bytes({0xC1, 0x00}), kMalformed},
      {"RemainingLengthPastEnd", kV4, bytes({0x30, 0x05, 0x00, 0x01, 't'}), kMalformed},
      {"BytesAfterPacket", kV4, bytes({0xC0, 0x00, 0x00}), kMalformed},
      {"RemainingLengthFiveBytes", kV4, bytes({0x30, 0x80, 0x80, 0x80, 0x80, 0x01}), kMalformed},

      // -- PUBLISH --
      {"PublishQos3", kV5, bytes({0x36, 0x03, 0x00, 0x01, 't'}), kMalformed},
      {"PublishQos0WithDup", kV4, bytes({0x38, 0x03, 0x00, 0x01, 't'}), kMalformed},
      {"PublishQos1PacketIdZero", kV4, bytes({0x32, 0x05, 0x00, 0x01, 't', 0x00, 0x00}), kProtocol},
      {"PublishQos1PacketIdMissing", kV4, bytes({0x32, 0x04, 0x00, 0x01, 't', 0x00}), kMalformed},
      {"PublishTopicLengthPastEnd", kV4, bytes({0x30, 0x03, 0x00, 0x05, 't'}), kMalformed},
      {"PublishTopicOverlongNul", kV4, bytes({0x30, 0x04, 0x00, 0x02, 0xC0, 0x80}), kMalformed},
      {"PublishTopicNul", kV4, bytes({0x30, 0x04, 0x00, 0x02, 'a', 0x00}), kMalformed},
      {"PublishTopicSurrogate", kV4, bytes({0x30, 0x05, 0x00, 0x03, 0xED, 0xA0, 0x80}), kMalformed},
      {"PublishTopicTruncatedSequence", kV4, bytes({0x30, 0x04, 0x00, 0x02, 'a', 0xE2}),
       kMalformed},
      {"PublishTopicAboveU10FFFF", kV4, bytes({0x30, 0x06, 0x00, 0x04, 0xF4, 0x90, 0x80, 0x80}),
       kMalformed},
      {"PublishTopicStrayContinuation", kV4, bytes({0x30, 0x03, 0x00, 0x01, 0x80}), kMalformed},
      {"PublishTopicWildcard", kV4, bytes({0x30, 0x05, 0x00, 0x03, 'a', '/', '#'}),
       ReasonCode::kTopicNameInvalid},
      {"PublishTopicPlus", kV5, bytes({0x30, 0x04, 0x00, 0x01, '+', 0x00}),
       ReasonCode::kTopicNameInvalid},
      {"PublishEmptyTopicV311", kV4, bytes({0x30, 0x02, 0x00, 0x00}), kProtocol},
      {"PublishEmptyTopicNoAliasV5", kV5, bytes({0x30, 0x03, 0x00, 0x00, 0x00}), kProtocol},
      {"PublishPropertyLengthPastEnd", kV5, publish_v5_with_properties(bytes({0x05, 0x01})),
       kMalformed},
      {"PublishSubscriptionIdZero", kV5, publish_v5_with_properties(bytes({0x02, 0x0B, 0x00})),
       kProtocol},
      {"PublishTopicAliasZero", kV5, publish_v5_with_properties(bytes({0x03, 0x23, 0x00, 0x00})),
       kProtocol},
      {"PublishPayloadFormatTwo", kV5, publish_v5_with_properties(bytes({0x02, 0x01, 0x02})),
       kProtocol},
      {"PublishDuplicateContentType", kV5,
       publish_v5_with_properties(bytes({0x08, 0x03, 0x00, 0x01, 'a', 0x03, 0x00, 0x01, 'b'})),
       kProtocol},
      {"PublishDuplicateMessageExpiry", kV5,
       publish_v5_with_properties(bytes({0x0A, 0x02, 0, 0, 0, 1, 0x02, 0, 0, 0, 2})), kProtocol},
      {"PublishSessionExpiryNotAllowed", kV5,
       publish_v5_with_properties(bytes({0x05, 0x11, 0, 0, 0, 1})), kMalformed},
      {"PublishUnknownProperty", kV5, publish_v5_with_properties(bytes({0x02, 0x7F, 0x00})),
       kMalformed},
      {"PublishUserPropertyValueTruncated", kV5,
       publish_v5_with_properties(bytes({0x05, 0x26, 0x00, 0x01, 'k', 0x00})), kMalformed},
      {"PublishUserPropertyBadUtf8", kV5,
       publish_v5_with_properties(bytes({0x07, 0x26, 0x00, 0x01, 'k', 0x00, 0x01, 0xFF})),
       kMalformed},
      {"PublishResponseTopicWildcard", kV5,
       publish_v5_with_properties(bytes({0x04, 0x08, 0x00, 0x01, '#'})), kProtocol},

      // -- CONNECT --
      {"ConnectReservedFlag", kV4,
       bytes({0x10, 12, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x01, 0x00, 0x00, 0x00, 0x00}),
       kMalformed},
      {"ConnectMqtt31", kV4,
       bytes({0x10, 14, 0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p', 0x03, 0x02, 0x00, 0x00, 0x00,
              0x00}),
       ReasonCode::kUnsupportedProtocolVersion},
      {"ConnectLevel6", kV5,
       bytes({0x10, 12, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x06, 0x02, 0x00, 0x00, 0x00, 0x00}),
       ReasonCode::kUnsupportedProtocolVersion},
      {"ConnectWillQos3", kV4,
       bytes({0x10, 12, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x1E, 0x00, 0x00, 0x00, 0x00}),
       kMalformed},
      {"ConnectWillRetainWithoutWill", kV4,
       bytes({0x10, 12, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x22, 0x00, 0x00, 0x00, 0x00}),
       kMalformed},
      {"ConnectWillQosWithoutWill", kV4,
       bytes({0x10, 12, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x0A, 0x00, 0x00, 0x00, 0x00}),
       kMalformed},
      {"ConnectV311PasswordWithoutUser", kV4,
       bytes({0x10, 15, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x42, 0x00, 0x00, 0x00, 0x00, 0x00,
              0x01, 'p'}),
       kMalformed},
      {"ConnectClientIdPastEnd", kV4,
       bytes({0x10, 12, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x00, 0x00, 0x05}),
       kMalformed},
      {"ConnectMissingUserName", kV4,
       bytes({0x10, 13, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x82, 0x00, 0x00, 0x00, 0x01, 'c'}),
       kMalformed},
      {"ConnectWillTopicWildcard", kV4,
       bytes({0x10, 18,   0x00, 0x04, 'M', 'Q',  'T',  'T', 0x04, 0x06,
              0x00, 0x00, 0x00, 0x01, 'c', 0x00, 0x01, '#', 0x00, 0x00}),
       ReasonCode::kTopicNameInvalid},
      {"ConnectDuplicateSessionExpiry", kV5,
       connect_v5_with_properties(bytes({0x0A, 0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 2})), kProtocol},
      {"ConnectTopicAliasNotAllowed", kV5,
       connect_v5_with_properties(bytes({0x03, 0x23, 0x00, 0x01})), kMalformed},
      {"ConnectWillDelayOutsideWill", kV5,
       connect_v5_with_properties(bytes({0x05, 0x18, 0, 0, 0, 1})), kMalformed},
      {"ConnectReceiveMaximumZero", kV5,
       connect_v5_with_properties(bytes({0x03, 0x21, 0x00, 0x00})), kProtocol},
      {"ConnectMaximumPacketSizeZero", kV5,
       connect_v5_with_properties(bytes({0x05, 0x27, 0, 0, 0, 0})), kProtocol},
      {"ConnectRequestProblemInformationTwo", kV5,
       connect_v5_with_properties(bytes({0x02, 0x17, 0x02})), kProtocol},
      {"ConnectAuthDataWithoutMethod", kV5,
       connect_v5_with_properties(bytes({0x04, 0x16, 0x00, 0x01, 0x01})), kProtocol},
      {"ConnectPropertyLengthFiveBytes", kV5,
       connect_v5_with_properties(bytes({0x80, 0x80, 0x80, 0x80, 0x01})), kMalformed},

      // -- CONNACK --
      {"ConnackReservedFlags", kV4, bytes({0x20, 0x02, 0x02, 0x00}), kMalformed},
      {"ConnackV311ReturnCode6", kV4, bytes({0x20, 0x02, 0x00, 0x06}), kMalformed},
      {"ConnackV5ReasonNotAllowed", kV5, bytes({0x20, 0x03, 0x00, 0x10, 0x00}), kMalformed},
      {"ConnackV5MissingPropertyLength", kV5, bytes({0x20, 0x02, 0x00, 0x00}), kMalformed},
      {"ConnackV5MaximumQosTwo", kV5, bytes({0x20, 0x05, 0x00, 0x00, 0x02, 0x24, 0x02}), kProtocol},

      // -- acks --
      {"PubackPacketIdZero", kV4, bytes({0x40, 0x02, 0x00, 0x00}), kProtocol},
      {"PubackV311TooLong", kV4, bytes({0x40, 0x03, 0x00, 0x01, 0x00}), kMalformed},
      {"PubackTruncated", kV5, bytes({0x40, 0x01, 0x00}), kMalformed},
      {"PubackV5ReasonNotAllowed", kV5, bytes({0x40, 0x03, 0x00, 0x01, 0x92}), kMalformed},
      {"PubrelV5ReasonNotAllowed", kV5, bytes({0x62, 0x03, 0x00, 0x01, 0x10}), kMalformed},
      {"PubackV5PropertyNotAllowed", kV5,
       bytes({0x40, 0x09, 0x00, 0x01, 0x00, 0x05, 0x02, 0, 0, 0, 1}), kMalformed},

      // -- SUBSCRIBE / SUBACK / UNSUBSCRIBE / UNSUBACK --
      {"SubscribeEmptyV311", kV4, bytes({0x82, 0x02, 0x00, 0x01}), kProtocol},
      {"SubscribeEmptyV5", kV5, bytes({0x82, 0x03, 0x00, 0x01, 0x00}), kProtocol},
      {"SubscribePacketIdZero", kV4, bytes({0x82, 0x06, 0x00, 0x00, 0x00, 0x01, 'a', 0x00}),
       kProtocol},
      {"SubscribeQos3", kV4, bytes({0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x03}), kMalformed},
      {"SubscribeV311ReservedOptionBits", kV4,
       bytes({0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x04}), kMalformed},
      {"SubscribeV5ReservedOptionBits", kV5,
       bytes({0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 'a', 0x40}), kMalformed},
      {"SubscribeV5RetainHandling3", kV5,
       bytes({0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 'a', 0x30}), kProtocol},
      {"SubscribeMissingOptions", kV4, bytes({0x82, 0x05, 0x00, 0x01, 0x00, 0x01, 'a'}),
       kMalformed},
      {"SubscribeFilterBadUtf8", kV4, bytes({0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 0xC1, 0x00}),
       kMalformed},
      {"SubscribeTwoSubscriptionIds", kV5,
       bytes({0x82, 0x0B, 0x00, 0x01, 0x04, 0x0B, 0x01, 0x0B, 0x02, 0x00, 0x01, 'a', 0x00}),
       kProtocol},
      {"SubscribeTopicAliasNotAllowed", kV5,
       bytes({0x82, 0x0A, 0x00, 0x01, 0x03, 0x23, 0x00, 0x01, 0x00, 0x01, 'a', 0x00}), kMalformed},
      {"SubackV311Code3", kV4, bytes({0x90, 0x03, 0x00, 0x01, 0x03}), kMalformed},
      {"SubackNoCodes", kV4, bytes({0x90, 0x02, 0x00, 0x01}), kProtocol},
      {"SubackV5CodeNotAllowed", kV5, bytes({0x90, 0x04, 0x00, 0x01, 0x00, 0x10}), kMalformed},
      {"UnsubscribeEmpty", kV4, bytes({0xA2, 0x02, 0x00, 0x01}), kProtocol},
      {"UnsubscribeFlagsZero", kV4, bytes({0xA0, 0x05, 0x00, 0x01, 0x00, 0x01, 'a'}), kMalformed},
      {"UnsubackV311WithPayload", kV4, bytes({0xB0, 0x03, 0x00, 0x01, 0x00}), kMalformed},
      {"UnsubackV5NoCodes", kV5, bytes({0xB0, 0x03, 0x00, 0x01, 0x00}), kProtocol},

      // -- PINGREQ / DISCONNECT / AUTH --
      {"PingreqWithBody", kV4, bytes({0xC0, 0x01, 0x00}), kMalformed},
      {"DisconnectV311WithBody", kV4, bytes({0xE0, 0x01, 0x00}), kMalformed},
      {"DisconnectV5ReasonNotAllowed", kV5, bytes({0xE0, 0x01, 0x01}), kMalformed},
      {"DisconnectV5ServerReferenceTruncated", kV5, bytes({0xE0, 0x04, 0x9C, 0x02, 0x1C, 0x00}),
       kMalformed},
      {"AuthInV311", kV4, bytes({0xF0, 0x00}), kMalformed},
      {"AuthV5ReasonNotAllowed", kV5, bytes({0xF0, 0x02, 0x80, 0x00}), kMalformed},
  };
}

void PrintTo(const Bad& c, std::ostream* os) { *os << c.name; }

class MalformedTest : public ::testing::TestWithParam<Bad> {};

TEST_P(MalformedTest, GivesItsReasonCode) {
  const Bad& b = GetParam();
  DecodeResult r = decode(b.wire, b.version);
  ASSERT_FALSE(r.is_ok()) << "accepted " << hex(b.wire);
  EXPECT_EQ(r.error().reason_code, b.expected)
      << hex(b.wire) << ": got " << to_string(r.error().reason_code) << " (" << r.error().message
      << ")";
  EXPECT_FALSE(r.error().message.empty());
}

INSTANTIATE_TEST_SUITE_P(Table, MalformedTest, ::testing::ValuesIn(bad_cases()),
                         [](const auto& info) { return info.param.name; });

// Every strict prefix of a valid packet, framed as if complete, is rejected
// (never read past the end, never accepted).
TEST(MalformedTest, EveryTruncationOfAValidPacketIsRejected) {
  Connect c;
  c.version = kV5;
  c.client_id = "client";
  c.will = Will{"will/topic", "gone", 1, false, {}};
  c.will->properties.will_delay_interval_s = 3;
  c.username = "user";
  c.password = "pw";
  c.properties.user = {{"a", "b"}};
  std::string wire;
  encode(c, wire);
  const std::string body = wire.substr(2);  // remaining length fits one byte here
  ASSERT_LT(body.size(), 128u);
  for (size_t n = 0; n < body.size(); ++n) {
    const std::string cut = bytes({0x10, static_cast<int>(n)}) + body.substr(0, n);
    DecodeResult r = decode(cut, kV5);
    EXPECT_FALSE(r.is_ok()) << "prefix of " << n << " bytes accepted";
  }
}

TEST(Utf8Test, AcceptsValidMultibyteAndControlCharacters) {
  // 2-, 3- and 4-byte sequences, U+FFFF (a non-character, allowed) and U+0001.
  const std::string topic = "\xC3\xA9/\xE2\x82\xAC/\xF0\x9F\x98\x80/\xEF\xBF\xBF/\x01";
  std::string wire =
      bytes({0x30, static_cast<int>(2 + topic.size()), 0x00, static_cast<int>(topic.size())}) +
      topic;
  DecodeResult r = decode(wire, kV4);
  ASSERT_TRUE(r.is_ok()) << r.error().message;
  EXPECT_EQ(std::get<Publish>(r.packet()).topic, topic);
}

}  // namespace
}  // namespace gw::mqtt
