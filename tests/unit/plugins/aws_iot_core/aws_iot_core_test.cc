#include "plugins/aws_iot_core/aws_iot_core.h"

#include <gtest/gtest.h>

#include "tests/support/fake_clock.h"

namespace gw::plugins::aws_iot_core {
namespace {

Settings basic() {
  Settings s;
  s.host = "abc123-ats.iot.eu-west-1.amazonaws.com";
  s.client_id = "line3-gw";
  s.cert_file = "/etc/hostname";  // any readable file: make_profile only checks it can be read
  s.key_file = "/etc/hostname";
  return s;
}

TEST(AwsIotCoreTest, ConnectOptionsAreMutualTlsWithSni) {
  auto p = make_profile(basic());
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  testing::FakeClock clock;
  auto o = (*p)->connect_options(clock);
  ASSERT_TRUE(o.is_ok());
  EXPECT_EQ(o->host, "abc123-ats.iot.eu-west-1.amazonaws.com");  // the SNI and the name checked
  EXPECT_EQ(o->port, 8883);
  EXPECT_EQ(o->mqtt_version, 5);
  EXPECT_TRUE(o->tls.enabled);
  EXPECT_TRUE(o->tls.verify_server);
  EXPECT_EQ(o->tls.cert_file, "/etc/hostname");
  EXPECT_TRUE(o->tls.alpn.empty());
  EXPECT_FALSE(o->password.has_value());
  EXPECT_EQ(o->credentials_expire_at_ms, 0);
}

TEST(AwsIotCoreTest, Port443UsesAlpn) {
  auto s = basic();
  s.port = 443;
  EXPECT_NE(make_profile(s).status().message().find("alpn"), std::string::npos);
  s.alpn = true;
  auto p = make_profile(s);
  ASSERT_TRUE(p.is_ok());
  testing::FakeClock clock;
  auto o = (*p)->connect_options(clock);
  ASSERT_TRUE(o.is_ok());
  EXPECT_EQ(o->tls.alpn, std::vector<std::string>{"x-amzn-mqtt-ca"});
}

TEST(AwsIotCoreTest, LimitsAreAwsQuotas) {
  auto p = make_profile(basic());
  ASSERT_TRUE(p.is_ok());
  const auto l = (*p)->limits();
  EXPECT_EQ(l.max_payload_bytes, 131072u);
  EXPECT_EQ(l.max_topic_bytes, 256u);
  EXPECT_EQ(l.billing_unit_bytes, 5120u);
  EXPECT_EQ(l.max_inflight, 100u);
  EXPECT_EQ(l.max_publishes_per_s, 100);
  EXPECT_EQ(l.max_bytes_per_s, 524288);
  EXPECT_EQ(l.min_connect_interval, std::chrono::seconds(1));
  auto s = basic();
  s.max_publishes_per_s = 20;  // downwards: fine
  ASSERT_TRUE(make_profile(s).is_ok());
  EXPECT_EQ((*make_profile(s))->limits().max_publishes_per_s, 20);
  s.max_publishes_per_s = 200;  // above AWS's quota: refused
  EXPECT_FALSE(make_profile(s).is_ok());
}

TEST(AwsIotCoreTest, TopicRules) {
  EXPECT_TRUE(check_topic("dt/line3/temp").is_ok());
  EXPECT_TRUE(check_topic("a/b/c/d/e/f/g/h").is_ok());         // 7 slashes
  EXPECT_FALSE(check_topic("a/b/c/d/e/f/g/h/i").is_ok());      // 8 slashes
  EXPECT_TRUE(check_topic("$aws/rules/my_rule/a/b/c/d/e/f/g/h").is_ok());  // the prefix does not count
  EXPECT_FALSE(check_topic("$aws/rules/my_rule/a/b/c/d/e/f/g/h/i").is_ok());
  EXPECT_FALSE(check_topic("$aws/rules/my_rule").is_ok());
  EXPECT_FALSE(check_topic("$aws/rules//x").is_ok());
  EXPECT_TRUE(check_topic(std::string(256, 'x')).is_ok());
  EXPECT_FALSE(check_topic(std::string(257, 'x')).is_ok());
  EXPECT_TRUE(check_topic("$aws/rules/r/" + std::string(256, 'x')).is_ok());
  EXPECT_FALSE(check_topic("dt/+/x").is_ok());
  EXPECT_FALSE(check_topic("").is_ok());
}

TEST(AwsIotCoreTest, ShapesMetadataAsMqtt5PropertiesAndRefusesBadTopics) {
  auto p = make_profile(basic());
  ASSERT_TRUE(p.is_ok());
  uplink::OutgoingBatch b;
  b.topic = "dt/g1/temp";
  b.payload = "x";
  b.metadata.gateway_id = "g1";
  b.metadata.batch_seq = 5;
  b.metadata.count = 9;
  auto pub = (*p)->shape(b);
  ASSERT_TRUE(pub.is_ok());
  EXPECT_EQ(pub->qos, 1);
  EXPECT_FALSE(pub->retain);
  EXPECT_EQ(pub->content_type, "application/x-ndjson");
  const std::vector<UserProperty> expected = {
      {"content-encoding", "gzip"}, {"gateway-id", "g1"}, {"batch-seq", "5"}, {"count", "9"}};
  EXPECT_EQ(pub->user_properties, expected);
  b.topic = "a/b/c/d/e/f/g/h/i";
  EXPECT_EQ((*p)->shape(b).status().code(), StatusCode::kInvalidArgument);
  b.topic = "ok";
  b.payload.assign(128 * 1024 + 1, 'x');
  EXPECT_EQ((*p)->shape(b).status().code(), StatusCode::kInvalidArgument);

  auto v3 = basic();
  v3.mqtt_version = 4;
  b.payload = "x";
  auto pub3 = (*make_profile(v3))->shape(b);
  ASSERT_TRUE(pub3.is_ok());
  EXPECT_TRUE(pub3->user_properties.empty());
  EXPECT_FALSE(pub3->content_type.has_value());
}

TEST(AwsIotCoreTest, QuotaExceededIsThrottlingNotFailure) {
  auto p = make_profile(basic());
  ASSERT_TRUE(p.is_ok());
  uplink::Attempt a;
  a.outcome = uplink::Outcome::kRetry;
  a.reason_code = 0x97;
  EXPECT_TRUE((*p)->refine(a).throttled);
  a.reason_code = 0x80;
  EXPECT_FALSE((*p)->refine(a).throttled);
}

TEST(AwsIotCoreTest, RegistryChecksKeys) {
  uplink::Registry reg;
  register_profile(reg);
  EXPECT_EQ(reg.find("aws_iot_core")->max_publishes_per_s, 100);  // the quota the app checks limits: against
  EXPECT_EQ(reg.find("aws_iot_core")->max_bytes_per_s, 512 * 1024);
  auto ok = reg.create("aws_iot_core", {{"host", "h"},
                                        {"client_id", "c"},
                                        {"cert_file", "/etc/hostname"},
                                        {"key_file", "/etc/hostname"},
                                        {"port", "443"},
                                        {"alpn", "true"},
                                        {"mqtt_version", "3.1.1"},
                                        {"max_publishes_per_s", "50"}});
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_EQ((*ok)->limits().max_publishes_per_s, 50);
  EXPECT_FALSE(reg.create("aws_iot_core", {{"host", "h"}, {"client_id", "c"}}).is_ok());  // no certificate
  auto typo = reg.create("aws_iot_core", {{"host", "h"}, {"client_id", "c"}, {"cert_file", "/etc/hostname"},
                                          {"key_file", "/etc/hostname"}, {"alpm", "true"}});
  EXPECT_NE(typo.status().message().find("'alpm'"), std::string::npos);
}

}  // namespace
}  // namespace gw::plugins::aws_iot_core
