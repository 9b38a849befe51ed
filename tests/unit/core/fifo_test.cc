#include "gateway/core/fifo.h"

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <random>
#include <string>

namespace gw {
namespace {

TEST(Fifo, StartsEmpty) {
  Fifo<std::string> q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(q.begin(), q.end());
}

TEST(Fifo, FirstInFirstOutAcrossCompactions) {
  Fifo<int> q;
  int next_in = 0, next_out = 0;
  // Stays non-empty while far more than the compaction threshold passes through.
  for (int round = 0; round < 200; ++round) {
    for (int i = 0; i < 7; ++i) q.push_back(next_in++);
    for (int i = 0; i < 5; ++i) {
      ASSERT_EQ(q.front(), next_out++);
      q.pop_front();
    }
    ASSERT_EQ(q.size(), static_cast<size_t>(next_in - next_out));
  }
  int expect = next_out;
  for (int v : q) EXPECT_EQ(v, expect++);
  EXPECT_EQ(expect, next_in);
}

// Against std::deque, with random pushes and pops.
TEST(Fifo, MatchesDequeUnderRandomUse) {
  std::mt19937 rng(7);
  Fifo<std::string> q;
  std::deque<std::string> ref;
  for (int step = 0; step < 20000; ++step) {
    if (ref.empty() || rng() % 3 != 0) {
      std::string v = std::to_string(step) + std::string(rng() % 40, 'x');
      q.push_back(v);
      ref.push_back(v);
    } else {
      ASSERT_EQ(q.front(), ref.front());
      q.pop_front();
      ref.pop_front();
    }
    ASSERT_EQ(q.size(), ref.size());
  }
  size_t i = 0;
  for (const std::string& v : q) ASSERT_EQ(v, ref[i++]);
}

// A popped element is released at once, not when the vector is compacted.
TEST(Fifo, PopReleasesTheElement) {
  Fifo<std::shared_ptr<int>> q;
  auto a = std::make_shared<int>(1);
  q.push_back(a);
  q.push_back(std::make_shared<int>(2));
  EXPECT_EQ(a.use_count(), 2);
  q.pop_front();
  EXPECT_EQ(a.use_count(), 1);
  EXPECT_EQ(*q.front(), 2);
}

TEST(Fifo, MoveLeavesTheSourceEmptyAndUsable) {
  Fifo<int> a;
  for (int i = 0; i < 40; ++i) a.push_back(i);
  for (int i = 0; i < 20; ++i) a.pop_front();
  Fifo<int> b = std::move(a);
  EXPECT_EQ(b.size(), 20u);
  EXPECT_EQ(b.front(), 20);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): specified to be empty
  a.push_back(99);
  EXPECT_EQ(a.front(), 99);
  EXPECT_EQ(a.size(), 1u);
  Fifo<int> c;
  c.push_back(5);
  c = std::move(b);
  EXPECT_EQ(c.size(), 20u);
  EXPECT_EQ(c.front(), 20);
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
}

}  // namespace
}  // namespace gw
