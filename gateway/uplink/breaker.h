// CircuitBreaker: stops hammering a cloud that keeps failing. Closed (normal)
// -> open after `failure_threshold` consecutive failures, or when at least
// `rate_min_calls` of the last `rate_window` outcomes include a failure share
// of `failure_rate` or more -> half-open after `open_for`, where up to
// `half_open_probes` attempts are let through -> closed on a success, open
// again on a failure. While open, rows stay in the store: nothing is dropped.
// Throttling is not a failure here (the engine slows down instead).
//
// Time comes from the caller. Engine thread only; state() and counters are
// copied into EngineStats for other threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string_view>

namespace gw::uplink {

struct BreakerOptions {
  uint32_t failure_threshold = 5;         // consecutive failures that open it; 0 = never by count
  double failure_rate = 0.0;              // 0 = rate rule off; else e.g. 0.5
  size_t rate_window = 20;                // last N outcomes considered for the rate
  size_t rate_min_calls = 10;             // no rate verdict with fewer outcomes
  std::chrono::milliseconds open_for{30'000};
  uint32_t half_open_probes = 1;
};

enum class BreakerState : uint8_t { kClosed, kOpen, kHalfOpen };
std::string_view to_string(BreakerState s);

class CircuitBreaker {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit CircuitBreaker(BreakerOptions options = {}) : options_(options) {}

  // Whether an attempt may start at `now`. Moves open -> half-open once
  // open_for has passed; in half-open, counts the probe it allows.
  bool allow(TimePoint now);
  void on_success(TimePoint now);
  void on_failure(TimePoint now);

  BreakerState state() const { return state_; }
  // When an open breaker will let a probe through.
  TimePoint reopens_at() const { return opened_at_ + options_.open_for; }
  uint64_t transitions() const { return transitions_; }
  uint64_t times_opened() const { return times_opened_; }

 private:
  void set(BreakerState s, TimePoint now);
  bool rate_exceeded() const;

  BreakerOptions options_;
  BreakerState state_ = BreakerState::kClosed;
  uint32_t consecutive_failures_ = 0;
  uint32_t probes_in_flight_ = 0;
  std::deque<bool> window_;  // true = failure
  TimePoint opened_at_{};
  uint64_t transitions_ = 0;
  uint64_t times_opened_ = 0;
};

}  // namespace gw::uplink
