// Backoff: exponential backoff with full jitter, for reconnects and retries.
// The n-th consecutive failure waits a uniformly random time in
// [0, min(max, initial * multiplier^(n-1))] ("full jitter": clients that
// failed together don't retry together). After the connection has been
// healthy for `reset_after`, the next failure starts again from `initial`
// (as mosquitto's bridge does), so a flapping link keeps backing off.
//
// Time comes from the caller (an injected Clock's now()); randomness from a
// seeded generator, so tests are deterministic. Engine thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

namespace gw::uplink {

struct BackoffOptions {
  std::chrono::milliseconds initial{500};
  std::chrono::milliseconds max{30'000};
  double multiplier = 2.0;
  std::chrono::milliseconds reset_after{60'000};  // healthy this long = forget past failures
  uint64_t seed = 0;                              // 0 = seed from std::random_device
};

class Backoff {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit Backoff(BackoffOptions options);

  // A failure at `now`: returns how long to wait before the next attempt.
  std::chrono::milliseconds on_failure(TimePoint now);
  // A success at `now` (connected, or a publish acknowledged). Starts the
  // healthy period that, once longer than reset_after, resets the backoff.
  void on_success(TimePoint now);
  // Forgets all failures now.
  void reset();

  // Consecutive failures counted so far (after any reset).
  uint32_t failures() const { return failures_; }
  // The upper bound of the next delay, before jitter.
  std::chrono::milliseconds ceiling() const;
  const BackoffOptions& options() const { return options_; }

 private:
  BackoffOptions options_;
  std::mt19937_64 rng_;
  uint32_t failures_ = 0;
  std::optional<TimePoint> healthy_since_;
};

}  // namespace gw::uplink
