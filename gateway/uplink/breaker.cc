#include "gateway/uplink/breaker.h"

#include <algorithm>

namespace gw::uplink {

std::string_view to_string(BreakerState s) {
  switch (s) {
    case BreakerState::kClosed: return "closed";
    case BreakerState::kOpen: return "open";
    case BreakerState::kHalfOpen: return "half_open";
  }
  return "?";
}

void CircuitBreaker::set(BreakerState s, TimePoint now) {
  if (s == state_) return;
  state_ = s;
  ++transitions_;
  probes_in_flight_ = 0;
  if (s == BreakerState::kOpen) {
    opened_at_ = now;
    ++times_opened_;
  }
  if (s == BreakerState::kClosed) {
    consecutive_failures_ = 0;
    window_.clear();
  }
}

bool CircuitBreaker::allow(TimePoint now) {
  if (state_ == BreakerState::kOpen && now >= reopens_at()) set(BreakerState::kHalfOpen, now);
  switch (state_) {
    case BreakerState::kClosed: return true;
    case BreakerState::kOpen: return false;
    case BreakerState::kHalfOpen:
      if (probes_in_flight_ >= std::max<uint32_t>(1, options_.half_open_probes)) return false;
      ++probes_in_flight_;
      return true;
  }
  return false;
}

bool CircuitBreaker::rate_exceeded() const {
  if (options_.failure_rate <= 0.0 || window_.size() < std::max<size_t>(1, options_.rate_min_calls)) return false;
  const auto failures = static_cast<double>(std::count(window_.begin(), window_.end(), true));
  return failures / static_cast<double>(window_.size()) >= options_.failure_rate;
}

void CircuitBreaker::on_success(TimePoint now) {
  if (state_ == BreakerState::kHalfOpen) {
    set(BreakerState::kClosed, now);
    return;
  }
  consecutive_failures_ = 0;
  window_.push_back(false);
  while (window_.size() > options_.rate_window) window_.pop_front();
}

void CircuitBreaker::on_failure(TimePoint now) {
  if (state_ == BreakerState::kHalfOpen) {
    set(BreakerState::kOpen, now);
    return;
  }
  if (state_ == BreakerState::kOpen) return;  // a late result of an attempt started before opening
  ++consecutive_failures_;
  window_.push_back(true);
  while (window_.size() > options_.rate_window) window_.pop_front();
  if ((options_.failure_threshold != 0 && consecutive_failures_ >= options_.failure_threshold) || rate_exceeded()) {
    set(BreakerState::kOpen, now);
  }
}

}  // namespace gw::uplink
