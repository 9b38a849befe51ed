// IngressSink: where the broker hands every application message a client
// publishes. The app implements it (rules + store); the broker never sees
// either. Called on the broker's io thread; must not block.
#pragma once

#include <functional>

#include "gateway/core/message.h"
#include "gateway/core/status.h"

namespace gw::broker {

class IngressSink {
 public:
  using Done = std::function<void(const Status&)>;
  virtual ~IngressSink() = default;

  // Accept `msg`. Call `done` exactly once, from any thread, when the message
  // is durable (OK) or refused (kResourceExhausted: quota, kUnavailable: store
  // down, ...). The broker sends PUBACK only after done(OK); for an error it
  // answers with the matching MQTT 5 reason code (v3.1.1: no ack, so the
  // device retransmits). For QoS 0 the broker passes a `done` that only counts.
  virtual void on_publish(const Message& msg, Done done) = 0;
};

}  // namespace gw::broker
