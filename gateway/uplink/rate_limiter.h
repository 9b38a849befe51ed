// RateLimiter: token buckets for one cloud connection (publishes/s and
// bytes/s, e.g. AWS IoT Core's 100 publishes/s and 512 KiB/s), with
// multiplicative slow-down when the cloud says "too fast" (PUBACK 0x97) and
// additive recovery on each success (AIMD), so a throttling answer slows the
// uplink instead of tripping its circuit breaker.
//
// Buckets hold up to one second of tokens (the burst). Time comes from the
// caller (fake time in tests). Engine thread only; not thread-safe.
#pragma once

#include <chrono>
#include <cstddef>

namespace gw::uplink {

class TokenBucket {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // `rate` tokens per second, up to `burst` stored; rate 0 = unlimited.
  TokenBucket(double rate, double burst);

  // Takes `n` tokens if available now and returns true; else takes none.
  // A request larger than the burst is allowed once the bucket is full, so
  // one oversized publish is never stuck forever.
  bool try_take(TimePoint now, double n);
  // When `n` tokens will be available (now, if they are).
  TimePoint available_at(TimePoint now, double n);
  // Changes the rate (keeps the tokens stored).
  void set_rate(TimePoint now, double rate);
  double rate() const { return rate_; }
  bool unlimited() const { return rate_ <= 0; }

 private:
  void refill(TimePoint now);

  double rate_;
  double burst_;
  double tokens_;
  TimePoint last_{};
  bool started_ = false;
};

class RateLimiter {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // Either rate 0 = that bucket is unlimited.
  RateLimiter(double publishes_per_s, double bytes_per_s);

  // Takes one publish of `bytes` if both buckets allow it now.
  bool try_take(TimePoint now, size_t bytes);
  // Earliest time a publish of `bytes` could be taken.
  TimePoint available_at(TimePoint now, size_t bytes);

  // The cloud throttled us: halve the rates (down to 1/16 of the configured).
  void on_throttled(TimePoint now);
  // A publish was acknowledged: recover 1/16 of the configured rate.
  void on_success(TimePoint now);
  // No bucket configured: throttling answers cannot slow anything here.
  bool unlimited() const { return max_publishes_ <= 0 && max_bytes_ <= 0; }
  // Current fraction of the configured rates (1 = full speed).
  double factor() const { return factor_; }
  // Throttled down to the lowest rate (1/16): on_throttled cannot slow more.
  bool at_floor() const;
  double publishes_per_s() const { return publishes_.rate(); }
  double bytes_per_s() const { return bytes_.rate(); }

 private:
  void apply(TimePoint now);

  const double max_publishes_;
  const double max_bytes_;
  double factor_ = 1.0;
  TokenBucket publishes_;
  TokenBucket bytes_;
};

}  // namespace gw::uplink
