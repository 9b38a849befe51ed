// Gateway: the running service, wired from one validated Config. Owns the
// store, the uplink engines and the broker, and is the broker's IngressSink:
// each published message is routed by the current RouteTable and appended to
// the store; the device's ack waits for the commit. The broker's durable state
// (inbound QoS 2 records, retained messages) goes into the same store, in the same transaction
// as the message it belongs to, and is handed back to the broker at startup.
//
// Threads: create/start/stop/swap_routes are called from the main thread.
// on_publish() runs on the broker's io thread. The route table is swapped
// atomically (a message is routed wholly by the old or wholly by the new one).
#pragma once

#include <atomic>
#include <memory>
#include <string_view>
#include <vector>

#include "gateway/broker/broker.h"
#include "gateway/broker/ingress_sink.h"
#include "gateway/config/config.h"
#include "gateway/core/clock.h"
#include "gateway/rules/route_table.h"
#include "gateway/store/store.h"
#include "gateway/telemetry/metrics.h"
#include "gateway/uplink/engine.h"

namespace gw::app {

class Gateway final : public broker::IngressSink {
 public:
  // Opens the store and builds every engine and the broker; binds nothing.
  // Errors name the failing part (store path, uplink name, listener).
  static Result<std::unique_ptr<Gateway>> create(const config::Config& cfg,
                                                 std::shared_ptr<const rules::RouteTable> routes,
                                                 const Clock& clock);
  ~Gateway() override;
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Starts the uplinks, then binds the listeners. Blocks until bound.
  Status start();
  // Stops accepting, commits what is queued, gives in-flight cloud batches
  // `grace`, stops the uplinks. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

  // Replaces the route table between two messages.
  void swap_routes(std::shared_ptr<const rules::RouteTable> routes);

  uint16_t bound_port(std::string_view listener) const { return broker_->bound_port(listener); }

  // SIGHUP: the broker reads auth.password_file again (the path from the
  // config the gateway started with). Errors keep the users in use.
  Status reload_password_file() { return broker_->reload_password_file(); }

  // broker::IngressSink:
  void on_publish(const Message& msg, Done done) override;
  void on_publish_with_state(Message msg, const broker::PublishState& state, Done done) override;
  void release_qos2(const std::string& client_id, uint16_t packet_id, Done done) override;
  void drop_qos2(const std::string& client_id, Done done) override;
  void on_retained(const Message& msg) override;

  // Observability (ops.h reads these from the telemetry and watchdog threads;
  // all thread-safe). Counted where routing happens, on the io thread.
  struct IngestCounters {
    telemetry::LabeledCounter routed;   // deliveries stored, by route name
    // Messages not stored, by reason: no_route, route_drop, quota (the store
    // is full: max_bytes or min_free_disk), store_refused (backpressure, a
    // failed commit).
    telemetry::LabeledCounter dropped;
    telemetry::Histogram commit_latency{telemetry::Histogram::latency_buckets()};  // append -> durable, seconds
  };
  const IngestCounters& ingest_counters() const { return ingest_; }
  const config::Config& config() const { return cfg_; }
  const broker::Broker& broker() const { return *broker_; }
  store::Store& store() const { return *store_; }
  const std::vector<std::unique_ptr<uplink::Engine>>& engines() const { return engines_; }
  // Publish -> PUBACK seconds of engines()[i]'s delivered batches.
  const telemetry::Histogram& publish_latency(size_t i) const { return *publish_latency_[i]; }

 private:
  Gateway(const config::Config& cfg, std::shared_ptr<const rules::RouteTable> routes, const Clock& clock);

  const config::Config cfg_;
  const Clock& clock_;
  std::atomic<std::shared_ptr<const rules::RouteTable>> routes_;
  IngestCounters ingest_;  // before store_: its completions write here until the store is gone
  std::unique_ptr<store::Store> store_;
  // One per engine, same order; before engines_ so they outlive them.
  std::vector<std::unique_ptr<telemetry::Histogram>> publish_latency_;
  std::vector<std::unique_ptr<uplink::Engine>> engines_;
  std::unique_ptr<broker::Broker> broker_;
  bool stopped_ = false;
};

}  // namespace gw::app
