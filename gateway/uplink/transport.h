// Transport: one MQTT client connection to a cloud, as the engine sees it.
// The Paho adapter (paho_transport.h) is the real one; tests use a scripted
// fake. Everything is asynchronous: calls start an operation and return at
// once; completions arrive as TransportEvents through the sink given at
// construction, on the transport's own threads (Paho's). The sink must only
// queue the event and wake the engine: it must never block or call back into
// the transport.
//
// Threads: start_connect/publish/disconnect are called from the engine
// thread only. Adapters classify every completion (STYLE.md §5); the engine
// decides what to do.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gateway/core/status.h"
#include "gateway/uplink/profile.h"

namespace gw::uplink {

struct TransportEvent {
  enum class Kind : uint8_t {
    kConnected,       // attempt.outcome == kDelivered
    kConnectFailed,   // attempt says why (kRetry, or kReject for refused credentials)
    kConnectionLost,  // the broker or network dropped an established connection
    kPublishDone,     // `id` finished: delivered (PUBACK), retry or reject
    kMessage,         // a message arrived on a subscription (downlink): `message`
  };
  Kind kind = Kind::kConnectFailed;
  uint64_t id = 0;  // the publish id given to publish(); 0 for connection events
  Attempt attempt;
  Publish message;  // kMessage only
};

using TransportEventSink = std::function<void(TransportEvent)>;

class Transport {
 public:
  virtual ~Transport() = default;

  // Starts connecting with `options` (replacing any previous connection).
  // Completes with kConnected or kConnectFailed. Errors returned here mean
  // the attempt never started (kInvalidArgument for bad options).
  virtual Status start_connect(const ConnectOptions& options) = 0;

  // Starts a QoS 1 (or `p.qos`) publish. Completes with kPublishDone for
  // `id`, exactly once, unless the returned Status is an error (then no
  // event follows and the engine treats it as a kRetry).
  virtual Status publish(uint64_t id, const Publish& p) = 0;

  // Subscribes to `filters` at `qos` on the current connection; messages
  // arrive as kMessage events. Failures are logged by the adapter (a cloud
  // that refuses a filter still takes telemetry). Default: no downlink.
  virtual Status subscribe(const std::vector<std::string>& filters, int qos) {
    (void)filters;
    (void)qos;
    return unavailable("this transport has no downlink");
  }

  // Disconnects, waiting at most `timeout` for in-flight work; idempotent.
  // Afterwards no more events are delivered. Blocks.
  virtual void disconnect(std::chrono::milliseconds timeout) = 0;
};

// Makes the Paho-backed transport (the only Paho user).
std::unique_ptr<Transport> make_paho_transport(TransportEventSink sink);

}  // namespace gw::uplink
