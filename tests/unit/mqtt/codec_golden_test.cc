// Golden bytes for every packet type in MQTT 3.1.1 and 5.0: each case is
// encoded and compared byte for byte, and the bytes are decoded and compared
// with the packet. Every field of the wire form has a comment.
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

struct Golden {
  std::string name;
  ProtocolVersion version;
  Packet packet;
  std::string wire;
  bool encodes_to_wire = true;  // false: a form we accept but never write
};

std::vector<Golden> golden_cases() {
  std::vector<Golden> c;

  // ---- CONNECT ----
  {
    Connect p;
    p.version = kV4;
    p.client_id = "c1";
    p.clean_start = true;
    p.keep_alive_s = 60;
    p.will = Will{"w", "bye", 1, true, {}};
    p.username = "u";
    p.password = "p";
    c.push_back({"ConnectV311Full", kV4, p,
                 bytes({0x10, 28,                        // CONNECT, remaining length 28
                        0x00, 0x04, 'M', 'Q', 'T', 'T',  // protocol name
                        0x04,                            // protocol level 4 (3.1.1)
                        0xEE,        // flags: user|password|will retain|will QoS 1|will|clean
                        0x00, 0x3C,  // keep alive 60 s
                        0x00, 0x02, 'c', '1',       // client id "c1"
                        0x00, 0x01, 'w',            // will topic "w"
                        0x00, 0x03, 'b', 'y', 'e',  // will payload "bye"
                        0x00, 0x01, 'u',            // user name "u"
                        0x00, 0x01, 'p'})});        // password "p"
  }
  {
    Connect p;
    p.version = kV4;
    p.client_id = "abc";
    p.clean_start = false;
    c.push_back({"ConnectV311Minimal", kV4, p,
                 bytes({0x10, 15,                        // CONNECT, remaining length 15
                        0x00, 0x04, 'M', 'Q', 'T', 'T',  // protocol name
                        0x04,                            // level 4
                        0x00,                            // flags: none (persistent session)
                        0x00, 0x00,                      // keep alive 0 (off)
                        0x00, 0x03, 'a', 'b', 'c'})});   // client id
  }
  {
    Connect p;
    p.version = kV5;
    p.client_id = "c";
    p.keep_alive_s = 30;
    p.properties.session_expiry_interval_s = 120;
    p.properties.receive_maximum = 20;
    p.properties.user = {{"a", "b"}};
    Will w;
    w.topic = "w";
    w.payload = "x";
    w.properties.content_type = "t";
    w.properties.will_delay_interval_s = 5;
    p.will = w;
    p.username = "u";
    c.push_back({"ConnectV5WithWillProperties", kV5, p,
                 bytes({0x10, 48,                           // CONNECT, remaining length 48
                        0x00, 0x04, 'M',  'Q',  'T',  'T',  // protocol name
                        0x05,                               // level 5
                        0x86,                               // flags: user name|will|clean start
                        0x00, 0x1E,                         // keep alive 30 s
                        15,                                 // property length
                        0x11, 0x00, 0x00, 0x00, 0x78,       //   session expiry interval 120
                        0x21, 0x00, 0x14,                   //   receive maximum 20
                        0x26, 0x00, 0x01, 'a',  0x00, 0x01, 'b',  // user property a=b
                        0x00, 0x01, 'c',                          // client id "c"
                        9,                                        // will property length
                        0x03, 0x00, 0x01, 't',                    //   content type "t"
                        0x18, 0x00, 0x00, 0x00, 0x05,             //   will delay interval 5
                        0x00, 0x01, 'w',                          // will topic
                        0x00, 0x01, 'x',                          // will payload
                        0x00, 0x01, 'u'})});                      // user name
  }
  {
    Connect p;
    p.version = kV5;
    p.client_id = "";
    p.password = std::string("\x00\xFF", 2);  // v5 allows a password without a user name
    c.push_back({"ConnectV5PasswordOnlyEmptyClientId", kV5, p,
                 bytes({0x10, 17,                        // CONNECT, remaining length 17
                        0x00, 0x04, 'M', 'Q', 'T', 'T',  // protocol name
                        0x05,                            // level 5
                        0x42,                            // flags: password|clean start
                        0x00, 0x00,                      // keep alive 0
                        0x00,                            // property length 0
                        0x00, 0x00,                      // client id "" (server assigns)
                        0x00, 0x02, 0x00, 0xFF})});      // password (binary)
  }

  // ---- CONNACK ----
  {
    Connack p;
    p.session_present = true;
    c.push_back({"ConnackV311Accepted", kV4, p,
                 bytes({0x20, 0x02,  // CONNACK, remaining length 2
                        0x01,        // session present
                        0x00})});    // return code 0 accepted
  }
  {
    Connack p;
    p.reason_code = ReasonCode::kBadUserNameOrPassword;
    c.push_back({"ConnackV311BadPassword", kV4, p,
                 bytes({0x20, 0x02,  // CONNACK, remaining length 2
                        0x00,        // no session
                        0x04})});    // return code 4: bad user name or password
  }
  {
    Connack p;
    p.properties.assigned_client_identifier = "id";
    p.properties.topic_alias_maximum = 10;
    p.properties.maximum_qos = 1;
    c.push_back({"ConnackV5Properties", kV5, p,
                 bytes({0x20, 13,                    // CONNACK, remaining length 13
                        0x00,                        // flags: no session
                        0x00,                        // reason: success
                        10,                          // property length
                        0x12, 0x00, 0x02, 'i', 'd',  //   assigned client identifier
                        0x22, 0x00, 0x0A,            //   topic alias maximum 10
                        0x24, 0x01})});              //   maximum QoS 1
  }
  {
    Connack p;
    p.reason_code = ReasonCode::kNotAuthorized;
    c.push_back({"ConnackV5NotAuthorized", kV5, p,
                 bytes({0x20, 0x03,  // CONNACK, remaining length 3
                        0x00,        // flags
                        0x87,        // reason: not authorized
                        0x00})});    // property length 0 (always present in CONNACK)
  }

  // ---- PUBLISH ----
  {
    Publish p;
    p.topic = "a/b";
    p.payload = "hi";
    c.push_back({"PublishV311Qos0", kV4, p,
                 bytes({0x30, 0x07,                 // PUBLISH QoS 0, remaining length 7
                        0x00, 0x03, 'a', '/', 'b',  // topic
                        'h', 'i'})});               // payload
  }
  {
    Publish p;
    p.topic = "t";
    p.payload = "x";
    p.qos = 1;
    p.dup = true;
    p.retain = true;
    p.packet_id = 0x1234;
    c.push_back({"PublishV311Qos1DupRetain", kV4, p,
                 bytes({0x3B, 0x06,       // PUBLISH dup|QoS 1|retain, remaining length 6
                        0x00, 0x01, 't',  // topic
                        0x12, 0x34,       // packet id 0x1234
                        'x'})});          // payload
  }
  {
    Publish p;
    p.topic = "t";
    p.payload = "{}";
    p.qos = 2;
    p.packet_id = 7;
    p.properties.payload_format_indicator = 1;
    p.properties.message_expiry_interval_s = 60;
    p.properties.content_type = "json";
    p.properties.response_topic = "r";
    p.properties.correlation_data = std::string("\x00\x01", 2);
    p.properties.subscription_identifiers = {5};
    p.properties.topic_alias = 3;
    p.properties.user = {{"k", "v"}};
    c.push_back({"PublishV5Qos2AllMessageProperties", kV5, p,
                 bytes({0x34, 43,                      // PUBLISH QoS 2, remaining length 43
                        0x00, 0x01, 't',               // topic
                        0x00, 0x07,                    // packet id 7
                        35,                            // property length
                        0x01, 0x01,                    //   payload format: UTF-8
                        0x02, 0x00, 0x00, 0x00, 0x3C,  //   message expiry 60 s
                        0x03, 0x00, 0x04, 'j',  's',  'o',  'n',  // content type
                        0x08, 0x00, 0x01, 'r',                    //   response topic
                        0x09, 0x00, 0x02, 0x00, 0x01,             //   correlation data
                        0x0B, 0x05,                               //   subscription identifier 5
                        0x23, 0x00, 0x03,                         //   topic alias 3
                        0x26, 0x00, 0x01, 'k',  0x00, 0x01, 'v',  // user property k=v
                        '{',  '}'})});                            // payload
  }
  {
    Publish p;
    p.topic = "t";
    p.payload = "x";
    c.push_back({"PublishV5Qos0NoProperties", kV5, p,
                 bytes({0x30, 0x05,       // PUBLISH QoS 0, remaining length 5
                        0x00, 0x01, 't',  // topic
                        0x00,             // property length 0
                        'x'})});          // payload
  }
  {
    Publish p;
    p.topic = "";
    p.payload = "x";
    p.properties.topic_alias = 1;
    c.push_back({"PublishV5EmptyTopicWithAlias", kV5, p,
                 bytes({0x30, 0x07,        // PUBLISH QoS 0, remaining length 7
                        0x00, 0x00,        // topic "" (alias carries it)
                        0x03,              // property length
                        0x23, 0x00, 0x01,  //   topic alias 1
                        'x'})});           // payload
  }
  {
    Publish p;
    p.topic = "t";
    p.properties.user = {{"k", "1"}, {"a", "2"}, {"k", "3"}};
    c.push_back({"PublishV5RepeatedUserPropertiesKeepOrder", kV5, p,
                 bytes({0x30, 25,         // PUBLISH QoS 0, remaining length 25
                        0x00, 0x01, 't',  // topic
                        21,               // property length
                        0x26, 0x00, 0x01, 'k', 0x00, 0x01, '1',      // k=1
                        0x26, 0x00, 0x01, 'a', 0x00, 0x01, '2',      // a=2
                        0x26, 0x00, 0x01, 'k', 0x00, 0x01, '3'})});  // k=3 (repeat)
  }

  // ---- PUBACK / PUBREC / PUBREL / PUBCOMP ----
  c.push_back({"PubackV311", kV4, Puback{1, ReasonCode::kSuccess, {}},
               bytes({0x40, 0x02,      // PUBACK, remaining length 2
                      0x00, 0x01})});  // packet id 1
  c.push_back({"PubrecV311", kV4, Pubrec{2, ReasonCode::kSuccess, {}},
               bytes({0x50, 0x02,      // PUBREC, remaining length 2
                      0x00, 0x02})});  // packet id 2
  c.push_back({"PubrelV311", kV4, Pubrel{3, ReasonCode::kSuccess, {}},
               bytes({0x62, 0x02,      // PUBREL (flags 0010), remaining length 2
                      0x00, 0x03})});  // packet id 3
  c.push_back({"PubcompV311", kV4, Pubcomp{4, ReasonCode::kSuccess, {}},
               bytes({0x70, 0x02,      // PUBCOMP, remaining length 2
                      0x00, 0x04})});  // packet id 4
  c.push_back({"PubackV5ShortForm", kV5, Puback{1, ReasonCode::kSuccess, {}},
               bytes({0x40, 0x02,      // PUBACK, remaining length 2: reason 0, no props
                      0x00, 0x01})});  // packet id 1
  c.push_back({"PubackV5ReasonOnly", kV5, Puback{1, ReasonCode::kNoMatchingSubscribers, {}},
               bytes({0x40, 0x03,  // PUBACK, remaining length 3
                      0x00, 0x01,  // packet id 1
                      0x10})});    // reason: no matching subscribers; no property length
  c.push_back({"PubackV5ReasonWithEmptyPropertyLength", kV5,
               Puback{1, ReasonCode::kNoMatchingSubscribers, {}},
               bytes({0x40, 0x04,  // PUBACK, remaining length 4
                      0x00, 0x01,  // packet id 1
                      0x10,        // reason
                      0x00}),      // property length 0 (accepted, we write the short form)
               false});
  {
    Pubrec p{2, ReasonCode::kQuotaExceeded, {}};
    p.properties.reason_string = "full";
    c.push_back({"PubrecV5QuotaExceededWithReasonString", kV5, p,
                 bytes({0x50, 0x0B,                                // PUBREC, remaining length 11
                        0x00, 0x02,                                // packet id 2
                        0x97,                                      // reason: quota exceeded
                        0x07,                                      // property length
                        0x1F, 0x00, 0x04, 'f', 'u', 'l', 'l'})});  // reason string
  }
  c.push_back({"PubrelV5IdNotFound", kV5, Pubrel{3, ReasonCode::kPacketIdentifierNotFound, {}},
               bytes({0x62, 0x03,  // PUBREL, remaining length 3
                      0x00, 0x03,  // packet id 3
                      0x92})});    // reason: packet identifier not found
  c.push_back({"PubcompV5ShortForm", kV5, Pubcomp{4, ReasonCode::kSuccess, {}},
               bytes({0x70, 0x02,      // PUBCOMP, remaining length 2
                      0x00, 0x04})});  // packet id 4

  // ---- SUBSCRIBE / SUBACK ----
  {
    Subscribe p;
    p.packet_id = 10;
    p.subscriptions = {{"a/#", 1, false, false, 0}, {"b/+", 0, false, false, 0}};
    c.push_back({"SubscribeV311", kV4, p,
                 bytes({0x82, 14,                   // SUBSCRIBE (flags 0010), remaining length 14
                        0x00, 0x0A,                 // packet id 10
                        0x00, 0x03, 'a', '/', '#',  // filter
                        0x01,                       //   options: QoS 1
                        0x00, 0x03, 'b', '/', '+',  // filter
                        0x00})});                   //   options: QoS 0
  }
  {
    Subscribe p;
    p.packet_id = 11;
    p.properties.subscription_identifiers = {300};
    p.properties.user = {{"x", "y"}};
    p.subscriptions = {{"s/#", 2, true, true, 2}};
    c.push_back({"SubscribeV5Options", kV5, p,
                 bytes({0x82, 19,          // SUBSCRIBE, remaining length 19
                        0x00, 0x0B,        // packet id 11
                        10,                // property length
                        0x0B, 0xAC, 0x02,  //   subscription identifier 300 (varint)
                        0x26, 0x00, 0x01, 'x', 0x00, 0x01, 'y',  // user property
                        0x00, 0x03, 's',  '/', '#',              // filter
                        0x2E})});  // options: retain handling 2|RAP|no local|QoS 2
  }
  c.push_back({"SubackV311", kV4,
               Suback{10, {ReasonCode::kGrantedQos1, ReasonCode::kUnspecifiedError}, {}},
               bytes({0x90, 0x04,  // SUBACK, remaining length 4
                      0x00, 0x0A,  // packet id 10
                      0x01,        // granted QoS 1
                      0x80})});    // failure
  {
    Suback p{11, {ReasonCode::kGrantedQos2, ReasonCode::kTopicFilterInvalid}, {}};
    p.properties.reason_string = "r";
    c.push_back({"SubackV5", kV5, p,
                 bytes({0x90, 0x09,             // SUBACK, remaining length 9
                        0x00, 0x0B,             // packet id 11
                        0x04,                   // property length
                        0x1F, 0x00, 0x01, 'r',  //   reason string
                        0x02,                   // granted QoS 2
                        0x8F})});               // topic filter invalid
  }

  // ---- UNSUBSCRIBE / UNSUBACK ----
  c.push_back({"UnsubscribeV311", kV4, Unsubscribe{12, {"a/#"}, {}},
               bytes({0xA2, 0x07,  // UNSUBSCRIBE (flags 0010), remaining length 7
                      0x00, 0x0C,  // packet id 12
                      0x00, 0x03, 'a', '/', '#'})});  // filter
  c.push_back({"UnsubscribeV5", kV5, Unsubscribe{13, {"a", "b"}, {}},
               bytes({0xA2, 0x09,           // UNSUBSCRIBE, remaining length 9
                      0x00, 0x0D,           // packet id 13
                      0x00,                 // property length 0
                      0x00, 0x01, 'a',      // filter
                      0x00, 0x01, 'b'})});  // filter
  c.push_back({"UnsubackV311", kV4, Unsuback{12, {}, {}},
               bytes({0xB0, 0x02,      // UNSUBACK, remaining length 2
                      0x00, 0x0C})});  // packet id 12 (no payload in 3.1.1)
  c.push_back({"UnsubackV5", kV5,
               Unsuback{13, {ReasonCode::kSuccess, ReasonCode::kNoSubscriptionExisted}, {}},
               bytes({0xB0, 0x05,  // UNSUBACK, remaining length 5
                      0x00, 0x0D,  // packet id 13
                      0x00,        // property length 0
                      0x00,        // success
                      0x11})});    // no subscription existed

  // ---- PINGREQ / PINGRESP ----
  c.push_back({"PingreqV311", kV4, Pingreq{}, bytes({0xC0, 0x00})});    // PINGREQ, length 0
  c.push_back({"PingrespV311", kV4, Pingresp{}, bytes({0xD0, 0x00})});  // PINGRESP, length 0
  c.push_back({"PingreqV5", kV5, Pingreq{}, bytes({0xC0, 0x00})});
  c.push_back({"PingrespV5", kV5, Pingresp{}, bytes({0xD0, 0x00})});

  // ---- DISCONNECT ----
  c.push_back({"DisconnectV311", kV4, Disconnect{}, bytes({0xE0, 0x00})});  // length 0
  c.push_back({"DisconnectV5Normal", kV5, Disconnect{},
               bytes({0xE0, 0x00})});  // remaining length 0: normal, no properties
  c.push_back({"DisconnectV5ReasonOnly", kV5, Disconnect{ReasonCode::kSessionTakenOver, {}},
               bytes({0xE0, 0x01,  // DISCONNECT, remaining length 1
                      0x8E})});    // reason: session taken over
  c.push_back({"DisconnectV5ReasonEmptyProperties", kV5,
               Disconnect{ReasonCode::kSessionTakenOver, {}},
               bytes({0xE0, 0x02,  // DISCONNECT, remaining length 2
                      0x8E,        // reason
                      0x00}),      // property length 0 (accepted; we write the short form)
               false});
  {
    Disconnect p{ReasonCode::kDisconnectWithWillMessage, {}};
    p.properties.session_expiry_interval_s = 0;
    c.push_back({"DisconnectV5WithProperties", kV5, p,
                 bytes({0xE0, 0x07,                        // DISCONNECT, remaining length 7
                        0x04,                              // reason: with will message
                        0x05,                              // property length
                        0x11, 0x00, 0x00, 0x00, 0x00})});  //   session expiry 0
  }

  // ---- AUTH ----
  c.push_back({"AuthV5Success", kV5, Auth{}, bytes({0xF0, 0x00})});  // length 0: success
  {
    Auth p{ReasonCode::kContinueAuthentication, {}};
    p.properties.authentication_method = "SCRAM";
    p.properties.authentication_data = std::string("\x01", 1);
    c.push_back({"AuthV5Continue", kV5, p,
                 bytes({0xF0, 0x0E,                                 // AUTH, remaining length 14
                        0x18,                                       // continue authentication
                        0x0C,                                       // property length
                        0x15, 0x00, 0x05, 'S', 'C', 'R', 'A', 'M',  // authentication method
                        0x16, 0x00, 0x01, 0x01})});                 //   authentication data
  }
  return c;
}

