// Clock: injected time, so timers and TTLs can run on fake time in tests.
// Implementations are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>

namespace gw {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time for timeouts, linger and backoff.
  virtual std::chrono::steady_clock::time_point now() const = 0;
  // Wall-clock milliseconds since the Unix epoch, for timestamps and TTLs.
  virtual int64_t wall_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  // Clock:
  std::chrono::steady_clock::time_point now() const override;
  int64_t wall_ms() const override;

  // A process-wide instance (stateless, so sharing it is safe).
  static const SystemClock& instance();
};

}  // namespace gw
