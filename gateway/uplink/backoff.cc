#include "gateway/uplink/backoff.h"

#include <algorithm>
#include <cmath>

namespace gw::uplink {
namespace {

uint64_t seed_of(uint64_t seed) {
  if (seed != 0) return seed;
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

}  // namespace

Backoff::Backoff(BackoffOptions options) : options_(options), rng_(seed_of(options.seed)) {
  options_.initial = std::max(options_.initial, std::chrono::milliseconds(1));
  options_.max = std::max(options_.max, options_.initial);
  options_.multiplier = std::max(options_.multiplier, 1.0);
}

std::chrono::milliseconds Backoff::ceiling() const {
  // initial * multiplier^failures, computed in double and capped before it
  // can overflow.
  const double base = static_cast<double>(options_.initial.count());
  const double cap = static_cast<double>(options_.max.count());
  const double v = base * std::pow(options_.multiplier, static_cast<double>(std::min<uint32_t>(failures_, 64)));
  return std::chrono::milliseconds(static_cast<int64_t>(std::min(v, cap)));
}

std::chrono::milliseconds Backoff::on_failure(TimePoint now) {
  if (healthy_since_ && now - *healthy_since_ >= options_.reset_after) failures_ = 0;
  healthy_since_.reset();
  const int64_t top = ceiling().count();
  ++failures_;
  std::uniform_int_distribution<int64_t> dist(0, top);
  return std::chrono::milliseconds(dist(rng_));
}

void Backoff::on_success(TimePoint now) {
  if (!healthy_since_) healthy_since_ = now;
  if (now - *healthy_since_ >= options_.reset_after) failures_ = 0;
}

void Backoff::reset() {
  failures_ = 0;
  healthy_since_.reset();
}

}  // namespace gw::uplink
