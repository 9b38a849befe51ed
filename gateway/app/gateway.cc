#include "gateway/app/gateway.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "gateway/app/wiring.h"
#include "gateway/core/log.h"

namespace gw::app {
namespace {
// This module's logger (core/log.h).
spdlog::logger& logger() { return log::get(log::Module::kApp); }

// The drop reason of a message the store did not take: "quota" when it is
// full (the device hears 0x97 Quota exceeded), else "store_refused".
std::string_view refusal_reason(const Status& s) {
  return s.code() == StatusCode::kResourceExhausted ? "quota" : "store_refused";
}
}  // namespace

Gateway::Gateway(const config::Config& cfg, std::shared_ptr<const rules::RouteTable> routes, const Clock& clock)
    : cfg_(cfg), clock_(clock), routes_(std::move(routes)) {}

Gateway::~Gateway() { stop(); }

Result<std::unique_ptr<Gateway>> Gateway::create(const config::Config& cfg,
                                                 std::shared_ptr<const rules::RouteTable> routes,
                                                 const Clock& clock) {
  std::unique_ptr<Gateway> gw(new Gateway(cfg, std::move(routes), clock));

  auto store = store::Store::open(store_options(cfg), clock);
  if (!store.is_ok()) return store.status().with_context("store " + cfg.store.path.string());
  gw->store_ = std::move(store).value();

  for (const auto& up : cfg.uplinks) {
    // Cloud -> device: republished to local subscribers. The broker exists
    // before any engine starts (start()), so the pointer is set by then.
    auto downlink = [g = gw.get(), &clock](uplink::Publish p) {
      if (!g->broker_) return;
      Message m;
      m.topic = std::move(p.topic);
      m.payload = std::move(p.payload);
      m.qos = static_cast<uint8_t>(std::min(p.qos, 1));
      m.properties.user = std::move(p.user_properties);
      m.properties.content_type = std::move(p.content_type);
      m.protocol_version = 5;
      m.received_at_ms = clock.wall_ms();
      g->broker_->publish_local(std::move(m));
    };
    auto& latency = gw->publish_latency_.emplace_back(
        std::make_unique<telemetry::Histogram>(telemetry::Histogram::latency_buckets()));
    auto on_acked = [h = latency.get()](std::chrono::nanoseconds d) {
      h->observe(std::chrono::duration<double>(d).count());
    };
    auto engine = make_engine(cfg, up, *gw->store_, clock, std::move(downlink), std::move(on_acked));
    if (!engine.is_ok()) return engine.status().with_context("uplink '" + up.name + "'");
    gw->engines_.push_back(std::move(engine).value());
  }

  auto broker = broker::Broker::create(broker_options(cfg), *gw, clock);
  if (!broker.is_ok()) return broker.status();
  gw->broker_ = std::move(broker).value();

  // What the broker left on disk before the last stop (or crash).
  broker::RestoredState restored;
  auto qos2 = gw->store_->qos2_received();
  if (!qos2.is_ok()) return qos2.status().with_context("store " + cfg.store.path.string());
  restored.qos2_received = std::move(qos2).value();
  auto retained = gw->store_->retained_messages();
  if (!retained.is_ok()) return retained.status().with_context("store " + cfg.store.path.string());
  restored.retained = std::move(retained).value();
  gw->broker_->restore(std::move(restored));
  return gw;
}

Status Gateway::start() {
  for (auto& e : engines_) e->start();
  GW_RETURN_IF_ERROR(broker_->start());
  for (const auto& l : cfg_.listeners) {
    logger().info("listening on {}:{} ({})", l.host, broker_->bound_port(l.name), l.name);
  }
  return Status::ok();
}

void Gateway::stop(std::chrono::milliseconds grace) {
  if (stopped_) return;
  stopped_ = true;
  if (broker_) broker_->stop();  // no new messages; unacked ones will be resent by devices
  if (store_) store_->flush();   // what the broker handed over is committed
  for (auto& e : engines_) e->stop(grace);
}

void Gateway::swap_routes(std::shared_ptr<const rules::RouteTable> routes) { routes_.store(std::move(routes)); }

void Gateway::on_publish(const Message& msg, Done done) { on_publish_with_state(msg, {}, std::move(done)); }

void Gateway::release_qos2(const std::string& client_id, uint16_t packet_id, Done done) {
  store_->release_qos2(client_id, packet_id, std::move(done));
}

void Gateway::drop_qos2(const std::string& client_id, Done done) { store_->drop_qos2(client_id, std::move(done)); }

void Gateway::on_retained(const Message& msg) { store_->put_retained(msg); }

void Gateway::on_publish_with_state(Message msg, const broker::PublishState& state, Done done) {
  // One table for the whole message, even if a reload swaps it meanwhile.
  const std::shared_ptr<const rules::RouteTable> table = routes_.load();
  thread_local rules::Decision decision;
  table->evaluate(msg, decision);

  for (const auto& r : decision.republish) {
    Message copy = msg;
    copy.topic = r.topic;
    if (r.properties_rewritten) copy.properties.user = r.properties;
    broker_->publish_local(std::move(copy));
  }

  store::AppendExtras extras;
  if (state.qos2_packet_id) extras.qos2_received = store::Qos2Marker{msg.client_id, *state.qos2_packet_id};
  if (state.retained) extras.retained = msg;  // durable before the PUBACK, with the message
  std::vector<store::NewRow> rows;
  rows.reserve(decision.deliveries.size());
  for (size_t i = 0; i < decision.deliveries.size(); ++i) {
    const auto& d = decision.deliveries[i];
    store::NewRow row;
    row.uplink = d.uplink;
    row.route = d.route;
    row.priority = d.priority;
    row.expires_at_ms = expiry_ms(msg, d.ttl);
    row.cloud_topic = d.cloud_topic;
    if (i + 1 < decision.deliveries.size()) {
      row.message = msg;
    } else {
      row.message = std::move(msg);  // the last delivery takes it; nothing reads msg after
    }
    if (d.properties_rewritten) row.message.properties.user = d.properties;
    rows.push_back(std::move(row));
  }
  if (rows.empty()) {
    if (decision.dropped) ingest_.dropped.add(decision.used_default ? "no_route" : "route_drop");
    if (!extras.qos2_received && !extras.retained) {
      // Dropped or unrouted: nothing to keep, so nothing to wait for.
      done(Status::ok());
      return;
    }
    // The QoS 2 record (so a retransmission is known) or the retained message alone.
  }
  for (const auto& d : decision.deliveries) ingest_.routed.add(d.route);
  // The store calls done after the commit; on refusal it does not, so we do.
  auto shared_done = std::make_shared<Done>(std::move(done));
  const auto appended_at = clock_.now();
  Status st = store_->append(
      std::move(rows),
      [this, shared_done, appended_at](const Status& s) {
        ingest_.commit_latency.observe(std::chrono::duration<double>(clock_.now() - appended_at).count());
        if (!s.is_ok()) ingest_.dropped.add(refusal_reason(s));  // the writer refused (full) or the commit failed
        (*shared_done)(s);
      },
      std::move(extras));
  if (!st.is_ok()) {
    ingest_.dropped.add(refusal_reason(st));
    (*shared_done)(st);
  }
}

}  // namespace gw::app
