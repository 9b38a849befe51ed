#include "gateway/uplink/engine.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "gateway/core/cpu_affinity.h"
#include "gateway/core/log.h"
#include "gateway/uplink/batcher.h"
#include "gateway/uplink/rate_limiter.h"

namespace gw::uplink {
namespace {
// This module's logger (core/log.h).
spdlog::logger& logger() { return log::get(log::Module::kUplink); }

using Ms = std::chrono::milliseconds;
using TimePoint = std::chrono::steady_clock::time_point;

// While batches are in flight and we also wait for new rows in the store,
// PUBACKs are noticed within this slice (the store and the transport wake
// different condition variables).
constexpr Ms kInflightPollSlice{5};
constexpr Ms kIdleWaitCap{250};
// Raw bytes leased per round, relative to the compressed batch limit: enough
// to fill a batch of well-compressible telemetry.
constexpr size_t kLeaseBytesFactor = 16;

}  // namespace

class Engine::Impl {
 public:
  Impl(UplinkOptions options, std::unique_ptr<CloudProfile> profile, store::Store& store, const Clock& clock,
       Batcher batcher, size_t window, const Limits& limits)
      : options_(std::move(options)),
        profile_(std::move(profile)),
        store_(store),
        clock_(clock),
        batcher_(std::move(batcher)),
        window_(window),
        backoff_(options_.backoff),
        breaker_(options_.breaker),
        limiter_(limits.max_publishes_per_s, limits.max_bytes_per_s),
        min_connect_interval_(limits.min_connect_interval) {}

  ~Impl() {
    stop(Ms(0));
    transport_.reset();  // before the queue its callbacks post to goes away
  }

  void set_transport(std::unique_ptr<Transport> t) { transport_ = std::move(t); }

  // Paho threads: queue and wake, nothing else.
  void post(TransportEvent e) {
    {
      std::lock_guard lock(mu_);
      events_.push_back(std::move(e));
    }
    cv_.notify_one();
  }

  void start() {
    thread_ = std::thread([this] { run(); });
  }

