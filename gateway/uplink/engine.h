// Engine: one uplink to one cloud target. Leases rows from the store, packs
// them into batches (batcher.h), publishes each at QoS 1 through a Transport
// shaped by the CloudProfile, and acks the rows in the store only on the
// cloud's PUBACK. Failures release the rows, back off with full jitter and
// feed the circuit breaker; while the cloud is down rows simply stay in the
// store. Up to `max_inflight` batches await their PUBACK at once.
//
// Threads: start() launches one named thread ("up-<name>") that owns all
// uplink state and is the only caller of the profile and transport. Paho's
// callbacks only queue events for it. start()/stop() are called from the
// owner (main) thread; stats() is thread-safe. Not copyable.
//
// Rate: the profile's Limits set token buckets (publishes/s, bytes/s) and a
// least interval between CONNECTs; a throttling answer halves the rates and
// each acknowledgement recovers them, without counting as a breaker failure.
// A throttling answer is a PUBACK the profile refines so (AWS 0x97), or the
// cloud closing the connection when the profile reads that so
// (CloudProfile::read_connection_loss; Azure IoT Hub closes right after a
// publish it throttles): the batches in flight are resent. Once the rates are
// at their floor, further such answers count as failures.
//
// Delivery is at-least-once: a batch whose PUBACK was lost is sent again
// (with a new batch-seq); consumers drop duplicates by (gateway-id, seq).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/core/clock.h"
#include "gateway/core/status.h"
#include "gateway/store/store.h"
#include "gateway/uplink/backoff.h"
#include "gateway/uplink/breaker.h"
#include "gateway/uplink/downlink.h"
#include "gateway/uplink/envelope.h"
#include "gateway/uplink/profile.h"
#include "gateway/uplink/transport.h"

namespace gw::uplink {

struct UplinkOptions {
  std::string name;        // the uplink's name: store key, thread and log name
  std::string gateway_id;  // stamped on every batch
  std::string topic_template = "gw/{gateway_id}/{route}";  // {gateway_id} {route} {uplink}
  size_t max_messages = 1000;                // per batch
  size_t max_bytes = 65536;                  // compressed payload per batch (capped by the profile)
  std::chrono::milliseconds linger{200};     // a partial batch leaves when its oldest row waited this long
  Compression compression = Compression::kGzip;
  int compression_level = 6;                 // 1..9, as zlib's levels
  BackoffOptions backoff;                    // reconnects and retries
  BreakerOptions breaker;
  size_t max_inflight = 4;                   // batches awaiting PUBACK (capped by the profile)
  std::chrono::milliseconds publish_timeout{30'000};  // no PUBACK by then: retry on a new connection
  std::vector<int> cpus;                     // the engine thread's CPUs (gateway.cpu_affinity.uplinks); empty: not pinned
  // Cloud -> device: subscribed after every connect; matched messages go to
  // `on_downlink` with their local topic (downlink.h). {gateway_id} is bound here.
  std::vector<DownlinkRule> downlink;
  DownlinkHandler on_downlink;
  // Optional: called on the engine thread with the time from publishing each
  // batch to its PUBACK, for delivered batches. Must not block (the app feeds
  // a lock-free histogram).
  std::function<void(std::chrono::nanoseconds)> on_publish_acked;
};

struct EngineStats {
  bool connected = false;
  BreakerState breaker = BreakerState::kClosed;
  uint64_t breaker_transitions = 0;
  uint64_t batches_sent = 0;     // acknowledged by the cloud
  uint64_t messages_sent = 0;
  uint64_t bytes_sent = 0;       // compressed payload bytes
  uint64_t raw_bytes_sent = 0;   // before compression
  uint64_t publish_retries = 0;  // batches released for a retry
  uint64_t throttled = 0;        // of which the cloud said "slow down"
  uint64_t rejected_batches = 0; // refused by the cloud (split and retried)
  uint64_t dropped_messages = 0; // never sendable: too big alone, or refused alone
  uint64_t connects = 0;         // successful connections
  uint64_t connect_failures = 0;
  uint64_t last_batch_seq = 0;   // last batch sequence acknowledged
  size_t inflight_batches = 0;
  double rate_factor = 1.0;       // the rate limiter's current fraction of the cloud's quota
  uint64_t rate_limit_waits = 0;  // times a ready batch waited for the token buckets
  uint64_t credential_renewals = 0;  // reconnects for fresh credentials (SAS tokens)
  uint64_t downlink_messages = 0;    // cloud messages handed to on_downlink
  uint64_t downlink_unmatched = 0;   // cloud messages no downlink rule matched
  // Wall-clock ms when the credentials of the last connection attempt stop
  // working (an Azure SAS token); 0 when they don't expire.
  int64_t credentials_expire_at_ms = 0;
};

class Engine {
 public:
  using TransportFactory = std::function<std::unique_ptr<Transport>(TransportEventSink)>;

  // Validates the options against the profile's limits (kInvalidArgument:
  // empty name, bad topic template, zero limits, profile API mismatch).
  // Does not connect. `store` and `clock` are borrowed and must outlive the
  // engine. Uses the Paho transport.
  static Result<std::unique_ptr<Engine>> create(UplinkOptions options, std::unique_ptr<CloudProfile> profile,
                                                store::Store& store, const Clock& clock);
  // Same with another transport (tests: a scripted fake).
  static Result<std::unique_ptr<Engine>> create(UplinkOptions options, std::unique_ptr<CloudProfile> profile,
                                                store::Store& store, const Clock& clock,
                                                TransportFactory transport_factory);

  // Stops (with no grace) if still running.
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Starts the engine thread; it connects and begins draining the queue.
  // Call once.
  void start();

  // Stops leasing, gives batches already published up to `grace` for their
  // PUBACK, releases every other leased row back to the store, disconnects
  // and joins the thread. Blocks up to about `grace` plus a disconnect
  // timeout. Idempotent.
  void stop(std::chrono::milliseconds grace);

  // A snapshot; thread-safe.
  EngineStats stats() const;

  // Liveness for the watchdog: a counter the engine thread bumps on every
  // turn of its loop, at least every 250 ms while it runs, also when idle,
  // disconnected, backing off or held by an open breaker. nullopt while the
  // thread is not running (before start(), once stop() began). Thread-safe,
  // lock-free.
  std::optional<uint64_t> heartbeat() const;

  const UplinkOptions& options() const;

 private:
  class Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gw::uplink
