// Ops: what an operator sees of a running Gateway. Fills the telemetry
// registry from the modules' stats snapshots (telemetry itself knows no other
// module), judges health for /healthz, and runs the supervisor thread that
// checks the io loop, the store writer and the uplink engines are alive and
// pings the systemd watchdog.
//
// Threads: Supervisor owns one thread ("gw-supervisor"), started and stopped
// by the main thread. Health::check() and the collectors are thread-safe and
// run on the HTTP thread. The Gateway is borrowed and must outlive them.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "gateway/app/gateway.h"
#include "gateway/telemetry/http_server.h"
#include "gateway/telemetry/metrics.h"

namespace gw::app {

// Registers every edge_gateway_* metric (README "Metrics" lists them).
void register_metrics(telemetry::Registry& registry, const Gateway& gateway, const Clock& clock);

// Health: OK when every listener is bound, the store has no sticky error, and
// no uplink has its circuit breaker open or has been disconnected for longer
// than `disconnected_grace`.
class Health {
 public:
  Health(const Gateway& gateway, const Clock& clock, std::chrono::milliseconds disconnected_grace);
  // Records when each uplink was first seen disconnected. The supervisor
  // calls it every second so the grace is measured even without scrapes.
  void update();
  // {"status":"ok"|"unhealthy","reasons":[...],"uplinks":{...}}.
  telemetry::HealthReport check();

 private:
  const Gateway& gateway_;
  const Clock& clock_;
  const std::chrono::milliseconds grace_;
  std::mutex mu_;
  std::map<std::string, std::chrono::steady_clock::time_point> disconnected_since_;  // mu_
};

// Progress counters by name (the io loop's ticks, an uplink's heartbeat): one
// that has not changed for longer than `stall_after` is stuck. Time is passed
// in, so tests drive it by hand. Not thread-safe: the supervisor thread owns it.
class StallDetector {
 public:
  explicit StallDetector(std::chrono::milliseconds stall_after) : stall_after_(stall_after) {}
  // Records `counter` of `name` at `now`. Returns false when it has not
  // changed for longer than stall_after (the first sighting always counts
  // as a change).
  bool observe(const std::string& name, uint64_t counter, std::chrono::steady_clock::time_point now);
  // How long `name` has not moved as of `now` (0 for an unknown name).
  std::chrono::milliseconds unchanged_for(const std::string& name, std::chrono::steady_clock::time_point now) const;
  // Stops watching `name` (a component that is not running).
  void forget(const std::string& name) { seen_.erase(name); }

 private:
  struct Seen {
    uint64_t counter = 0;
    std::chrono::steady_clock::time_point changed_at;
  };
  const std::chrono::milliseconds stall_after_;
  std::map<std::string, Seen> seen_;
};

// Every `interval`: probes the store writer (an empty append must commit),
// checks the broker's io loop ticked and every running uplink engine's
// heartbeat moved, updates `health`, and sends systemd WATCHDOG=1 only while
// all of them are alive, so systemd restarts a hung gateway.
class Supervisor {
 public:
  Supervisor(const Gateway& gateway, Health& health, std::chrono::milliseconds interval,
             std::chrono::milliseconds stall_after);
  ~Supervisor();  // stops
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // The systemd watchdog interval when WatchdogSec= is set (sd_notify.h), else 0.
  static std::chrono::milliseconds systemd_watchdog_interval();

 private:
  void run();
  bool alive(std::chrono::steady_clock::time_point now);

  const Gateway& gateway_;
  Health& health_;
  const std::chrono::milliseconds interval_;
  const std::chrono::milliseconds stall_after_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // mu_
  // Supervisor thread only:
  StallDetector stalls_;
  std::chrono::steady_clock::time_point probe_sent_at_{};
  std::shared_ptr<std::atomic<bool>> probe_done_;
  bool reported_stall_ = false;
  std::thread thread_;
};

}  // namespace gw::app