  void stop(Ms grace) {
    {
      std::lock_guard lock(mu_);
      if (!stopping_) {
        stopping_ = true;
        stop_deadline_ = clock_.now() + grace;
      }
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

  EngineStats stats() const {
    std::lock_guard lock(stats_mu_);
    return stats_;
  }

  std::optional<uint64_t> heartbeat() const {
    if (!running_.load(std::memory_order_acquire)) return std::nullopt;
    return heartbeat_.load(std::memory_order_relaxed);
  }

  const UplinkOptions& options() const { return options_; }

 private:
  enum class Conn { kDisconnected, kConnecting, kConnected };

  struct Inflight {
    std::vector<int64_t> seqs;
    uint64_t batch_seq = 0;
    size_t bytes = 0;
    size_t raw_bytes = 0;
    TimePoint started;
  };

  void run() {
    const std::string tname = ("up-" + options_.name).substr(0, 15);
    pthread_setname_np(pthread_self(), tname.c_str());
    pin_this_thread_logged(options_.cpus, logger(), "uplink " + options_.name);
    batch_seq_ = store_.last_batch_seq(options_.name);
    last_acked_ = batch_seq_;
    update_stats([&](EngineStats& s) { s.last_batch_seq = last_acked_; });
    logger().info("uplink {}: {} (batches up to {} msgs / {} B, linger {} ms, {})", options_.name,
                 profile_->describe(), options_.max_messages, batcher_.effective_limit(), options_.linger.count(),
                 to_string(options_.compression));
    next_connect_at_ = clock_.now();
    running_.store(true, std::memory_order_release);
    for (;;) {
      heartbeat_.fetch_add(1, std::memory_order_relaxed);
      drain_events();
      TimePoint now = clock_.now();
      if (is_stopping()) break;
      if (conn_ == Conn::kDisconnected && now >= next_connect_at_) begin_connect(now);
      if (conn_ == Conn::kConnecting && now >= connect_deadline_) {
        on_connect_failed(now, Attempt{Outcome::kRetry, -1, false, false, "connect timed out"});
      }
      if (conn_ == Conn::kConnected) {
        check_timeouts(now);
        maybe_renew_credentials();
      }
      if (conn_ == Conn::kConnected) fill_and_publish(now);
      wait();
    }
    running_.store(false, std::memory_order_release);  // the watchdog stops looking: we are stopping
    shutdown();
  }

  bool is_stopping() {
    std::lock_guard lock(mu_);
    return stopping_;
  }

  // ---- events -------------------------------------------------------------

  void drain_events() {
    std::deque<TransportEvent> batch;
    {
      std::lock_guard lock(mu_);
      batch.swap(events_);
    }
    for (auto& e : batch) handle(std::move(e));
  }

  void handle(TransportEvent e) {
    const TimePoint now = clock_.now();
    e.attempt = profile_->refine(std::move(e.attempt));
    switch (e.kind) {
      case TransportEvent::Kind::kConnected:
        if (conn_ != Conn::kConnecting) return;
        conn_ = Conn::kConnected;
        connected_wall_ms_ = clock_.wall_ms();
        backoff_.on_success(now);
        breaker_.on_success(now);
        store_may_have_rows_ = true;
        logger().info("uplink {}: connected to {}:{}", options_.name, connect_host_, connect_port_);
        failures_logged_ = 0;
        subscribe_downlink();
        update_stats([&](EngineStats& s) {
          s.connected = true;
          ++s.connects;
        });
        return;
      case TransportEvent::Kind::kConnectFailed:
        if (conn_ != Conn::kConnecting) return;
        on_connect_failed(now, e.attempt);
        return;
      case TransportEvent::Kind::kConnectionLost:
        if (conn_ != Conn::kConnected) return;
        on_connection_lost(now, std::move(e.attempt), true);
        return;
      case TransportEvent::Kind::kPublishDone:
        on_publish_done(now, e.id, e.attempt);
        return;
      case TransportEvent::Kind::kMessage:
        on_downlink_message(std::move(e.message));
        return;
    }
  }

  // ---- downlink -------------------------------------------------------------

  void subscribe_downlink() {
    if (options_.downlink.empty()) return;
    std::vector<std::string> froms;
    for (const auto& r : options_.downlink) froms.push_back(r.from);
    const auto filters = profile_->downlink_subscriptions(froms);
    if (filters.empty()) return;
    Status st = transport_->subscribe(filters, 1);
    if (!st.is_ok()) logger().warn("uplink {}: downlink not subscribed: {}", options_.name, st.to_string());
  }

  void on_downlink_message(Publish in) {
    Publish msg = profile_->downlink_message(std::move(in));
    auto local = map_downlink(options_.downlink, msg.topic);
    if (!local || !options_.on_downlink) {
      logger().debug("uplink {}: downlink message on '{}' matches no rule", options_.name, msg.topic);
      update_stats([&](EngineStats& s) { ++s.downlink_unmatched; });
      return;
    }
    msg.topic = std::move(*local);
    msg.retain = false;
    options_.on_downlink(std::move(msg));
    update_stats([&](EngineStats& s) { ++s.downlink_messages; });
  }

  void on_connect_failed(TimePoint now, const Attempt& a) {
    conn_ = Conn::kDisconnected;
    if (!a.throttled) breaker_.on_failure(now);
    const Ms delay = backoff_.on_failure(now);
    next_connect_at_ = now + delay;
    if (breaker_.state() == BreakerState::kOpen) next_connect_at_ = std::max(next_connect_at_, breaker_.reopens_at());
    // Log the first failure and then every 10th: a long outage must not flood the journal.
    if (failures_logged_++ % 10 == 0) {
      logger().warn("uplink {}: cannot connect to {}:{}: {}{} (attempt {}, next in {} ms; rows stay queued)",
                   options_.name, connect_host_, connect_port_, a.detail,
                   a.outcome == Outcome::kReject ? " [refused: check credentials]" : "", backoff_.failures(),
                   std::chrono::duration_cast<Ms>(next_connect_at_ - now).count());
    }
    note_breaker();
    update_stats([&](EngineStats& s) { ++s.connect_failures; });
  }

  // The connection is gone. `by_peer`: the cloud or the network closed it
  // (the profile reads what that means, e.g. IoT Hub throttling); otherwise
  // the engine gave up on it (PUBACK timeout, publish not started).
  // `also_unacked`: publishes already taken out of inflight_ that were
  // awaiting their PUBACK too.
  void on_connection_lost(TimePoint now, Attempt a, bool by_peer, size_t also_unacked = 0) {
    if (by_peer) a = profile_->read_connection_loss(std::move(a), ConnectionLoss{inflight_.size() + also_unacked});
    // Throttling slows the buckets instead of tripping the breaker, while
    // they can still slow down: a cloud that keeps closing at the lowest
    // rate is failing, and the breaker must hear of it.
    const bool throttled = a.throttled && !limiter_.unlimited() && !limiter_.at_floor();
    conn_ = Conn::kDisconnected;
    const size_t unacked = inflight_.size() + also_unacked;
    fail_all_inflight();
    if (throttled) {
      limiter_.on_throttled(now);
      // Not a failure: no growing backoff, just the usual first pause.
      next_connect_at_ = now + options_.backoff.initial;
      logger().info("uplink {}: {} with {} batch(es) unacknowledged: throttled by the cloud; rate now {:.0f}% of "
                   "the quota, batches will be resent",
                   options_.name, a.detail, unacked, limiter_.factor() * 100);
    } else {
      logger().warn("uplink {}: {}; {} batch(es) in flight will be retried", options_.name, a.detail, unacked);
      breaker_.on_failure(now);
      next_connect_at_ = now + backoff_.on_failure(now);
    }
    note_breaker();
    update_stats([&](EngineStats& s) {
      s.connected = false;
      if (throttled) ++s.throttled;
      s.rate_factor = limiter_.factor();
    });
  }

  void on_connection_lost(TimePoint now, const std::string& why) {
    on_connection_lost(now, Attempt{Outcome::kRetry, -1, false, true, why}, false);
  }

  void on_publish_done(TimePoint now, uint64_t id, const Attempt& a) {
    auto it = inflight_.find(id);
    if (it == inflight_.end()) return;  // already given up on (timeout, connection lost)
    Inflight f = std::move(it->second);
    inflight_.erase(it);
    update_stats([&](EngineStats& s) { s.inflight_batches = inflight_.size(); });
    switch (a.outcome) {
      case Outcome::kDelivered: {
        last_acked_ = std::max(last_acked_, f.batch_seq);
        if (options_.on_publish_acked) options_.on_publish_acked(now - f.started);
        const size_t n = f.seqs.size();
        store_.ack(options_.name, std::move(f.seqs), last_acked_);
        backoff_.on_success(now);
        breaker_.on_success(now);
        limiter_.on_success(now);
        // After bisecting a refused batch, widen again step by step.
        if (batcher_.message_cap() != 0) {
          const size_t cap = batcher_.message_cap() * 2;
          batcher_.set_message_cap(cap >= options_.max_messages ? 0 : cap);
        }
        note_breaker();
        update_stats([&](EngineStats& s) {
          ++s.batches_sent;
          s.messages_sent += n;
          s.bytes_sent += f.bytes;
          s.raw_bytes_sent += f.raw_bytes;
          s.last_batch_seq = last_acked_;
        });
        return;
      }
      case Outcome::kReject:
        on_rejected(f, a);
        return;
      case Outcome::kRetry:
        store_.release(options_.name, f.seqs);
        store_may_have_rows_ = true;
        if (a.connection_lost) {
          // The connection dropped under this publish: one loss, read once
          // (whichever of this and kConnectionLost comes first), so it is
          // neither slowed for nor counted against the breaker twice.
          update_stats([&](EngineStats& s) { ++s.publish_retries; });
          if (conn_ == Conn::kConnected) on_connection_lost(now, a, true, 1);
          return;
        }
        if (a.throttled && !limiter_.unlimited()) {
          // The cloud said "too fast": slow the buckets; the breaker and the
          // backoff are for failures, and this is not one.
          limiter_.on_throttled(now);
          logger().info("uplink {}: throttled by the cloud ({}); rate now {:.0f}% of the quota", options_.name,
                       a.detail, limiter_.factor() * 100);
        } else {
          if (!a.throttled) breaker_.on_failure(now);
          hold_until_ = now + backoff_.on_failure(now);
        }
        logger().debug("uplink {}: batch {} not delivered: {}", options_.name, f.batch_seq, a.detail);
        note_breaker();
        update_stats([&](EngineStats& s) {
          ++s.publish_retries;
          if (a.throttled) ++s.throttled;
          s.rate_factor = limiter_.factor();
        });
        return;
    }
  }

  // The cloud refused a payload. Bisect: smaller batches until the refused
  // message is alone; that one can never be sent and is dropped (logged with
  // its seq, counted). TODO(uplink): move it to the store's dead-letter table
  // once the store has one (issue 5 / expiry).
  void on_rejected(Inflight& f, const Attempt& a) {
    update_stats([&](EngineStats& s) { ++s.rejected_batches; });
    if (f.seqs.size() > 1) {
      logger().warn("uplink {}: batch {} ({} msgs) refused: {}; retrying in smaller batches", options_.name,
                   f.batch_seq, f.seqs.size(), a.detail);
      batcher_.set_message_cap(std::max<size_t>(1, f.seqs.size() / 2));
      store_.release(options_.name, f.seqs);
      store_may_have_rows_ = true;
      return;
    }
    drop_rows(f.seqs, "refused by the cloud: " + a.detail);
  }

  void drop_rows(const std::vector<int64_t>& seqs, const std::string& why) {
    for (int64_t s : seqs) logger().error("uplink {}: dropping message seq {}: {}", options_.name, s, why);
    store_.ack(options_.name, seqs, last_acked_);
    update_stats([&](EngineStats& s) { s.dropped_messages += seqs.size(); });
  }

  void fail_all_inflight() {
    for (auto& [id, f] : inflight_) store_.release(options_.name, f.seqs);
    if (!inflight_.empty()) {
      update_stats([&](EngineStats& s) { s.publish_retries += inflight_.size(); });
    }
    inflight_.clear();
    store_may_have_rows_ = true;
    update_stats([&](EngineStats& s) { s.inflight_batches = 0; });
  }

  void note_breaker() {
    if (breaker_.state() != logged_breaker_) {
      logger().log(breaker_.state() == BreakerState::kOpen ? spdlog::level::warn : spdlog::level::info,
                  "uplink {}: circuit breaker {} -> {}", options_.name, to_string(logged_breaker_),
                  to_string(breaker_.state()));
      logged_breaker_ = breaker_.state();
    }
    update_stats([&](EngineStats& s) {
      s.breaker = breaker_.state();
      s.breaker_transitions = breaker_.transitions();
    });
  }

  // ---- connecting -----------------------------------------------------------

  void begin_connect(TimePoint now) {
    if (!breaker_.allow(now)) {
      next_connect_at_ = breaker_.reopens_at();
      return;
    }
    if (min_connect_interval_.count() > 0 && last_connect_at_ && now < *last_connect_at_ + min_connect_interval_) {
      next_connect_at_ = *last_connect_at_ + min_connect_interval_;  // e.g. AWS: one CONNECT per second
      return;
    }
    last_connect_at_ = now;
    note_breaker();
    auto co = profile_->connect_options(clock_);
    if (!co) {
      on_connect_failed(now, Attempt{co.status().code() == StatusCode::kInvalidArgument ? Outcome::kReject
                                                                                           : Outcome::kRetry,
                                     -1, false, false, co.status().to_string()});
      return;
    }
    connect_host_ = co->host;
    connect_port_ = co->port;
    credentials_expire_at_ms_ = co->credentials_expire_at_ms;
    update_stats([&](EngineStats& s) { s.credentials_expire_at_ms = credentials_expire_at_ms_; });
    Status st = transport_->start_connect(*co);
    if (!st.is_ok()) {
      on_connect_failed(now, Attempt{Outcome::kRetry, -1, false, false, st.to_string()});
      return;
    }
    conn_ = Conn::kConnecting;
    connect_deadline_ = now + co->connect_timeout + Ms(5000);
  }

  // Renew before the credentials (a SAS token) expire: at 80% of the time
  // left when we connected, once no batch is in flight.
  // While a renewal is due no new batch is published, so the in-flight ones
  // drain and the reconnect loses nothing.
  bool renewal_due() const {
    if (credentials_expire_at_ms_ == 0) return false;
    const int64_t renew_at = connected_wall_ms_ + (credentials_expire_at_ms_ - connected_wall_ms_) * 8 / 10;
    return clock_.wall_ms() >= renew_at;
  }

  void maybe_renew_credentials() {
    if (!renewal_due() || !inflight_.empty()) return;
    logger().info("uplink {}: reconnecting with fresh credentials", options_.name);
    transport_->disconnect(Ms(2000));
    conn_ = Conn::kDisconnected;
    next_connect_at_ = clock_.now();
    update_stats([&](EngineStats& s) {
      s.connected = false;
      ++s.credential_renewals;
    });
  }

  void check_timeouts(TimePoint now) {
    for (const auto& [id, f] : inflight_) {
      if (now - f.started >= options_.publish_timeout) {
        // A PUBACK this late means a stuck connection: start over.
        transport_->disconnect(Ms(1000));
        on_connection_lost(now, "no PUBACK for batch " + std::to_string(f.batch_seq) + " within " +
                                    std::to_string(options_.publish_timeout.count()) + " ms");
        return;
      }
    }
  }

  // ---- batching and publishing ------------------------------------------------

  void fill_and_publish(TimePoint now) {
    if (now < hold_until_ || renewal_due()) return;
    // Lease while there is room: a little more than one batch of rows pending.
    while (ready_.empty() && batcher_.pending_rows() < options_.max_messages && store_may_have_rows_) {
      auto rows = store_.lease(options_.name, options_.max_messages - batcher_.pending_rows(),
                               batcher_.effective_limit() * kLeaseBytesFactor);
      if (!rows) {
        logger().warn("uplink {}: lease failed: {}", options_.name, rows.status().to_string());
        hold_until_ = now + backoff_.on_failure(now);
        return;
      }
      if (rows->empty()) {
        store_may_have_rows_ = false;
        break;
      }
      batcher_.add(std::move(*rows), now, clock_.wall_ms());
      take_ready(now, false);
    }
    if (ready_.empty()) take_ready(now, false);
    while (!ready_.empty() && inflight_.size() < window_) {
      if (!breaker_.allow(now)) break;
      if (!limiter_.try_take(now, ready_.front().payload.size())) {
        if (rate_hold_until_ <= now) update_stats([](EngineStats& s) { ++s.rate_limit_waits; });  // a new wait
        rate_hold_until_ = limiter_.available_at(now, ready_.front().payload.size());
        break;
      }
      Batch b = std::move(ready_.front());
      ready_.pop_front();
      publish(now, std::move(b));
      if (conn_ != Conn::kConnected) return;
    }
  }

  void take_ready(TimePoint now, bool flush) {
    std::vector<RejectedRow> rejected;
    for (auto& b : batcher_.take_ready(now, flush, rejected)) ready_.push_back(std::move(b));
    for (const auto& r : rejected) drop_rows({r.seq}, r.reason.message() + " (topic " + r.topic + ")");
  }

  void publish(TimePoint now, Batch b) {
    OutgoingBatch out;
    out.topic = b.topic;
    out.metadata.gateway_id = options_.gateway_id;
    out.metadata.batch_seq = ++batch_seq_;
    out.metadata.count = b.seqs.size();
    out.metadata.compression = options_.compression;
    const size_t bytes = b.payload.size();
    out.payload = std::move(b.payload);
    auto shaped = profile_->shape(std::move(out));
    if (!shaped) {
      drop_rows(b.seqs, shaped.status().to_string());
      return;
    }
    const uint64_t id = ++next_id_;
    Status st = transport_->publish(id, *shaped);
    if (!st.is_ok()) {
      store_.release(options_.name, b.seqs);
      store_may_have_rows_ = true;
      // Usually the cloud closed the connection a moment ago and the
      // transport noticed first (IoT Hub throttling closes right after a
      // publish): the profile reads it like any close by the peer.
      on_connection_lost(now, Attempt{Outcome::kRetry, -1, false, true, st.to_string()}, true);
      transport_->disconnect(Ms(1000));
      return;
    }
    inflight_.emplace(id, Inflight{std::move(b.seqs), batch_seq_, bytes, b.raw_bytes, now});
    update_stats([&](EngineStats& s) { s.inflight_batches = inflight_.size(); });
  }

  // ---- waiting ----------------------------------------------------------------

  void wait() {
    const TimePoint now = clock_.now();
    TimePoint wake = now + kIdleWaitCap;
    auto earlier = [&](TimePoint t) { wake = std::min(wake, std::max(t, now)); };
    if (conn_ == Conn::kDisconnected) earlier(next_connect_at_);
    if (conn_ == Conn::kConnecting) earlier(connect_deadline_);
    bool want_rows = false;
    if (conn_ == Conn::kConnected) {
      if (hold_until_ > now) earlier(hold_until_);
      if (rate_hold_until_ > now && !ready_.empty()) earlier(rate_hold_until_);
      if (renewal_due() && inflight_.empty()) return;
      if (auto d = batcher_.next_deadline()) earlier(*d);
      for (const auto& [id, f] : inflight_) earlier(f.started + options_.publish_timeout);
      const bool room = inflight_.size() < window_;
      if (room && !ready_.empty() && hold_until_ <= now && rate_hold_until_ <= now && !renewal_due() &&
          breaker_.state() == BreakerState::kClosed) {
        return;
      }
      if (room && store_may_have_rows_ && hold_until_ <= now && ready_.empty() &&
          batcher_.pending_rows() < options_.max_messages) {
        return;  // more rows to lease right away
      }
      want_rows = room && hold_until_ <= now && ready_.empty();
    }
    const Ms timeout = std::chrono::duration_cast<Ms>(wake - now);
    if (want_rows) {
      {
        std::lock_guard lock(mu_);
        if (!events_.empty() || stopping_) return;
      }
      // The store wakes us on new rows; events from Paho are noticed within
      // a short slice while batches are in flight.
      const Ms slice = inflight_.empty() ? timeout : std::min(timeout, kInflightPollSlice);
      store_.wait_for_rows(options_.name, slice);
      store_may_have_rows_ = true;
      return;
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return !events_.empty() || stopping_; });
  }

  // ---- stopping -----------------------------------------------------------------

  void shutdown() {
    TimePoint deadline;
    {
      std::lock_guard lock(mu_);
      deadline = stop_deadline_;
    }
    // Nothing new goes out: unsent batches and pending rows go back.
    std::vector<int64_t> unsent = batcher_.take_all_seqs();
    for (auto& b : ready_) unsent.insert(unsent.end(), b.seqs.begin(), b.seqs.end());
    ready_.clear();
    if (!unsent.empty()) store_.release(options_.name, unsent);
    // Give published batches until the deadline for their PUBACK.
    while (!inflight_.empty() && conn_ == Conn::kConnected && clock_.now() < deadline) {
      {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::min<Ms>(std::chrono::duration_cast<Ms>(deadline - clock_.now()), Ms(50)),
                     [&] { return !events_.empty(); });
      }
      drain_events();
    }
    const size_t abandoned = inflight_.size();
    fail_all_inflight();
    transport_->disconnect(Ms(1000));
    conn_ = Conn::kDisconnected;
    update_stats([&](EngineStats& s) { s.connected = false; });
    logger().info("uplink {}: stopped ({} batch(es) left unacknowledged, released)", options_.name, abandoned);
  }

