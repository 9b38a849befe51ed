// WakeBatch: wake-ups run at once outside a scope, in order at the end of
// the innermost scope inside one, and only on the thread that opened it.
#include "gateway/core/wake_batch.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace gw {
namespace {

TEST(WakeBatchTest, OutsideAScopeTheWakeUpRunsAtOnce) {
  int woken = 0;
  WakeBatch::defer_wake([&woken] { ++woken; });
  EXPECT_EQ(woken, 1);
}

TEST(WakeBatchTest, InsideAScopeWakeUpsRunInOrderWhenTheScopeEnds) {
  std::vector<std::string> log;
  {
    WakeBatch batch;
    WakeBatch::defer_wake([&log] { log.push_back("a"); });
    WakeBatch::defer_wake([&log] { log.push_back("b"); });
    EXPECT_TRUE(log.empty()) << "nothing is woken before the scope ends";
  }
  EXPECT_EQ(log, (std::vector<std::string>{"a", "b"}));
}

TEST(WakeBatchTest, NestedScopesWakeAtTheEndOfTheInnermost) {
  std::vector<std::string> log;
  {
    WakeBatch outer;
    WakeBatch::defer_wake([&log] { log.push_back("outer"); });
    {
      WakeBatch inner;
      WakeBatch::defer_wake([&log] { log.push_back("inner"); });
    }
    EXPECT_EQ(log, (std::vector<std::string>{"inner"}));
  }
  EXPECT_EQ(log, (std::vector<std::string>{"inner", "outer"}));
  // Both scopes are gone: back to waking at once.
  WakeBatch::defer_wake([&log] { log.push_back("after"); });
  EXPECT_EQ(log.back(), "after");
}

TEST(WakeBatchTest, AScopeDefersOnlyItsOwnThread) {
  int woken_elsewhere = 0;
  WakeBatch batch;
  std::thread other([&woken_elsewhere] {
    WakeBatch::defer_wake([&woken_elsewhere] { ++woken_elsewhere; });
  });
  other.join();
  EXPECT_EQ(woken_elsewhere, 1);
}

}  // namespace
}  // namespace gw
