// The watchdog's judgement on hand-driven time: a progress counter (the io
// loop's ticks, an uplink engine's heartbeat) that stops moving for longer
// than stall_after is stuck; moving again, or not being watched, is not.
#include <gtest/gtest.h>

#include "gateway/app/ops.h"

namespace gw::app {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

TEST(OpsStallDetector, ACounterThatStopsMovingIsStuckOnlyAfterStallAfter) {
  StallDetector d(10s);
  Steady::time_point t{1000s};
  EXPECT_TRUE(d.observe("uplink cloud", 5, t)) << "the first sighting is progress";
  t += 10s;
  EXPECT_TRUE(d.observe("uplink cloud", 5, t)) << "exactly stall_after: not yet";
  EXPECT_EQ(d.unchanged_for("uplink cloud", t), 10s);
  t += 1ms;
  EXPECT_FALSE(d.observe("uplink cloud", 5, t));
  t += 5s;
  EXPECT_FALSE(d.observe("uplink cloud", 5, t)) << "stays stuck while the counter stands";
  EXPECT_EQ(d.unchanged_for("uplink cloud", t), 15001ms);
  EXPECT_TRUE(d.observe("uplink cloud", 6, t)) << "one beat and it is alive again";
  EXPECT_EQ(d.unchanged_for("uplink cloud", t), 0ms);
}

TEST(OpsStallDetector, CountersAreJudgedApart) {
  StallDetector d(2s);
  Steady::time_point t{0s};
  uint64_t io_ticks = 0;
  uint64_t beats = 100;
  d.observe("io", io_ticks, t);
  d.observe("uplink a", beats, t);
  // The io loop keeps ticking; the uplink's engine hangs.
  for (int i = 0; i < 3; ++i) {
    t += 1s;
    EXPECT_TRUE(d.observe("io", ++io_ticks, t));
  }
  EXPECT_FALSE(d.observe("uplink a", beats, t));
  EXPECT_TRUE(d.observe("io", ++io_ticks, t));
}

TEST(OpsStallDetector, ForgottenCountersStartAfresh) {
  StallDetector d(1s);
  Steady::time_point t{0s};
  d.observe("uplink a", 7, t);
  t += 5s;
  d.forget("uplink a");  // the engine stopped; when it runs again it gets a fresh start
  EXPECT_EQ(d.unchanged_for("uplink a", t), 0ms);
  EXPECT_TRUE(d.observe("uplink a", 7, t));
  t += 2s;
  EXPECT_FALSE(d.observe("uplink a", 7, t));
}

}  // namespace
}  // namespace gw::app