  template <typename F>
  void update_stats(F&& f) {
    std::lock_guard lock(stats_mu_);
    f(stats_);
  }

  const UplinkOptions options_;
  std::unique_ptr<CloudProfile> profile_;
  store::Store& store_;
  const Clock& clock_;
  std::unique_ptr<Transport> transport_;

  // Engine thread only.
  Batcher batcher_;
  size_t window_;
  Backoff backoff_;
  CircuitBreaker breaker_;
  RateLimiter limiter_;
  const Ms min_connect_interval_;
  std::optional<TimePoint> last_connect_at_;
  TimePoint rate_hold_until_{};
  BreakerState logged_breaker_ = BreakerState::kClosed;
  Conn conn_ = Conn::kDisconnected;
  TimePoint next_connect_at_{};
  TimePoint connect_deadline_{};
  TimePoint hold_until_{};
  std::string connect_host_;
  uint16_t connect_port_ = 0;
  int64_t credentials_expire_at_ms_ = 0;
  int64_t connected_wall_ms_ = 0;
  uint64_t failures_logged_ = 0;
  bool store_may_have_rows_ = true;
  std::deque<Batch> ready_;
  std::map<uint64_t, Inflight> inflight_;
  uint64_t next_id_ = 0;
  uint64_t batch_seq_ = 0;
  uint64_t last_acked_ = 0;

