#include "gateway/uplink/rate_limiter.h"

#include <gtest/gtest.h>

namespace gw::uplink {
namespace {

using std::chrono::milliseconds;
using TimePoint = std::chrono::steady_clock::time_point;

TimePoint at(int64_t ms) { return TimePoint(milliseconds(ms)); }

TEST(RateLimiterTest, AwsQuotaAllowsABurstOfOneSecondThenPacesAt100PerSecond) {
  RateLimiter r(100, 512 * 1024);
  int taken = 0;
  for (int i = 0; i < 150; ++i) taken += r.try_take(at(0), 1000) ? 1 : 0;
  EXPECT_EQ(taken, 100);  // the burst: one second of publishes
  EXPECT_FALSE(r.try_take(at(0), 1000));
  EXPECT_EQ(r.available_at(at(0), 1000), at(10) + std::chrono::microseconds(1));
  EXPECT_FALSE(r.try_take(at(9), 1000));
  EXPECT_TRUE(r.try_take(at(10) + std::chrono::microseconds(1), 1000));
  // Over 10 simulated seconds, at most burst + 100/s go out.
  int later = 0;
  for (int ms = 11; ms <= 10'010; ++ms) later += r.try_take(at(ms), 1000) ? 1 : 0;
  EXPECT_GE(later, 999);
  EXPECT_LE(later, 1001);
}

TEST(RateLimiterTest, BytesBucketLimitsLargePublishes) {
  RateLimiter r(100, 512 * 1024);
  const size_t big = 128 * 1024;
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(r.try_take(at(0), big));
  EXPECT_FALSE(r.try_take(at(0), big));  // 512 KiB spent, publish bucket still has 96
  EXPECT_EQ(r.available_at(at(0), big), at(250) + std::chrono::microseconds(1));
  EXPECT_TRUE(r.try_take(at(251), big));
}

TEST(RateLimiterTest, OversizedRequestWaitsForAFullBucketInsteadOfForever) {
  TokenBucket b(10, 10);
  EXPECT_TRUE(b.try_take(at(0), 25));  // full bucket: allowed, goes into debt
  EXPECT_FALSE(b.try_take(at(1000), 1));  // debt of 15, refilled 10: still -5
  EXPECT_TRUE(b.try_take(at(1600), 1));
}

TEST(RateLimiterTest, ThrottlingHalvesAndSuccessRecovers) {
  RateLimiter r(100, 1000);
  r.on_throttled(at(0));
  EXPECT_DOUBLE_EQ(r.factor(), 0.5);
  EXPECT_DOUBLE_EQ(r.publishes_per_s(), 50);
  EXPECT_DOUBLE_EQ(r.bytes_per_s(), 500);
  for (int i = 0; i < 10; ++i) r.on_throttled(at(0));
  EXPECT_DOUBLE_EQ(r.factor(), 1.0 / 16);  // floor: never stops entirely
  for (int i = 0; i < 100; ++i) r.on_success(at(0));
  EXPECT_DOUBLE_EQ(r.factor(), 1.0);
  EXPECT_DOUBLE_EQ(r.publishes_per_s(), 100);
}

TEST(RateLimiterTest, SlowedBucketPacesSlower) {
  RateLimiter r(100, 0);  // bytes unlimited
  while (r.try_take(at(0), 1)) {
  }
  r.on_throttled(at(0));  // 50/s
  EXPECT_EQ(r.available_at(at(0), 1), at(20) + std::chrono::microseconds(1));
}

TEST(RateLimiterTest, ZeroMeansUnlimited) {
  RateLimiter r(0, 0);
  for (int i = 0; i < 100'000; ++i) ASSERT_TRUE(r.try_take(at(0), 1'000'000));
  EXPECT_EQ(r.available_at(at(5), 1), at(5));
}

}  // namespace
}  // namespace gw::uplink
