#include "gateway/uplink/downlink.h"

#include <gtest/gtest.h>

namespace gw::uplink {
namespace {

TEST(DownlinkTest, TopicMatching) {
  struct Case {
    const char* filter;
    const char* topic;
    bool match;
  } cases[] = {
      {"cmd/#", "cmd/a/b", true},      {"cmd/#", "cmd", true},         {"cmd/+", "cmd/a", true},
      {"cmd/+", "cmd/a/b", false},     {"cmd/+/x", "cmd/a/x", true},   {"cmd/a", "cmd/b", false},
      {"#", "$aws/things/x", false},   {"+/x", "$sys/x", false},       {"$aws/#", "$aws/things/x", true},
      {"a/b", "a/b/c", false},         {"a/b/c", "a/b", false},        {"+", "", true},
  };
  for (const auto& c : cases) EXPECT_EQ(topic_matches(c.filter, c.topic), c.match) << c.filter << " " << c.topic;
}

TEST(DownlinkTest, MapsWithLevelsAndGatewayId) {
  std::vector<DownlinkRule> rules = {
      bind_gateway_id({"cmd/{gateway_id}/#", "local/cmd/{topic[2]}"}, "gw1"),
      {"devices/+/messages/devicebound", "c2d/{gateway_id}"},
      {"#", "all/{topic}"},
  };
  rules[1] = bind_gateway_id(rules[1], "gw1");
  for (const auto& r : rules) EXPECT_TRUE(validate(r).is_ok()) << r.from;
  EXPECT_EQ(map_downlink(rules, "cmd/gw1/valve"), "local/cmd/valve");
  EXPECT_EQ(map_downlink(rules, "cmd/gw1"), "local/cmd/");  // missing level: empty
  EXPECT_EQ(map_downlink(rules, "devices/d/messages/devicebound"), "c2d/gw1");
  EXPECT_EQ(map_downlink(rules, "other/x"), "all/other/x");
  rules.pop_back();
  EXPECT_EQ(map_downlink(rules, "cmd/gw2/valve"), std::nullopt);  // another gateway's commands
}

TEST(DownlinkTest, ValidatesRules) {
  EXPECT_FALSE(validate({"", "x"}).is_ok());
  EXPECT_FALSE(validate({"a/#/b", "x"}).is_ok());
  EXPECT_FALSE(validate({"a/b+", "x"}).is_ok());
  EXPECT_FALSE(validate({"a/#", ""}).is_ok());
  EXPECT_FALSE(validate({"a/#", "local/+"}).is_ok());
  EXPECT_FALSE(validate({"a/#", "local/{nope}"}).is_ok());
  EXPECT_FALSE(validate({"a/#", "local/{topic[x]}"}).is_ok());
  EXPECT_FALSE(validate({"a/#", "local/{topic"}).is_ok());
  EXPECT_TRUE(validate({"a/#", "local/{topic[0]}/{topic}"}).is_ok());
}

}  // namespace
}  // namespace gw::uplink
