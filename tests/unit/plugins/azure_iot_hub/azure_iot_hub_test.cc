#include "plugins/azure_iot_hub/azure_iot_hub.h"

#include <gtest/gtest.h>

#include "plugins/azure_iot_hub/sas_token.h"
#include "tests/support/fake_clock.h"

namespace gw::plugins::azure_iot_hub {
namespace {

constexpr std::string_view kVectorResource = "iot-hub-for-test.azure-devices.net/devices/iot-device-for-test";
constexpr std::string_view kVectorKey = "+XLy+MVZ+aTeOnVzN2kLeB16O+kSxmz6g3rS6fAf6rw=";

// Microsoft's published SAS example (IoT Hub security docs): byte for byte.
TEST(AzureSasTest, MatchesMicrosoftsPublishedVector) {
  auto token = make_sas_token(kVectorResource, kVectorKey, 1471940363);
  ASSERT_TRUE(token.is_ok()) << token.status().to_string();
  EXPECT_EQ(*token,
            "SharedAccessSignature sr=iot-hub-for-test.azure-devices.net%2Fdevices%2Fiot-device-for-test"
            "&sig=SIumZ1ACqqPJZ2okHDlW9MSYKykEpqsQY3z6FMOICd4%3D&se=1471940363");
}

TEST(AzureSasTest, VerifyAcceptsOwnTokensAndRefusesTamperedOrExpired) {
  auto token = make_sas_token(kVectorResource, kVectorKey, 1000);
  ASSERT_TRUE(token.is_ok());
  EXPECT_TRUE(verify_sas_token(*token, kVectorResource, kVectorKey, 999).is_ok());
  EXPECT_EQ(verify_sas_token(*token, kVectorResource, kVectorKey, 1000).code(), StatusCode::kUnavailable);
  EXPECT_EQ(verify_sas_token(*token, "other-hub/devices/x", kVectorKey, 999).code(), StatusCode::kNotFound);
  const std::string other_key = base64_encode(std::string(32, 'k'));
  EXPECT_EQ(verify_sas_token(*token, kVectorResource, other_key, 999).code(), StatusCode::kNotFound);
  std::string later = *token;
  later.replace(later.rfind("se=1000"), 7, "se=9000");  // extending the expiry breaks the signature
  EXPECT_EQ(verify_sas_token(later, kVectorResource, kVectorKey, 999).code(), StatusCode::kNotFound);
  EXPECT_EQ(verify_sas_token("Bearer x", kVectorResource, kVectorKey, 0).code(), StatusCode::kInvalidArgument);
}

TEST(AzureSasTest, EncodingHelpers) {
  EXPECT_EQ(url_encode("a/b=c+d e~_-."), "a%2Fb%3Dc%2Bd%20e~_-.");
  EXPECT_EQ(*url_decode("a%2Fb%3dc+d"), "a/b=c d");
  EXPECT_FALSE(url_decode("a%2").is_ok());
  EXPECT_FALSE(url_decode("a%zz").is_ok());
  EXPECT_EQ(base64_encode("ab"), "YWI=");
  EXPECT_EQ(*base64_decode("YWI="), "ab");
  EXPECT_EQ(*base64_decode("YWJj"), "abc");
  EXPECT_FALSE(base64_decode("YWI").is_ok());
  EXPECT_FALSE(base64_decode("not base64!").is_ok());
}

Settings sas_settings() {
  Settings s;
  s.host = "myhub.azure-devices.net";
  s.device_id = "line3-gw";
  s.sas_key = std::string(kVectorKey);
  return s;
}

TEST(AzureProfileTest, ConnectOptionsMintAFreshTokenEachTime) {
  auto p = make_profile(sas_settings());
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  testing::FakeClock clock(1'700'000'000'000);
  auto o = (*p)->connect_options(clock);
  ASSERT_TRUE(o.is_ok());
  EXPECT_EQ(o->host, "myhub.azure-devices.net");
  EXPECT_EQ(o->port, 8883);
  EXPECT_EQ(o->client_id, "line3-gw");
  EXPECT_EQ(o->username, "myhub.azure-devices.net/line3-gw/?api-version=2021-04-12");
  EXPECT_EQ(o->mqtt_version, 4);
  EXPECT_TRUE(o->tls.enabled);
  EXPECT_EQ(o->credentials_expire_at_ms, (1'700'000'000 + 3600) * 1000LL);
  ASSERT_TRUE(o->password.has_value());
  EXPECT_TRUE(verify_sas_token(*o->password, "myhub.azure-devices.net/devices/line3-gw", kVectorKey,
                               1'700'000'000 + 3599)
                  .is_ok());
  clock.advance(std::chrono::minutes(48));
  auto o2 = (*p)->connect_options(clock);
  ASSERT_TRUE(o2.is_ok());
  EXPECT_NE(*o2->password, *o->password);
  EXPECT_EQ(o2->credentials_expire_at_ms, o->credentials_expire_at_ms + 48 * 60 * 1000);
  // Mid-second: the expiry rounds up, so the token never lives less than token_ttl.
  clock.advance(std::chrono::milliseconds(300));
  auto o3 = (*p)->connect_options(clock);
  ASSERT_TRUE(o3.is_ok());
  EXPECT_EQ(o3->credentials_expire_at_ms, o2->credentials_expire_at_ms + 1000);
}

TEST(AzureProfileTest, X509HasNoPasswordAndNoExpiry) {
  Settings s = sas_settings();
  s.sas_key.clear();
  s.cert_file = "/etc/hostname";
  s.key_file = "/etc/hostname";
  auto p = make_profile(s);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  testing::FakeClock clock;
  auto o = (*p)->connect_options(clock);
  ASSERT_TRUE(o.is_ok());
  EXPECT_FALSE(o->password.has_value());
  EXPECT_EQ(o->credentials_expire_at_ms, 0);
  EXPECT_EQ(o->tls.cert_file, "/etc/hostname");
}

TEST(AzureProfileTest, ValidatesSettings) {
  auto s = sas_settings();
  s.sas_key = "not base64!";
  EXPECT_NE(make_profile(s).status().message().find("sas_key"), std::string::npos);
  s = sas_settings();
  s.cert_file = "/etc/hostname";
  s.key_file = "/etc/hostname";
  EXPECT_FALSE(make_profile(s).is_ok());  // both SAS and certificate
  s = sas_settings();
  s.sas_key.clear();
  EXPECT_FALSE(make_profile(s).is_ok());  // neither
  s = sas_settings();
  s.device_id = "a/b";
  EXPECT_FALSE(make_profile(s).is_ok());
  s = sas_settings();
  s.token_ttl = std::chrono::milliseconds(500);
  EXPECT_FALSE(make_profile(s).is_ok());
}

TEST(AzureProfileTest, RegistryChecksKeysAndVersion) {
  uplink::Registry reg;
  register_profile(reg);
  auto ok = reg.create("azure_iot_hub", {{"host", "h.azure-devices.net"},
                                         {"device_id", "d"},
                                         {"client_id", "d"},
                                         {"sas_key", std::string(kVectorKey)},
                                         {"token_ttl", "90s"},
                                         {"mqtt_version", "4"},
                                         {"tls", "true"}});
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_NE((*ok)->describe().find("lifetime 90 s"), std::string::npos);
  EXPECT_EQ((*ok)->describe().find(std::string(kVectorKey)), std::string::npos);  // no secrets in logs
  EXPECT_FALSE(reg.create("azure_iot_hub", {{"host", "h"}, {"device_id", "d"}, {"sas_key", "a2V5"},
                                            {"mqtt_version", "5"}})
                   .is_ok());
  EXPECT_FALSE(reg.create("azure_iot_hub", {{"host", "h"}, {"device_id", "d"}, {"client_id", "other"},
                                            {"sas_key", "a2V5"}})
                   .is_ok());
  auto typo = reg.create("azure_iot_hub", {{"host", "h"}, {"device_id", "d"}, {"sas_kye", "a2V5"}});
  EXPECT_NE(typo.status().message().find("'sas_kye'"), std::string::npos);
}

TEST(AzureProfileTest, ShapesTelemetryTopicWithUrlEncodedPropertyBag) {
  auto p = make_profile(sas_settings());
  ASSERT_TRUE(p.is_ok());
  uplink::OutgoingBatch b;
  b.topic = "gw/line 3/temp";
  b.payload = "zz";
  b.metadata.gateway_id = "line3";
  b.metadata.batch_seq = 42;
  b.metadata.count = 7;
  auto pub = (*p)->shape(b);
  ASSERT_TRUE(pub.is_ok()) << pub.status().to_string();
  EXPECT_EQ(pub->topic,
            "devices/line3-gw/messages/events/"
            "$.ct=application%2Fx-ndjson&$.ce=gzip&$.mid=line3-42&gateway-id=line3&batch-seq=42&count=7"
            "&topic=gw%2Fline%203%2Ftemp");
  EXPECT_EQ(pub->qos, 1);
  EXPECT_FALSE(pub->retain);
  EXPECT_TRUE(pub->user_properties.empty());  // MQTT 3.1.1: everything is in the bag
  auto bag = parse_property_bag(pub->topic.substr(pub->topic.rfind('/') + 1));
  ASSERT_TRUE(bag.is_ok());
  EXPECT_EQ(bag->back(), (UserProperty{"topic", "gw/line 3/temp"}));
}

TEST(AzureProfileTest, LimitsKeepTheMessageUnder256KBWithItsBag) {
  auto p = make_profile(sas_settings());
  ASSERT_TRUE(p.is_ok());
  const auto l = (*p)->limits();
  EXPECT_EQ(l.billing_unit_bytes, 4096u);
  EXPECT_LE(l.max_payload_bytes + kPropertyBagReserve, 256u * 1024);
  uplink::OutgoingBatch b;
  b.topic = "t";
  b.metadata.gateway_id = "g";
  b.payload.assign(l.max_payload_bytes, 'x');
  auto ok = (*p)->shape(b);
  ASSERT_TRUE(ok.is_ok());
  EXPECT_LE(ok->payload.size() + ok->topic.size() - std::string("devices/line3-gw/messages/events/").size(),
            256u * 1024);
  b.payload.assign(256 * 1024, 'x');
  EXPECT_EQ((*p)->shape(b).status().code(), StatusCode::kInvalidArgument);
}

TEST(AzureProfileTest, RateDefaultsTo100PerSecondAndMayBeLoweredNotRaisedPastTheQuota) {
  auto p = make_profile(sas_settings());
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ((*p)->limits().max_publishes_per_s, 100);
  EXPECT_EQ((*p)->limits().max_bytes_per_s, 0) << "IoT Hub has no byte-rate quota";

  uplink::Registry reg;
  register_profile(reg);
  EXPECT_EQ(reg.find("azure_iot_hub")->max_publishes_per_s, kMaxPublishesPerSecond);
  const uplink::SettingsMap base = {{"host", "h"}, {"device_id", "d"}, {"sas_key", "a2V5"}};
  auto with = [&](std::string k, std::string v) {
    auto m = base;
    m[k] = v;
    return reg.create("azure_iot_hub", m);
  };
  auto low = with("max_publishes_per_s", "5");
  ASSERT_TRUE(low.is_ok()) << low.status().to_string();
  EXPECT_EQ((*low)->limits().max_publishes_per_s, 5);
  auto bytes = with("max_bytes_per_s", "65536");
  ASSERT_TRUE(bytes.is_ok());
  EXPECT_EQ((*bytes)->limits().max_bytes_per_s, 65536);
  EXPECT_NE(with("max_publishes_per_s", "6001").status().message().find("max_publishes_per_s"), std::string::npos);
  EXPECT_FALSE(with("max_publishes_per_s", "0").is_ok());
}

TEST(AzureProfileTest, DownlinkSubscribesToC2DAndTurnsTheBagIntoProperties) {
  auto p = make_profile(sas_settings());
  ASSERT_TRUE(p.is_ok());
  EXPECT_TRUE((*p)->downlink_subscriptions({}).empty());
  EXPECT_EQ((*p)->downlink_subscriptions({"anything/#"}),
            std::vector<std::string>{"devices/line3-gw/messages/devicebound/#"});
  uplink::Publish in;
  in.topic = "devices/line3-gw/messages/devicebound/%24.mid=m1&%24.to=%2Fdevices%2Fline3-gw%2Fmessages%2Fdevicebound"
             "&$.ct=application%2Fjson&valve=open%20now";
  in.payload = "{}";
  auto out = (*p)->downlink_message(in);
  EXPECT_EQ(out.topic, "devices/line3-gw/messages/devicebound");
  EXPECT_EQ(out.content_type, "application/json");
  const std::vector<UserProperty> expected = {{"$.mid", "m1"},
                                              {"$.to", "/devices/line3-gw/messages/devicebound"},
                                              {"$.ct", "application/json"},
                                              {"valve", "open now"}};
  EXPECT_EQ(out.user_properties, expected);
}

}  // namespace
}  // namespace gw::plugins::azure_iot_hub
