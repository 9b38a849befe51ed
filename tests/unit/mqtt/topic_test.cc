// Topic names, filters and matching (MQTT 5.0 §4.7).
#include "gateway/mqtt/topic.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gw::mqtt {
namespace {

struct MatchCase {
  const char* filter;
  const char* topic;
  bool matches;
};

TEST(TopicTest, MatchingTable) {
  const std::vector<MatchCase> cases = {
      {"a/b", "a/b", true},
      {"a/b", "a/c", false},
      {"a/b", "a/b/c", false},
      {"a/b/c", "a/b", false},
      {"a/+", "a/b", true},
      {"a/+", "a/b/c", false},
      {"a/+", "a/", true},  // empty level matches '+'
      {"+/+", "/x", true},  // leading empty level
      {"+", "a", true},
      {"+", "a/b", false},
      {"+", "/a", false},  // two levels: "" and "a"
      {"a/+/c", "a/b/c", true},
      {"a/+/c", "a/b/d", false},
      {"#", "a", true},
      {"#", "a/b/c", true},
      {"#", "/", true},
      {"a/#", "a", true},  // '#' also matches the parent level (§4.7.1.2)
      {"a/#", "a/b", true},
      {"a/#", "a/b/c", true},
      {"a/#", "ab", false},
      {"a/#", "b/a", false},
      {"a/b/#", "a", false},
      {"+/#", "a", true},
      {"+/b/#", "a/b", true},
      {"$SYS/#", "$SYS/broker/load", true},
      {"#", "$SYS/broker/load", false},  // no wildcard match at the first level of '$' topics
      {"+/broker/load", "$SYS/broker/load", false},
      {"$SYS/+/load", "$SYS/broker/load", true},
      {"#", "$", false},
      {"a/$x", "a/$x", true},
      {"a/#", "a/$x", true},  // '$' only matters at the first level
      {"A/b", "a/b", false},  // case-sensitive
      {"a//b", "a//b", true},
      {"a/+/b", "a//b", true},
  };
  for (const MatchCase& c : cases) {
    EXPECT_EQ(topic_matches(c.filter, c.topic), c.matches)
        << "filter '" << c.filter << "' topic '" << c.topic << "'";
  }
}

TEST(TopicTest, ValidTopicNames) {
  for (const char* t : {"a", "a/b", "/", "a//b", "$SYS/x", "with space", "\xC3\xA9"}) {
    EXPECT_TRUE(check_topic_name(t).empty()) << t;
  }
}

TEST(TopicTest, InvalidTopicNames) {
  EXPECT_FALSE(check_topic_name("").empty());
  EXPECT_FALSE(check_topic_name("a/+").empty());
  EXPECT_FALSE(check_topic_name("a/#").empty());
  EXPECT_FALSE(check_topic_name("a+b").empty());  // wildcard characters anywhere
  EXPECT_FALSE(check_topic_name(std::string("a\0b", 3)).empty());
  EXPECT_FALSE(check_topic_name(std::string(65536, 'a')).empty());
  EXPECT_TRUE(check_topic_name(std::string(65535, 'a')).empty());
}

TEST(TopicTest, ValidTopicFilters) {
  for (const char* f :
       {"a", "#", "+", "a/#", "a/+", "+/+", "+/#", "a/+/b/#", "/", "/+", "$SYS/#"}) {
    EXPECT_TRUE(check_topic_filter(f).empty()) << f;
  }
}

TEST(TopicTest, InvalidTopicFilters) {
  for (const char* f : {"", "a#", "a/#/b", "#/a", "a+", "+a", "a/b+", "a/+b/c", "##"}) {
    EXPECT_FALSE(check_topic_filter(f).empty()) << f;
  }
  EXPECT_FALSE(check_topic_filter(std::string("a/\0", 3)).empty());
}

}  // namespace
}  // namespace gw::mqtt

namespace gw::mqtt {
namespace {

TEST(SplitTopicLevels, KeepsEmptyLevels) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(split_topic_levels("a/b/c"), (V{"a", "b", "c"}));
  EXPECT_EQ(split_topic_levels("a//b/"), (V{"a", "", "b", ""}));
  EXPECT_EQ(split_topic_levels("/"), (V{"", ""}));
  EXPECT_EQ(split_topic_levels("#"), (V{"#"}));
}

}  // namespace
}  // namespace gw::mqtt
