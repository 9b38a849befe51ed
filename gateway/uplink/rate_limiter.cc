#include "gateway/uplink/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace gw::uplink {
namespace {

constexpr double kMinFactor = 1.0 / 16;
constexpr double kRecoverStep = 1.0 / 16;

}  // namespace

TokenBucket::TokenBucket(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}

void TokenBucket::refill(TimePoint now) {
  if (!started_) {
    started_ = true;
    last_ = now;
    return;
  }
  if (now <= last_) return;
  const double secs = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min(burst_, tokens_ + secs * rate_);
  last_ = now;
}

bool TokenBucket::try_take(TimePoint now, double n) {
  if (unlimited()) return true;
  refill(now);
  // Oversized: wait for a full bucket, then go into debt.
  const double need = std::min(n, burst_);
  if (tokens_ + 1e-9 < need) return false;
  tokens_ -= n;
  return true;
}

TokenBucket::TimePoint TokenBucket::available_at(TimePoint now, double n) {
  if (unlimited()) return now;
  refill(now);
  const double need = std::min(n, burst_);
  if (tokens_ + 1e-9 >= need) return now;
  const double secs = (need - tokens_) / rate_;
  return now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                   std::chrono::duration<double>(secs)) +
         std::chrono::microseconds(1);
}

void TokenBucket::set_rate(TimePoint now, double rate) {
  refill(now);
  rate_ = rate;
}

RateLimiter::RateLimiter(double publishes_per_s, double bytes_per_s)
    : max_publishes_(publishes_per_s),
      max_bytes_(bytes_per_s),
      publishes_(publishes_per_s, publishes_per_s),
      bytes_(bytes_per_s, bytes_per_s) {}

bool RateLimiter::try_take(TimePoint now, size_t bytes) {
  if (publishes_.available_at(now, 1) > now || bytes_.available_at(now, static_cast<double>(bytes)) > now) {
    return false;
  }
  (void)publishes_.try_take(now, 1);
  (void)bytes_.try_take(now, static_cast<double>(bytes));
  return true;
}

RateLimiter::TimePoint RateLimiter::available_at(TimePoint now, size_t bytes) {
  return std::max(publishes_.available_at(now, 1), bytes_.available_at(now, static_cast<double>(bytes)));
}

void RateLimiter::apply(TimePoint now) {
  publishes_.set_rate(now, max_publishes_ * factor_);
  bytes_.set_rate(now, max_bytes_ * factor_);
}

void RateLimiter::on_throttled(TimePoint now) {
  factor_ = std::max(kMinFactor, factor_ / 2);
  apply(now);
}

bool RateLimiter::at_floor() const { return factor_ <= kMinFactor; }

void RateLimiter::on_success(TimePoint now) {
  if (factor_ >= 1.0) return;
  factor_ = std::min(1.0, factor_ + kRecoverStep);
  apply(now);
}

}  // namespace gw::uplink
