// TopicTrie against the reference matcher (mqtt::topic_matches): for every
// filter x topic pair of a table that covers '+', '#', the parent-level rule,
// empty levels and '$' topics (valid topic names only) the two must agree,
// and hits must name (route, filter).
#include "gateway/rules/internal/topic_trie.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "gateway/mqtt/topic.h"

namespace gw::rules::internal {
namespace {

using Hits = std::vector<TopicTrie::Hit>;

const std::vector<std::string> kFilters = {
    "#",       "+",         "a",       "a/#",      "a/+",       "a/b",      "a/b/c",   "+/b",  "+/+",
    "a/+/c",   "+/#",       "a/b/#",   "/#",       "+/",        "a//c",     "a/+/+/#", "$SYS/#", "$SYS/+",
    "b/#",     "a/b/c/d/e", "/",       "+/+/+",    "a/b/+/d/#", "$share",   "",
};
const std::vector<std::string> kTopics = {
    "a", "a/b", "a/b/c", "a/x/c", "a//c", "/", "/a", "a/", "b", "b/c/d", "$SYS", "$SYS/x", "$SYS/x/y",
    "a/b/c/d/e", "a/b/x/d", "a/b/x/d/e/f", "x/y/z", "$share",
};

TEST(TopicTrie, AgreesWithTheReferenceMatcherOnEveryPair) {
  TopicTrie trie;
  for (size_t f = 0; f < kFilters.size(); ++f) {
    if (kFilters[f].empty()) continue;  // not a valid filter
    ASSERT_EQ(mqtt::check_topic_filter(kFilters[f]), "") << kFilters[f];
    trie.add(kFilters[f], static_cast<uint32_t>(f), 0);
  }
  trie.finish();
  for (const auto& topic : kTopics) {
    Hits hits;
    trie.match(topic, hits);
    std::sort(hits.begin(), hits.end());
    Hits expected;
    for (size_t f = 0; f < kFilters.size(); ++f) {
      if (!kFilters[f].empty() && mqtt::topic_matches(kFilters[f], topic)) {
        expected.emplace_back(static_cast<uint32_t>(f), 0);
      }
    }
    EXPECT_EQ(hits, expected) << "topic '" << topic << "'";
  }
}

TEST(TopicTrie, HitsNameRouteAndFilterAndAppend) {
  TopicTrie trie;
  trie.add("plant/+/+/alarm/#", 0, 0);  // the header's worked example
  trie.add("legacy/alarm", 0, 1);
  trie.add("plant/#", 1, 0);
  trie.add("+/status", 2, 0);
  trie.add("plant/#", 3, 2);            // a shared filter keeps both owners
  trie.finish();
  Hits hits = {{9, 9}};                 // match() appends
  trie.match("plant/s1/l2/alarm/hot", hits);
  std::sort(hits.begin(), hits.end());
  EXPECT_EQ(hits, (Hits{{0, 0}, {1, 0}, {3, 2}, {9, 9}}));
  hits.clear();
  trie.match("plant", hits);
  std::sort(hits.begin(), hits.end());
  EXPECT_EQ(hits, (Hits{{1, 0}, {3, 2}}));
  hits.clear();
  trie.match("legacy/alarm", hits);
  EXPECT_EQ(hits, (Hits{{0, 1}}));
  hits.clear();
  trie.match("plant/status", hits);
  std::sort(hits.begin(), hits.end());
  EXPECT_EQ(hits, (Hits{{1, 0}, {2, 0}, {3, 2}}));
  hits.clear();
  trie.match("$x/status", hits);  // '+' at the first level skips '$' topics
  EXPECT_TRUE(hits.empty());
}

}  // namespace
}  // namespace gw::rules::internal