  // Shared with Paho threads and the owner thread.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<TransportEvent> events_;
  bool stopping_ = false;
  TimePoint stop_deadline_{};
  std::thread thread_;

  mutable std::mutex stats_mu_;
  EngineStats stats_;
  std::atomic<uint64_t> heartbeat_{0};
  std::atomic<bool> running_{false};
};

Result<std::unique_ptr<Engine>> Engine::create(UplinkOptions options, std::unique_ptr<CloudProfile> profile,
                                               store::Store& store, const Clock& clock) {
  return create(std::move(options), std::move(profile), store, clock,
                [](TransportEventSink sink) { return make_paho_transport(std::move(sink)); });
}

Result<std::unique_ptr<Engine>> Engine::create(UplinkOptions options, std::unique_ptr<CloudProfile> profile,
                                               store::Store& store, const Clock& clock,
                                               TransportFactory transport_factory) {
  if (options.name.empty()) return invalid_argument("uplink needs a name");
  if (!profile) return invalid_argument("uplink " + options.name + ": no cloud profile");
  if (profile->api_version() != kCloudProfileApiVersion) {
    return invalid_argument("uplink " + options.name + ": profile '" + std::string(profile->type()) +
                            "' uses API version " + std::to_string(profile->api_version()) + ", expected " +
                            std::to_string(kCloudProfileApiVersion));
  }
  const Limits limits = profile->limits();
  BatcherOptions bo;
  bo.uplink = options.name;
  bo.gateway_id = options.gateway_id;
  bo.topic_template = options.topic_template;
  bo.max_messages = options.max_messages;
  bo.max_bytes = options.max_bytes;
  bo.linger = options.linger;
  bo.compression = options.compression;
  bo.level = options.compression_level;
  bo.hard_limit_bytes = limits.max_payload_bytes;
  bo.billing_unit_bytes = limits.billing_unit_bytes;
  auto batcher = Batcher::create(bo);
  if (!batcher) return batcher.status().with_context("uplink " + options.name);
  const size_t window = std::max<size_t>(1, std::min(options.max_inflight, std::max<size_t>(1, limits.max_inflight)));
  std::vector<DownlinkRule> bound;
  for (auto& r : options.downlink) {
    bound.push_back(bind_gateway_id(std::move(r), options.gateway_id));
    Status st = validate(bound.back());
    if (!st.is_ok()) return st.with_context("uplink " + options.name);
  }
  options.downlink = std::move(bound);
  auto impl = std::make_unique<Impl>(std::move(options), std::move(profile), store, clock, std::move(*batcher), window,
                                     limits);
  Impl* raw = impl.get();
  impl->set_transport(transport_factory([raw](TransportEvent e) { raw->post(std::move(e)); }));
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;
void Engine::start() { impl_->start(); }
void Engine::stop(std::chrono::milliseconds grace) { impl_->stop(grace); }
EngineStats Engine::stats() const { return impl_->stats(); }
std::optional<uint64_t> Engine::heartbeat() const { return impl_->heartbeat(); }
const UplinkOptions& Engine::options() const { return impl_->options(); }

}  // namespace gw::uplink
