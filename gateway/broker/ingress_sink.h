// IngressSink: where the broker hands every application message a client
// publishes, and the broker state that must be durable with it (inbound QoS 2
// packet ids and retained messages, issue 3). The app implements it (rules + store); the broker
// never sees either. Called on the broker's io thread; must not block.
//
// The state methods have defaults that keep nothing, so a sink that does not
// persist (tests, tools) only implements on_publish(); the broker then keeps
// its QoS 2 state and retained messages in memory only.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "gateway/core/message.h"
#include "gateway/core/status.h"

namespace gw::broker {

// What the sink keeps together with one message, in the same transaction as
// its rows (or alone when no route wants the message).
struct PublishState {
  // QoS 2 (MQTT 5.0 §4.3.3): record (msg.client_id, packet id) as received,
  // until release_qos2(). The broker answers PUBREC only after done(OK).
  std::optional<uint16_t> qos2_packet_id;
  // msg is a retained PUBLISH the broker took (§3.3.1.3): keep it as the
  // topic's retained message, or delete that when msg.payload is empty.
  bool retained = false;
};

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

  // on_publish() plus `state`, all durable (or none) when done(OK) runs.
  // The message is handed over (the broker is done with it), so a sink can
  // keep it without a copy. Default: on_publish(), keeping nothing.
  virtual void on_publish_with_state(Message msg, const PublishState& state, Done done) {
    (void)state;
    on_publish(msg, std::move(done));
  }

  // The PUBREL for (client_id, packet_id) came: forget the record. `done` as
  // for on_publish (any thread); the broker sends PUBCOMP only after done(OK),
  // so a client can never reuse the packet id while the record still exists.
  virtual void release_qos2(const std::string& client_id, uint16_t packet_id, Done done) {
    (void)client_id;
    (void)packet_id;
    done(Status::ok());
  }

  // The session of `client_id` ended (Clean Start, expiry): forget all its
  // QoS 2 records. Ordered after every earlier call; `done` (may be empty:
  // fire and forget) as for on_publish. A CONNECT that ends a session with
  // records gets its CONNACK only after done(OK): a record that outlived a
  // crash would make a new message with the same packet id look like a
  // retransmission, acknowledged and never stored.
  virtual void drop_qos2(const std::string& client_id, Done done) {
    (void)client_id;
    if (done) done(Status::ok());
  }

  // A retained set (or, with an empty payload, clear) that comes with no
  // message for on_publish (Broker::publish_local). Fire and forget, ordered
  // with every other call.
  virtual void on_retained(const Message& msg) { (void)msg; }
};

}  // namespace gw::broker
