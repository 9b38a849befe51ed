// FakeClock: a Clock tests move by hand. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>

#include "gateway/core/clock.h"

namespace gw::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t wall_ms = 1'700'000'000'000) : wall_ms_(wall_ms) {}
  // Clock:
  std::chrono::steady_clock::time_point now() const override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(mono_ms_.load()));
  }
  int64_t wall_ms() const override { return wall_ms_.load(); }

  void advance(std::chrono::milliseconds d) {
    mono_ms_ += d.count();
    wall_ms_ += d.count();
  }

 private:
  std::atomic<int64_t> mono_ms_{1'000'000};
  std::atomic<int64_t> wall_ms_;
};

}  // namespace gw::testing