void PrintTo(const Golden& c, std::ostream* os) { *os << c.name; }

class GoldenTest : public ::testing::TestWithParam<Golden> {};

TEST_P(GoldenTest, EncodesToExactBytes) {
  const Golden& g = GetParam();
  if (!g.encodes_to_wire) GTEST_SKIP() << "decode-only form";
  std::string out = "prefix";  // encode appends, never clears
  encode(g.packet, g.version, out);
  EXPECT_EQ(hex(out), hex("prefix" + g.wire));
  EXPECT_EQ(encoded_size(g.packet, g.version), g.wire.size());
}

TEST_P(GoldenTest, DecodesToPacket) {
  const Golden& g = GetParam();
  DecodeResult r = decode(g.wire, g.version);
  ASSERT_TRUE(r.is_ok()) << r.to_status().to_string();
  EXPECT_EQ(type_of(r.packet()), type_of(g.packet));
  EXPECT_TRUE(r.packet() == g.packet);
}

TEST_P(GoldenTest, FramesAsOnePacket) {
  const Golden& g = GetParam();
  const FrameResult f = scan_frame(g.wire, g.wire.size());
  ASSERT_EQ(f.state, FrameState::kComplete);
  EXPECT_EQ(f.size, g.wire.size());
}

INSTANTIATE_TEST_SUITE_P(AllPackets, GoldenTest, ::testing::ValuesIn(golden_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(CodecTest, ConnectDecodesWithoutKnowingTheVersion) {
  // The version argument is what the connection assumed before CONNECT; the
  // packet's own protocol level wins.
  for (const Golden& g : golden_cases()) {
    if (type_of(g.packet) != PacketType::kConnect) continue;
    const ProtocolVersion other = g.version == kV5 ? kV4 : kV5;
    DecodeResult r = decode(g.wire, other);
    ASSERT_TRUE(r.is_ok()) << g.name;
    EXPECT_EQ(std::get<Connect>(r.packet()).version, g.version) << g.name;
  }
}

TEST(CodecTest, V311EncoderDropsV5OnlyFields) {
  Publish p;
  p.topic = "t";
  p.payload = "x";
  p.properties.user = {{"k", "v"}};
  std::string out;
  encode(p, kV4, out);
  EXPECT_EQ(hex(out), hex(bytes({0x30, 0x04, 0x00, 0x01, 't', 'x'})));

  out.clear();
  encode(Suback{1, {ReasonCode::kNotAuthorized}, {}}, kV4, out);
  // 3.1.1 SUBACK only knows 0x80 for failure.
  EXPECT_EQ(hex(out), hex(bytes({0x90, 0x03, 0x00, 0x01, 0x80})));

  out.clear();
  encode(Connack{false, ReasonCode::kServerBusy, {}}, kV4, out);
  // Server busy has no 3.1.1 code; "server unavailable" (3) is the closest.
  EXPECT_EQ(hex(out), hex(bytes({0x20, 0x02, 0x00, 0x03})));
}

TEST(CodecTest, LargePublishUsesMultiByteRemainingLength) {
  Publish p;
  p.topic = "t";
  p.payload.assign(200, 'z');
  std::string out;
  encode(p, kV4, out);
  // Remaining length 3 + 200 = 203 = 0xCB 0x01 as a variable byte integer.
  ASSERT_EQ(out.size(), 1u + 2u + 203u);
  EXPECT_EQ(static_cast<uint8_t>(out[1]), 0xCB);
  EXPECT_EQ(static_cast<uint8_t>(out[2]), 0x01);
  DecodeResult r = decode(out, kV4);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(std::get<Publish>(r.packet()).payload, p.payload);
}

TEST(CodecTest, EncodedSizeMatchesAtVarintBoundaries) {
  // Remaining lengths 127/128 and 16383/16384 switch from 1 to 2 and 2 to 3 bytes.
  for (size_t remaining : {127u, 128u, 16383u, 16384u, 2097152u}) {
    Publish p;
    p.topic = "t";
    p.payload.assign(remaining - 3, 'p');
    std::string out;
    encode(p, kV4, out);
    EXPECT_EQ(encoded_size(p, kV4), out.size()) << remaining;
    const FrameResult f = scan_frame(out, out.size());
    ASSERT_EQ(f.state, FrameState::kComplete) << remaining;
    const size_t expected_header = remaining < 128       ? 2
                                   : remaining < 16384   ? 3
                                   : remaining < 2097152 ? 4
                                                         : 5;
    EXPECT_EQ(f.header_size, expected_header) << remaining;
  }
}

TEST(CodecTest, PublishConvertsToAndFromMessage) {
  Publish p;
  p.topic = "plant/1/temp";
  p.payload = "21.5";
  p.qos = 1;
  p.packet_id = 9;
  p.retain = true;
  p.properties.user = {{"unit", "C"}};
  p.properties.content_type = "text/plain";
  p.properties.message_expiry_interval_s = 30;
  p.properties.topic_alias = 4;  // transport detail, not kept in the message
  Message m = to_message(std::move(p), kV5);
  EXPECT_EQ(m.topic, "plant/1/temp");
  EXPECT_EQ(m.payload, "21.5");
  EXPECT_EQ(m.qos, 1);
  EXPECT_TRUE(m.retain);
  EXPECT_EQ(m.protocol_version, 5);
  ASSERT_EQ(m.properties.user.size(), 1u);
  EXPECT_EQ(m.properties.user[0], UserProperty("unit", "C"));
  EXPECT_EQ(m.properties.content_type, "text/plain");
  EXPECT_EQ(m.properties.message_expiry_s, 30u);

  Publish back = to_publish(m);
  EXPECT_EQ(back.topic, "plant/1/temp");
  EXPECT_EQ(back.packet_id, 0);
  EXPECT_EQ(back.properties.user, m.properties.user);
  EXPECT_EQ(back.properties.content_type, "text/plain");
  EXPECT_FALSE(back.properties.topic_alias);
}

TEST(CodecTest, DecodeErrorBecomesStatus) {
  DecodeResult r = decode(bytes({0x36, 0x03, 0x00, 0x01, 't'}), kV5);
  ASSERT_FALSE(r.is_ok());
  const Status s = r.to_status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("Malformed Packet (0x81)"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace gw::mqtt
