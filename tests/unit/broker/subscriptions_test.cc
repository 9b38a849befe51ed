#include "gateway/broker/subscriptions.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace gw::broker {
namespace {

std::vector<std::string> clients_matching(SubscriptionStore& s, std::string_view topic) {
  std::vector<SubscriptionMatch> out;
  s.match(topic, out);
  std::vector<std::string> ids;
  for (const auto& m : out) ids.emplace_back(m.client_id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

SubscriptionOptions qos(uint8_t q) {
  SubscriptionOptions o;
  o.qos = q;
  return o;
}

TEST(SubscriptionStoreTest, WorkedExampleFromTheHeader) {
  SubscriptionStore s;
  EXPECT_TRUE(s.subscribe("c1", "plant/+/temp", qos(1)));
  EXPECT_TRUE(s.subscribe("c2", "plant/#", qos(0)));
  EXPECT_TRUE(s.subscribe("c3", "plant/a/temp", qos(2)));
  EXPECT_EQ(clients_matching(s, "plant/a/temp"), (std::vector<std::string>{"c1", "c2", "c3"}));
  EXPECT_EQ(clients_matching(s, "plant/b/temp"), (std::vector<std::string>{"c1", "c2"}));
  EXPECT_EQ(clients_matching(s, "plant"), (std::vector<std::string>{"c2"}));  // '#' matches the parent
  EXPECT_EQ(clients_matching(s, "plant/a/temp/x"), (std::vector<std::string>{"c2"}));
  EXPECT_TRUE(clients_matching(s, "other/a/temp").empty());
  EXPECT_EQ(s.size(), 3u);
}

TEST(SubscriptionStoreTest, TableOfFiltersAgreesWithTopicMatches) {
  struct Case {
    const char* filter;
    const char* topic;
    bool match;
  };
  const Case cases[] = {
      {"#", "a", true},          {"#", "a/b/c", true},     {"#", "$SYS/x", false},  // §4.7.2
      {"+/x", "$SYS/x", false},  {"$SYS/#", "$SYS/x", true}, {"a/+", "a/", true},   // empty level
      {"a/+", "a", false},       {"+", "/", false},          {"+/+", "/", true},
      {"a/b", "a/b", true},      {"a/b", "a/b/c", false},    {"a/#", "a", true},
      {"/#", "/a", true},        {"+/#", "a", true},
  };
  for (const Case& c : cases) {
    SubscriptionStore s;
    s.subscribe("x", c.filter, qos(0));
    EXPECT_EQ(!clients_matching(s, c.topic).empty(), c.match) << c.filter << " vs " << c.topic;
  }
}

TEST(SubscriptionStoreTest, ResubscribeReplacesOptions) {
  SubscriptionStore s;
  EXPECT_TRUE(s.subscribe("c", "a/b", qos(0)));
  EXPECT_FALSE(s.subscribe("c", "a/b", qos(2)));
  std::vector<SubscriptionMatch> out;
  s.match("a/b", out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].options->qos, 2);
  EXPECT_EQ(s.size(), 1u);
}

TEST(SubscriptionStoreTest, UnsubscribeAndRemoveClientPrune) {
  SubscriptionStore s;
  s.subscribe("c1", "a/b/c", qos(0));
  s.subscribe("c1", "a/#", qos(0));
  s.subscribe("c2", "a/b/c", qos(0));
  EXPECT_TRUE(s.unsubscribe("c1", "a/b/c"));
  EXPECT_FALSE(s.unsubscribe("c1", "a/b/c"));
  EXPECT_FALSE(s.unsubscribe("c1", "never/subscribed"));
  EXPECT_EQ(clients_matching(s, "a/b/c"), (std::vector<std::string>{"c1", "c2"}));  // c1 via a/#
  s.remove_client("c1");
  EXPECT_EQ(clients_matching(s, "a/b/c"), (std::vector<std::string>{"c2"}));
  EXPECT_TRUE(s.filters_of("c1").empty());
  s.remove_client("c2");
  EXPECT_EQ(s.size(), 0u);
  EXPECT_TRUE(clients_matching(s, "a/b/c").empty());
}

TEST(SubscriptionStoreTest, SharedGroupDeliversToOneMemberInTurn) {
  SubscriptionStore s;
  s.subscribe("c4", "$share/g/plant/+/temp", qos(1));
  s.subscribe("c5", "$share/g/plant/+/temp", qos(0));
  s.subscribe("c1", "plant/+/temp", qos(1));
  std::vector<std::string> picked;
  for (int i = 0; i < 4; ++i) {
    auto ids = clients_matching(s, "plant/a/temp");
    ASSERT_EQ(ids.size(), 2u);
    EXPECT_EQ(ids[0], "c1");
    picked.push_back(ids[1]);
  }
  EXPECT_EQ(picked, (std::vector<std::string>{"c4", "c5", "c4", "c5"}));
  EXPECT_TRUE(s.unsubscribe("c4", "$share/g/plant/+/temp"));
  EXPECT_EQ(clients_matching(s, "plant/a/temp"), (std::vector<std::string>{"c1", "c5"}));
}

TEST(SubscriptionStoreTest, ParseSharedFilter) {
  auto p = parse_shared_filter("$share/grp/a/#");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->group, "grp");
  EXPECT_EQ(p->filter, "a/#");
  EXPECT_FALSE(parse_shared_filter("$share/grp"));
  EXPECT_FALSE(parse_shared_filter("$share//a"));
  EXPECT_FALSE(parse_shared_filter("$share/g+/a"));
  p = parse_shared_filter("a/b");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->group.empty());
}

}  // namespace
}  // namespace gw::broker
