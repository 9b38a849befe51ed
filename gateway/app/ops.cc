#include "gateway/app/ops.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string_view>

#include "gateway/app/sd_notify.h"
#include "gateway/core/log.h"
#include "gateway/core/proc_io.h"
#include "gateway/telemetry/logging.h"

namespace gw::app {
namespace {
// This module's logger (core/log.h).
spdlog::logger& logger() { return log::get(log::Module::kApp); }

using telemetry::Exposition;
using telemetry::Labels;
using Steady = std::chrono::steady_clock;

double file_bytes(const std::filesystem::path& p) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(p, ec);
  return ec ? 0.0 : static_cast<double>(n);
}

// "write_bytes: N" from /proc/self/io: what this process made the kernel
// write to storage (SQLite pages, WAL, checkpoints). 0 when unreadable.
double proc_write_bytes() { return static_cast<double>(io_counter(IoScope::kProcess, "write_bytes")); }

double resident_bytes() {
  std::ifstream in("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  if (!(in >> size >> resident)) return 0;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

void broker_metrics(Exposition& out, const broker::BrokerStats& b) {
  out.gauge("edge_gateway_connections", "Device connections open now.", static_cast<double>(b.connections_current));
  out.counter("edge_gateway_connections_accepted_total", "Device sockets accepted.",
              static_cast<double>(b.connections_total));
  out.counter("edge_gateway_connections_rejected_total", "Device sockets closed at once: listener max_connections.",
              static_cast<double>(b.connections_rejected));
  for (int q = 0; q < 3; ++q) {
    out.counter("edge_gateway_messages_in_total", "PUBLISH packets received from devices, by QoS.",
                static_cast<double>(b.messages_in[q]), {{"qos", std::to_string(q)}});
  }
  out.counter("edge_gateway_bytes_in_total", "Bytes received from devices.", static_cast<double>(b.bytes_in));
  out.counter("edge_gateway_local_messages_out_total", "PUBLISH packets sent to local subscribers.",
              static_cast<double>(b.messages_out));
  out.counter("edge_gateway_local_bytes_out_total", "Bytes sent to local subscribers.",
              static_cast<double>(b.bytes_out));
  out.counter("edge_gateway_local_messages_dropped_total",
              "Messages for local subscribers dropped: queue full or too large for the client.",
              static_cast<double>(b.dropped_outbound));
  out.counter("edge_gateway_ingest_refused_total",
              "Device messages refused without a positive ack (store backpressure, full or failed).",
              static_cast<double>(b.ingest_refused));
  out.counter("edge_gateway_protocol_errors_total", "Connections closed for malformed or illegal packets.",
              static_cast<double>(b.protocol_errors));
  out.gauge("edge_gateway_retained_messages", "Retained messages held.", static_cast<double>(b.retained_messages));
  out.gauge("edge_gateway_subscriptions", "Subscriptions over all sessions.", static_cast<double>(b.subscriptions));
}

void ingest_metrics(Exposition& out, const Gateway& gw) {
  const auto& c = gw.ingest_counters();
  // Every configured route and reason appears, at 0 until it counts.
  std::map<std::string, uint64_t> routed;
  for (const auto& r : gw.config().routes) routed[r.name] = 0;
  for (const auto& [route, n] : c.routed.snapshot()) routed[route] = n;
  for (const auto& [route, n] : routed) {
    out.counter("edge_gateway_messages_routed_total", "Deliveries stored for an uplink, by route.",
                static_cast<double>(n), {{"route", route}});
  }
  std::map<std::string, uint64_t> dropped{{"no_route", 0}, {"route_drop", 0}, {"quota", 0}, {"store_refused", 0}};
  for (const auto& [reason, n] : c.dropped.snapshot()) dropped[reason] = n;
  // Counted by the broker and the store themselves.
  const broker::BrokerStats b = gw.broker().stats();
  const store::StoreStats st = gw.store().stats();
  dropped["acl"] = b.publish_denied;
  dropped["malformed"] = b.protocol_errors;
  dropped["ttl"] = st.rows_expired;
  dropped["evicted"] = st.rows_evicted;
  for (const auto& [reason, n] : dropped) {
    out.counter("edge_gateway_messages_dropped_total",
                "Messages that will not reach the cloud, by reason. Not stored: no_route (default drop), "
                "route_drop, quota (store full: max_bytes or min_free_disk; MQTT 5 0x97), store_refused "
                "(backpressure or a failed commit), acl (PUBLISH denied), malformed (a bad packet closed the "
                "connection). Removed from the queue unsent, per delivery: ttl (expired), evicted (on_full: evict).",
                static_cast<double>(n), {{"reason", reason}});
  }
}

void store_metrics(Exposition& out, const Gateway& gw, const Clock& clock) {
  const store::StoreStats s = gw.store().stats();
  out.gauge("edge_gateway_store_up", "1 while the store accepts writes; 0 after a failed commit (sticky error).",
            gw.store().health().is_ok() ? 1 : 0);
  out.counter("edge_gateway_store_commits_total", "Group-commit transactions committed.", static_cast<double>(s.commits));
  out.counter("edge_gateway_store_failed_commits_total", "Group-commit transactions that failed.",
              static_cast<double>(s.failed_commits));
  out.counter("edge_gateway_store_appends_total", "Messages (appends) committed.", static_cast<double>(s.appends));
  out.counter("edge_gateway_store_rows_appended_total", "Rows (one per delivery) committed.",
              static_cast<double>(s.rows_appended));
  out.counter("edge_gateway_store_rows_deleted_total", "Rows deleted after a cloud acknowledgement.",
              static_cast<double>(s.rows_deleted));
  out.counter("edge_gateway_store_appends_rejected_total", "Appends refused: backpressure or sticky error.",
              static_cast<double>(s.rejected_appends));
  out.gauge("edge_gateway_store_group_size", "Appends in the most recent committed group.",
            static_cast<double>(s.last_group_appends));
  out.gauge("edge_gateway_store_group_size_max", "Largest group committed since start.",
            static_cast<double>(s.max_group_appends));
  out.counter("edge_gateway_store_commit_seconds_total", "Time spent inside group-commit transactions.",
              static_cast<double>(s.commit_ns_total) / 1e9);
  out.histogram("edge_gateway_store_commit_latency_seconds",
                "From a message's append to its durable group commit (the device's ack waits this long).",
                gw.ingest_counters().commit_latency.snapshot());
  const std::filesystem::path db = gw.config().store.path;
  out.gauge("edge_gateway_store_file_bytes", "Size of the queue database and its WAL on disk.",
            file_bytes(db) + file_bytes(db.string() + "-wal"));
  out.counter("edge_gateway_disk_written_bytes_total",
              "Bytes this process caused to be written to storage (/proc/self/io write_bytes).", proc_write_bytes());
  const int64_t now_ms = clock.wall_ms();
  auto age_s = [now_ms](int64_t received_at_ms) {
    return static_cast<double>(std::max<int64_t>(0, now_ms - received_at_ms)) / 1000.0;
  };
  for (const auto& e : gw.engines()) {
    const std::string& name = e->options().name;
    auto depth = gw.store().depth(name);
    int64_t rows = 0;
    std::optional<int64_t> oldest;
    if (depth.is_ok()) {
      for (const auto& d : *depth) {
        rows += d.rows;
        oldest = std::min(oldest.value_or(d.oldest_received_at_ms), d.oldest_received_at_ms);
      }
    }
    out.gauge("edge_gateway_store_rows", "Rows queued for an uplink (leased or not).", static_cast<double>(rows),
              {{"uplink", name}});
    out.gauge("edge_gateway_store_oldest_age_seconds",
              "Age of the oldest row queued for an uplink (since the device sent it); 0 when none.",
              oldest ? age_s(*oldest) : 0, {{"uplink", name}});
    if (!depth.is_ok()) continue;
    for (const auto& d : *depth) {
      const Labels l{{"uplink", name}, {"priority", std::to_string(d.priority)}};
      out.gauge("edge_gateway_store_priority_rows", "Rows queued for an uplink at one priority (only those with rows).",
                static_cast<double>(d.rows), l);
      out.gauge("edge_gateway_store_priority_oldest_age_seconds",
                "Age of the oldest row queued for an uplink at one priority (only those with rows).",
                age_s(d.oldest_received_at_ms), l);
    }
  }
}

void uplink_metrics(Exposition& out, const Gateway& gw) {
  for (size_t i = 0; i < gw.engines().size(); ++i) {
    const auto& e = gw.engines()[i];
    const uplink::EngineStats s = e->stats();
    const Labels l{{"uplink", e->options().name}};
    out.histogram("edge_gateway_uplink_publish_latency_seconds",
                  "From publishing a batch to the cloud's PUBACK, for delivered batches.",
                  gw.publish_latency(i).snapshot(), l);
    if (s.credentials_expire_at_ms > 0) {
      out.gauge("edge_gateway_uplink_token_expiry_timestamp_seconds",
                "When the credentials of the current connection expire (Azure IoT Hub SAS token), seconds since "
                "the Unix epoch; renewed at 80% of their lifetime. Only for uplinks whose credentials expire.",
                static_cast<double>(s.credentials_expire_at_ms) / 1000.0, l);
    }
    out.counter("edge_gateway_uplink_credential_renewals_total", "Reconnects made to renew expiring credentials.",
                static_cast<double>(s.credential_renewals), l);
    out.counter("edge_gateway_uplink_rate_limit_waits_total",
                "Times a ready batch waited for the cloud's token buckets (publishes/s, bytes/s).",
                static_cast<double>(s.rate_limit_waits), l);
    out.gauge("edge_gateway_uplink_rate_factor",
              "Fraction of the cloud's rate quota in use now (halved on throttling, recovers on acks).",
              s.rate_factor, l);
    out.gauge("edge_gateway_uplink_connected", "1 while the uplink is connected to its cloud.", s.connected ? 1 : 0, l);
    for (const auto st : {uplink::BreakerState::kClosed, uplink::BreakerState::kOpen, uplink::BreakerState::kHalfOpen}) {
      Labels ls = l;
      ls.emplace_back("state", std::string(uplink::to_string(st)));
      out.gauge("edge_gateway_uplink_breaker_state", "Circuit breaker state: 1 for the current state.",
                s.breaker == st ? 1 : 0, std::move(ls));
    }
    out.counter("edge_gateway_uplink_breaker_transitions_total", "Circuit breaker state changes.",
                static_cast<double>(s.breaker_transitions), l);
    out.counter("edge_gateway_uplink_batches_sent_total", "Batches acknowledged by the cloud.",
                static_cast<double>(s.batches_sent), l);
    out.counter("edge_gateway_uplink_messages_sent_total", "Messages in batches acknowledged by the cloud.",
                static_cast<double>(s.messages_sent), l);
    out.counter("edge_gateway_uplink_bytes_sent_total", "Compressed batch payload bytes acknowledged by the cloud.",
                static_cast<double>(s.bytes_sent), l);
    out.counter("edge_gateway_uplink_raw_bytes_sent_total", "Batch payload bytes before compression.",
                static_cast<double>(s.raw_bytes_sent), l);
    out.gauge("edge_gateway_uplink_compression_ratio", "Raw over compressed bytes sent since start (1 before any).",
              s.bytes_sent == 0 ? 1.0 : static_cast<double>(s.raw_bytes_sent) / static_cast<double>(s.bytes_sent), l);
    out.counter("edge_gateway_uplink_retries_total", "Batches released for a retry.",
                static_cast<double>(s.publish_retries), l);
    out.counter("edge_gateway_uplink_throttled_total", "Retries the cloud asked for by throttling.",
                static_cast<double>(s.throttled), l);
    out.counter("edge_gateway_uplink_rejected_batches_total", "Batches refused by the cloud (split and retried).",
                static_cast<double>(s.rejected_batches), l);
    out.counter("edge_gateway_uplink_messages_dropped_total",
                "Messages never sendable: too large alone, or refused alone.", static_cast<double>(s.dropped_messages),
                l);
    out.counter("edge_gateway_uplink_connects_total", "Successful connections (the first and every reconnect).",
                static_cast<double>(s.connects), l);
    out.counter("edge_gateway_uplink_connect_failures_total", "Failed connection attempts.",
                static_cast<double>(s.connect_failures), l);
    out.gauge("edge_gateway_uplink_inflight_batches", "Batches awaiting the cloud's PUBACK.",
              static_cast<double>(s.inflight_batches), l);
    out.gauge("edge_gateway_uplink_last_batch_seq", "Last batch sequence acknowledged.",
              static_cast<double>(s.last_batch_seq), l);
  }
}

}  // namespace

void register_metrics(telemetry::Registry& registry, const Gateway& gateway, const Clock& clock) {
  const int64_t started_ms = clock.wall_ms();
  const Steady::time_point started = clock.now();
  registry.add([&gateway, &clock, started, started_ms](Exposition& out) {
    out.gauge("edge_gateway_build_info", "Version of the running binary.", 1,
              {{"version", GW_VERSION}, {"gateway_id", gateway.config().gateway.id}});
    out.gauge("edge_gateway_start_time_seconds", "Start time, seconds since the Unix epoch.",
              static_cast<double>(started_ms) / 1000.0);
    out.gauge("edge_gateway_uptime_seconds", "Seconds since start.",
              std::chrono::duration<double>(clock.now() - started).count());
    out.gauge("edge_gateway_resident_memory_bytes", "Resident set size of the process.", resident_bytes());
    broker_metrics(out, gateway.broker().stats());
    ingest_metrics(out, gateway);
    store_metrics(out, gateway, clock);
    uplink_metrics(out, gateway);
  });
}

// ---------------------------------------------------------------------- Health
Health::Health(const Gateway& gateway, const Clock& clock, std::chrono::milliseconds disconnected_grace)
    : gateway_(gateway), clock_(clock), grace_(disconnected_grace) {}

void Health::update() {
  const auto now = clock_.now();
  std::lock_guard lock(mu_);
  for (const auto& e : gateway_.engines()) {
    const std::string& name = e->options().name;
    if (e->stats().connected) {
      disconnected_since_.erase(name);
    } else {
      disconnected_since_.try_emplace(name, now);
    }
  }
}

telemetry::HealthReport Health::check() {
  update();
  const auto now = clock_.now();
  nlohmann::json reasons = nlohmann::json::array();
  nlohmann::json listeners = nlohmann::json::object();
  for (const auto& l : gateway_.config().listeners) {
    const uint16_t port = gateway_.broker().bound_port(l.name);
    listeners[l.name] = port != 0 ? "ok" : "not bound";
    if (port == 0) reasons.push_back("listener '" + l.name + "' is not bound");
  }
  const Status store = gateway_.store().health();
  if (!store.is_ok()) reasons.push_back("store: " + store.message());
  nlohmann::json uplinks = nlohmann::json::object();
  {
    std::lock_guard lock(mu_);
    for (const auto& e : gateway_.engines()) {
      const std::string& name = e->options().name;
      const uplink::EngineStats s = e->stats();
      auto rows = gateway_.store().count(name);
      nlohmann::json u{{"connected", s.connected},
                       {"breaker", std::string(uplink::to_string(s.breaker))},
                       {"queued", rows.is_ok() ? *rows : -1}};
      if (s.breaker == uplink::BreakerState::kOpen) {
        reasons.push_back("uplink '" + name + "': circuit breaker open");
      }
      if (auto it = disconnected_since_.find(name); it != disconnected_since_.end()) {
        const auto secs = std::chrono::duration_cast<std::chrono::seconds>(now - it->second).count();
        u["disconnected_for_s"] = secs;
        if (now - it->second > grace_) {
          reasons.push_back("uplink '" + name + "': disconnected for " + std::to_string(secs) + " s");
        }
      }
      uplinks[name] = std::move(u);
    }
  }
  const bool ok = reasons.empty();
  nlohmann::json body{{"status", ok ? "ok" : "unhealthy"},
                      {"reasons", std::move(reasons)},
                      {"listeners", std::move(listeners)},
                      {"store", store.is_ok() ? "ok" : store.message()},
                      {"uplinks", std::move(uplinks)}};
  return {ok, body.dump() + "\n"};
}

// ---------------------------------------------------------------- StallDetector
bool StallDetector::observe(const std::string& name, uint64_t counter, Steady::time_point now) {
  auto [it, inserted] = seen_.try_emplace(name, Seen{counter, now});
  if (inserted || it->second.counter != counter) {
    it->second = {counter, now};
    return true;
  }
  return now - it->second.changed_at <= stall_after_;
}

std::chrono::milliseconds StallDetector::unchanged_for(const std::string& name, Steady::time_point now) const {
  auto it = seen_.find(name);
  if (it == seen_.end()) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(now - it->second.changed_at);
}

// ------------------------------------------------------------------ Supervisor
Supervisor::Supervisor(const Gateway& gateway, Health& health, std::chrono::milliseconds interval,
                       std::chrono::milliseconds stall_after)
    : gateway_(gateway), health_(health), interval_(interval), stall_after_(stall_after), stalls_(stall_after) {
  thread_ = std::thread([this] { run(); });
}

Supervisor::~Supervisor() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::chrono::milliseconds Supervisor::systemd_watchdog_interval() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(sd::watchdog_interval());
}

bool Supervisor::alive(Steady::time_point now) {
  bool ok = true;
  auto seconds = [](std::chrono::milliseconds d) { return std::chrono::duration_cast<std::chrono::seconds>(d).count(); };
  // The io loop: its 1 s sweep timer must keep ticking.
  const std::string io = "the broker io loop";
  if (!stalls_.observe(io, gateway_.broker().stats().loop_ticks, now)) {
    if (!reported_stall_) logger().error("watchdog: {} has not run for {} s", io, seconds(stalls_.unchanged_for(io, now)));
    ok = false;
  }
  // Each uplink engine: its loop beats at least every 250 ms, also while
  // disconnected or backing off. One stuck (e.g. blocked in a cloud call)
  // stops the pings like a stuck io loop.
  for (const auto& e : gateway_.engines()) {
    const std::string name = "uplink " + e->options().name + "'s engine thread";
    const auto beat = e->heartbeat();
    if (!beat) {
      stalls_.forget(name);  // not running: stopping, or not started
      continue;
    }
    if (!stalls_.observe(name, *beat, now)) {
      if (!reported_stall_) {
        logger().error("watchdog: {} has not run for {} s", name, seconds(stalls_.unchanged_for(name, now)));
      }
      ok = false;
    }
  }
  // The store writer: an empty append completes at its next commit.
  if (probe_done_ && !probe_done_->load()) {
    if (now - probe_sent_at_ > stall_after_) {
      if (!reported_stall_) logger().error("watchdog: the store writer has not committed for {} s", std::chrono::duration_cast<std::chrono::seconds>(now - probe_sent_at_).count());
      ok = false;
    }
  } else {
    auto done = std::make_shared<std::atomic<bool>>(false);
    // Refused appends (backpressure, sticky error) are the health check's
    // business, not a hang: count them as answered.
    if (gateway_.store().append({}, [done](const Status&) { done->store(true); }).is_ok()) {
      probe_done_ = std::move(done);
      probe_sent_at_ = now;
    } else {
      probe_done_.reset();
    }
  }
  reported_stall_ = !ok;
  return ok;
}

void Supervisor::run() {
  pthread_setname_np(pthread_self(), "gw-supervisor");
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    health_.update();
    telemetry::flush_logs();  // a log file within a second; repeat summaries when their window ends
    const bool ok = alive(Steady::now());
    if (ok) sd::notify("WATCHDOG=1");
    lock.lock();
    cv_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

}  // namespace gw::app
