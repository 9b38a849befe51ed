#include "gateway/uplink/backoff.h"

#include <gtest/gtest.h>

#include "gateway/uplink/breaker.h"
#include "tests/support/fake_clock.h"

namespace gw::uplink {
namespace {

using std::chrono::milliseconds;

BackoffOptions opts() {
  BackoffOptions o;
  o.initial = milliseconds(100);
  o.max = milliseconds(5000);
  o.multiplier = 2.0;
  o.reset_after = milliseconds(10'000);
  o.seed = 42;
  return o;
}

TEST(BackoffTest, DelaysStayWithinTheGrowingCeiling) {
  testing::FakeClock clock;
  Backoff b(opts());
  const int64_t ceilings[] = {100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000};
  for (int64_t c : ceilings) {
    EXPECT_EQ(b.ceiling().count(), c);
    for (int i = 0; i < 1; ++i) {
      const auto d = b.on_failure(clock.now());
      EXPECT_GE(d.count(), 0);
      EXPECT_LE(d.count(), c);
    }
  }
  EXPECT_EQ(b.failures(), 9u);
}

TEST(BackoffTest, FullJitterSpreadsOverTheWholeRange) {
  testing::FakeClock clock;
  int64_t lo = 1 << 30, hi = 0;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    auto o = opts();
    o.seed = seed;
    Backoff b(o);
    for (int i = 0; i < 6; ++i) (void)b.on_failure(clock.now());
    const int64_t d = b.on_failure(clock.now()).count();  // ceiling 5000
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  EXPECT_LT(lo, 1000);
  EXPECT_GT(hi, 4000);
}

TEST(BackoffTest, SameSeedSameDelays) {
  testing::FakeClock clock;
  Backoff a(opts()), b(opts());
  for (int i = 0; i < 20; ++i) EXPECT_EQ(a.on_failure(clock.now()), b.on_failure(clock.now()));
}

TEST(BackoffTest, ResetsOnlyAfterAStablePeriod) {
  testing::FakeClock clock;
  Backoff b(opts());
  for (int i = 0; i < 5; ++i) (void)b.on_failure(clock.now());
  EXPECT_EQ(b.ceiling().count(), 3200);
  // Connected, but it drops again after 2 s: a flapping link keeps backing off.
  b.on_success(clock.now());
  clock.advance(milliseconds(2000));
  b.on_success(clock.now());
  (void)b.on_failure(clock.now());
  EXPECT_EQ(b.failures(), 6u);
  // Stable for 10 s: the next failure starts from `initial` again.
  b.on_success(clock.now());
  clock.advance(milliseconds(10'000));
  EXPECT_LE(b.on_failure(clock.now()).count(), 100);
  EXPECT_EQ(b.failures(), 1u);
  // A success observed after the period resets at once.
  b.on_success(clock.now());
  clock.advance(milliseconds(10'000));
  b.on_success(clock.now());
  EXPECT_EQ(b.failures(), 0u);
  b.on_failure(clock.now());
  b.reset();
  EXPECT_EQ(b.ceiling().count(), 100);
}

TEST(BreakerTest, OpensAfterConsecutiveFailuresAndProbesAfterCooldown) {
  testing::FakeClock clock;
  BreakerOptions o;
  o.failure_threshold = 3;
  o.open_for = milliseconds(1000);
  CircuitBreaker br(o);
  EXPECT_EQ(br.state(), BreakerState::kClosed);
  br.on_failure(clock.now());
  br.on_failure(clock.now());
  br.on_success(clock.now());  // resets the consecutive count
  br.on_failure(clock.now());
  br.on_failure(clock.now());
  EXPECT_TRUE(br.allow(clock.now()));
  br.on_failure(clock.now());
  EXPECT_EQ(br.state(), BreakerState::kOpen);
  EXPECT_FALSE(br.allow(clock.now()));
  clock.advance(milliseconds(999));
  EXPECT_FALSE(br.allow(clock.now()));
  clock.advance(milliseconds(1));
  EXPECT_TRUE(br.allow(clock.now()));  // the probe
  EXPECT_EQ(br.state(), BreakerState::kHalfOpen);
  EXPECT_FALSE(br.allow(clock.now()));  // only one probe
  br.on_failure(clock.now());
  EXPECT_EQ(br.state(), BreakerState::kOpen);
  clock.advance(milliseconds(1000));
  EXPECT_TRUE(br.allow(clock.now()));
  br.on_success(clock.now());
  EXPECT_EQ(br.state(), BreakerState::kClosed);
  EXPECT_EQ(br.times_opened(), 2u);
  EXPECT_EQ(br.transitions(), 5u);  // open, half, open, half, closed
}

TEST(BreakerTest, OpensOnFailureRate) {
  testing::FakeClock clock;
  BreakerOptions o;
  o.failure_threshold = 0;
  o.failure_rate = 0.5;
  o.rate_window = 10;
  o.rate_min_calls = 10;
  CircuitBreaker br(o);
  for (int i = 0; i < 9; ++i) {
    if (i % 2) {
      br.on_failure(clock.now());
    } else {
      br.on_success(clock.now());
    }
  }
  EXPECT_EQ(br.state(), BreakerState::kClosed);  // 4 of 9: too few calls anyway
  br.on_failure(clock.now());                     // 5 of 10
  EXPECT_EQ(br.state(), BreakerState::kOpen);
}

}  // namespace
}  // namespace gw::uplink
