// Connection: the MQTT 3.1.1 / 5.0 protocol state machine of one client, with
// no I/O (sans-IO, like async_mqtt's protocol/connection.hpp). Bytes and timer
// ticks go in; bytes to send, a close request and calls on a ConnectionHost
// (the broker: sessions, subscriptions, routing, the ingress sink) come out.
// The listener's socket code drives it; unit tests drive it with byte strings.
//
// Owned by the driver (one per network connection). Broker io thread only;
// not thread-safe. The host is borrowed and must outlive the connection.
//
// Flows (MQTT 5.0 section numbers; 3.1.1 is the same unless noted):
//  - CONNECT (§3.1) must be the first packet, within connect_timeout. A wrong
//    protocol level gets a CONNACK "unacceptable protocol version" in the
//    3.1.1 form (every client version can read it), a wrong protocol name is
//    closed without answer (§3.1.2.1). An empty client id gets one assigned
//    (v5: Assigned Client Identifier), except 3.1.1 with Clean Session 0,
//    which is rejected with return code 2 (3.1.1 §3.1.3.1).
//  - Inbound PUBLISH QoS 0/1/2 goes to the host twice: route() for local
//    subscribers (at once) and ingest() for the sink. QoS 1 PUBACK / QoS 2
//    PUBREC is sent only after on_ingest_done(token, OK), and in the order
//    the PUBLISHes arrived (§4.6). On error: v5 ack with the reason from
//    reason_for_status() (the one Status→ReasonCode mapping, STYLE §5); v3.1.1
//    sends no ack, so the device retransmits.
//  - Inbound QoS 2 (§4.3.3): the host records the packet id durably with the
//    message (ingest() with qos2_packet_id); PUBREC follows the commit. A
//    PUBLISH with an id between PUBREC and PUBREL is a retransmission: PUBREC
//    again, nothing ingested. PUBREL asks the host to forget the id
//    (release_qos2()); PUBCOMP follows its commit, in PUBREL order, so the
//    client cannot reuse the id while the record still exists. Ids restored
//    from disk after a gateway restart (ConnectDecision::resume.qos2_restored)
//    match only a PUBLISH with DUP set: the client was told Session Present 0
//    and may have discarded its state, and a first delivery never has DUP
//    (§3.3.1.1), so a PUBLISH without DUP reusing such an id is a new message.
//    A CONNECT that ends a session with records (Clean Start, a take-over of
//    a session that expires at once) gets its CONNACK only once the host has
//    deleted them (await_session_cleared); input after the CONNECT waits
//    (wants_read() is false meanwhile).
//  - Inbound QoS 1/2 awaiting the sink is bounded by receive_maximum: v5 is
//    told in CONNACK and a client exceeding it is disconnected with 0x93;
//    wants_read() turns false at the bound so the driver stops reading the
//    socket (backpressure for 3.1.1 and for a slow sink).
//  - Outbound deliver(): QoS 0 is written at once; QoS 1/2 gets a packet id
//    and waits in the inflight window (min(max_inflight, client Receive
//    Maximum)), then in a bounded queue; PUBACK / PUBREC-PUBREL-PUBCOMP free
//    the slot.
//  - Outbound topic aliases (v5, §3.3.2.3.4): when the client's CONNECT has a
//    Topic Alias Maximum, each topic sent gets the next free alias, up to
//    min(that maximum, max_outbound_topic_aliases); its first PUBLISH carries
//    topic and alias, later ones the alias and an empty topic. Aliases are
//    never reassigned (the first topics keep them: typical subscribers get a
//    small, stable set of topics) and live as long as the connection, so a
//    reconnect starts afresh. A PUBLISH dropped as too large for the client
//    assigns nothing.
//  - Keep alive (§3.1.2.10): no packet for 1.5 × keep alive closes (v5:
//    DISCONNECT 0x8D). A keep alive above max_keepalive (or 0) is replaced by
//    max_keepalive: v5 is told via Server Keep Alive, 3.1.1 is held to it.
//  - Authorisation: a PUBLISH the host's may_publish() refuses is neither
//    routed nor ingested; QoS 1/2 get PUBACK/PUBREC 0x87 (v5) or, 3.1.1
//    §3.3.5, a positive ack (the message is dropped); QoS 0 is dropped. A
//    refused subscription gets SUBACK 0x87 (v5) / 0x80 (3.1.1). Acks keep
//    arrival order with the sink's (§4.6).
//  - Limits: a topic over max_topic_levels / max_topic_length gets PUBACK /
//    PUBREC 0x90 Topic Name invalid (v5; QoS 0 dropped) or closes the
//    connection (3.1.1, which cannot say why); such a filter gets SUBACK
//    0x8F / 0x80.
//  - A malformed packet closes (v5: DISCONNECT with the decoder's reason,
//    0x81 malformed, 0x82 protocol error, 0x95 too large, ... first).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gateway/broker/subscriptions.h"
#include "gateway/core/clock.h"
#include "gateway/core/fifo.h"
#include "gateway/core/message.h"
#include "gateway/core/status.h"
#include "gateway/mqtt/packet.h"
#include "gateway/mqtt/reason_code.h"

namespace gw::broker {

class Connection;

// Status from the ingress sink → the reason code of a v5 PUBACK / PUBREC.
// kOk → 0x00; kResourceExhausted → 0x97 Quota exceeded; every other code
// (kUnavailable included: the store is down, a refusal, not an ack) → 0x80
// Unspecified error. The sink's message goes in the reason string when the
// client allows problem information. The only place Status meets ReasonCode
// (STYLE §5).
mqtt::ReasonCode reason_for_status(const Status& status);

struct ConnectionOptions {
  std::string listener;                        // name, for logs
  size_t max_packet_size = 256 * 1024;         // inbound, fixed header included (§3.1.2.11.4)
  std::chrono::seconds max_keepalive{60};      // also used when a client asks for 0
  std::chrono::seconds connect_timeout{10};    // socket open → CONNECT
  size_t max_inflight = 20;                    // outbound QoS 1/2 awaiting ack
  size_t max_queued_messages = 1000;           // outbound waiting for an inflight slot
  uint16_t receive_maximum = 64;               // inbound QoS 1/2 awaiting the sink (v5 CONNACK)
  uint16_t topic_alias_maximum = 32;           // inbound topic aliases (v5 CONNACK)
  uint16_t max_outbound_topic_aliases = 64;    // our cap (memory) below the client's maximum; 0: none
  size_t max_topic_levels = 0;                 // PUBLISH topics and filters; 0: no limit
  size_t max_topic_length = 0;                 // bytes; 0: no limit (the codec's 65535)
  bool cert_cn_as_username = false;            // username := set_cert_cn() (TLS listener)
};

// Per-connection counters, read by the broker to sum its stats.
struct ConnectionCounters {
  uint64_t messages_in[3] = {0, 0, 0};  // by QoS
  uint64_t messages_out = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t ingest_refused = 0;    // sink said no
  uint64_t dropped_outbound = 0;  // queue full or too large for the client
  uint64_t protocol_errors = 0;   // closed for a malformed or illegal packet
  uint64_t publish_denied = 0;    // PUBLISH refused by the ACL (not routed, not ingested)
  uint64_t subscribe_denied = 0;  // subscriptions refused by the ACL
  uint64_t topic_refused = 0;     // topic or filter over max_topic_levels / max_topic_length
};

// One outbound application message for a client, queued or in flight.
struct OutboundMessage {
  Message msg;
  uint8_t qos = 0;      // already min(publish, subscription)
  bool retain = false;  // the RETAIN flag to send
  std::vector<uint32_t> subscription_ids;
  uint16_t packet_id = 0;  // set once sent (QoS 1/2)
  bool released = false;   // QoS 2: PUBREC received, PUBREL sent, awaiting PUBCOMP
};

// The part of a session (MQTT 5.0 §4.1) that outlives a network connection:
// what the client has not acknowledged yet. The connection hands it to the
// host in on_disconnect(); the host keeps it (and appends to `queue` while the
// client is offline) and hands it back in ConnectDecision::resume.
struct SessionState {
  std::vector<OutboundMessage> inflight;  // sent, unacknowledged: resent on resume (§4.4)
  Fifo<OutboundMessage> queue;            // not sent yet
  std::set<uint16_t> qos2_received;       // inbound QoS 2 with PUBREC sent, awaiting PUBREL
  // Subset of qos2_received restored from disk after a gateway restart: it
  // matches only a retransmission (DUP set); see the header comment.
  std::set<uint16_t> qos2_restored;
};

// What the broker answers to a CONNECT (auth, sessions). Later: auth result
// (0x86 / 0x87), server reference.
struct ConnectDecision {
  mqtt::ReasonCode reason_code = mqtt::ReasonCode::kSuccess;
  bool session_present = false;
  // With session_present: what to resend and deliver. Without it only its
  // qos2_received / qos2_restored may be set (records restored from disk).
  SessionState resume;
  // The host is deleting an ended session's QoS 2 records: the CONNACK (and
  // everything the client sent after CONNECT) waits for on_session_cleared().
  bool await_session_cleared = false;
};

// A will to publish when the connection ends without DISCONNECT 0x00.
struct WillMessage {
  Message message;
  uint32_t delay_s = 0;  // v5 Will Delay Interval (§3.1.3.2.2)
};

// The broker side of a connection. Called synchronously from inside
// Connection methods, on the io thread. Implementations may call back into
// the same connection's deliver() (e.g. a client subscribed to its own topic).
class ConnectionHost {
 public:
  virtual ~ConnectionHost() = default;
  // A CONNECT was well formed; `conn.client_id()` is final (assigned if it
  // was empty). Take over an existing connection with that id, open or resume
  // the session. A non-success reason rejects the connection.
  virtual ConnectDecision on_connect(Connection& conn, const mqtt::Connect& connect) = 0;
  // An application message for the sink. `token` identifies it in
  // on_ingest_done(); 0 for QoS 0 (nothing to acknowledge). QoS 2: the host
  // records `qos2_packet_id` as received, durable with the message.
  virtual void ingest(Connection& conn, Message msg, uint64_t token, std::optional<uint16_t> qos2_packet_id) = 0;
  // The PUBREL for an inbound QoS 2 id came: forget the record, then call
  // conn.on_release_done(token, status) (from inside this call or later, on
  // the io thread). Default: nothing is recorded, answered at once.
  virtual void release_qos2(Connection& conn, uint16_t packet_id, uint64_t token);
  // Deliver to local subscribers. `from` is null for broker-originated
  // messages (publish_local, wills). Also stores/clears retained when
  // msg.retain is set.
  virtual void route(const Message& msg, const Connection* from) = 0;
  // Adds/replaces one subscription of this session; returns true when new.
  // `full_filter` is valid (shared ones included).
  virtual bool subscribe(Connection& conn, const std::string& full_filter, const SubscriptionOptions& options) = 0;
  // Called after SUBACK: send the retained messages for one new subscription
  // (per retain handling) through conn.deliver(..., retained = true).
  virtual void send_retained(Connection& conn, const std::string& full_filter, const SubscriptionOptions& options,
                             bool is_new) = 0;
  virtual bool unsubscribe(Connection& conn, const std::string& full_filter) = 0;
  // Authorisation (the ACL). may_publish: `topic` is a valid topic name;
  // may_subscribe: `filter` is a valid filter without its $share prefix.
  // Default: everything is allowed.
  virtual bool may_publish(const Connection& conn, const std::string& topic) {
    (void)conn;
    (void)topic;
    return true;
  }
  virtual bool may_subscribe(const Connection& conn, std::string_view filter) {
    (void)conn;
    (void)filter;
    return true;
  }
  // The connection ended (close requested or transport gone), once. `will` is
  // set when the will must be published. The session then lives on (keeping
  // `state`) or ends per its expiry interval.
  virtual void on_disconnect(Connection& conn, std::optional<WillMessage> will, uint32_t session_expiry_s,
                             SessionState state) = 0;
};

class Connection {
 public:
  enum class State : uint8_t { kAwaitConnect, kConnected, kClosed };

  // `id` is unique in the broker (tokens for posted completions use it).
  Connection(uint64_t id, ConnectionOptions options, ConnectionHost& host, const Clock& clock);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // ---- Inputs ----------------------------------------------------------------
  // Bytes read from the socket, in order. Processes every whole packet.
  void on_bytes(std::string_view bytes);
  // Timers: call at or after next_deadline() (extra calls are harmless).
  void on_tick(std::chrono::steady_clock::time_point now);
  // The sink's answer for ingest(token). Unknown tokens (the connection was
  // reset meanwhile) are ignored.
  void on_ingest_done(uint64_t token, const Status& status);
  // The host's answer for release_qos2(token): OK sends the PUBCOMP (in
  // PUBREL order). An error keeps the id and closes the connection (v5:
  // DISCONNECT 0x80) so the client sends the PUBREL again after reconnecting.
  // Unknown tokens are ignored.
  void on_release_done(uint64_t token, const Status& status);
  // The host's answer for ConnectDecision::await_session_cleared: OK sends
  // the held CONNACK and goes on with the input; an error refuses the
  // connection (CONNACK 0x88 Server unavailable / 3.1.1 code 3) without a will.
  void on_session_cleared(const Status& status);
  // An inbound QoS 2 message of this client id whose store commit completed
  // after its connection closed (the client may resend it here): treat `id`
  // as received (PUBREC sent). No effect when the id is already in a flow.
  void adopt_qos2_received(uint16_t packet_id);
  // Outbound application message for this client: `qos` is already
  // min(publish, subscription). `retain` is the RETAIN flag to send;
  // `subscription_ids` go out as v5 Subscription Identifiers. Queued or
  // dropped (counted) when the window is full. Ignored unless connected.
  void deliver(const Message& msg, uint8_t qos, bool retain, const std::vector<uint32_t>& subscription_ids);
  // Another connection took this client id (v5: DISCONNECT 0x8E), or the
  // server shuts down (0x8B): send the DISCONNECT and close.
  void take_over();
  void shutdown();
  // The socket is gone (EOF, error) or was closed after close_requested().
  // Publishes the will if due and tells the host. Idempotent.
  void on_transport_closed();
  // The CN of the client's verified TLS certificate (empty: none), set by the
  // driver after the handshake, before any bytes. Stamped on every Message.
  void set_cert_cn(std::string cn) { cert_cn_ = std::move(cn); }

  // ---- Outputs ---------------------------------------------------------------
  // Bytes to write, in order; the driver moves them out and writes them.
  std::string take_output();
  bool has_output() const { return !output_.empty(); }
  // True once the connection wants the socket closed (after writing output).
  bool close_requested() const { return state_ == State::kClosed; }
  // False while the inbound window is full: stop reading until it is true.
  bool wants_read() const;
  // When on_tick() has something to do next (connect or keep-alive timeout).
  std::chrono::steady_clock::time_point next_deadline() const;

  // ---- Identity --------------------------------------------------------------
  uint64_t id() const { return id_; }
  State state() const { return state_; }
  const std::string& client_id() const { return client_id_; }
  const std::string& username() const { return username_; }
  const std::string& cert_cn() const { return cert_cn_; }
  mqtt::ProtocolVersion version() const { return version_; }
  const ConnectionOptions& options() const { return options_; }
  const ConnectionCounters& counters() const { return counters_; }
  size_t inflight_out() const { return inflight_.size(); }
  size_t queued_out() const { return queue_.size(); }
  size_t pending_in() const { return pending_.size(); }
  // Inbound QoS 2 ids between PUBREC and PUBCOMP (restored ones included).
  const std::set<uint16_t>& qos2_received() const { return qos2_in_acked_; }
  // The reason the connection closed (for logs); empty while open.
  const std::string& close_reason() const { return close_reason_; }

 private:
  // One inbound QoS 1/2 PUBLISH awaiting the sink; answered in arrival order.
  struct PendingAck {
    uint64_t token = 0;
    uint16_t packet_id = 0;
    uint8_t qos = 0;
    std::optional<Status> result;
    // Not kSuccess: refused by the broker itself (ACL, limits) before the sink.
    mqtt::ReasonCode verdict = mqtt::ReasonCode::kSuccess;
    std::string why;
  };

  void handle_frame(std::string_view frame);
  void handle_connect(mqtt::Connect&& c);
  void handle_publish(mqtt::Publish&& p);
  void handle_puback(const mqtt::Puback& p);
  void handle_pubrec(const mqtt::Pubrec& p);
  void handle_pubrel(const mqtt::Pubrel& p);
  void handle_pubcomp(const mqtt::Pubcomp& p);
  void handle_subscribe(mqtt::Subscribe&& s);
  void handle_unsubscribe(mqtt::Unsubscribe&& u);
  void handle_disconnect(const mqtt::Disconnect& d);
  void flush_acks();
  void flush_pubcomps();
  void send_publish(OutboundMessage item);
  // Writes an outbound PUBLISH with its topic alias (v5), unless it is larger
  // than the client's Maximum Packet Size: then false (dropped, counted, no
  // alias assigned).
  bool write_publish(mqtt::Publish& p);
  void resume(SessionState&& state);
  void drain_queue();
  uint16_t next_packet_id();
  size_t send_window() const;
  template <typename P>
  void send(const P& packet);
  // v5: DISCONNECT with `reason` first; 3.1.1: just close.
  void protocol_close(mqtt::ReasonCode reason, std::string why);
  void close(std::string why);
  void finish(bool publish_will);
  std::optional<std::string> problem_text(const std::string& text) const;
  // Empty when `topic` (name or filter) is within the topic limits.
  std::string topic_limit_problem(std::string_view topic) const;

  const uint64_t id_;
  const ConnectionOptions options_;
  ConnectionHost& host_;
  const Clock& clock_;

  State state_ = State::kAwaitConnect;
  bool finished_ = false;  // host told via on_disconnect
  mqtt::ProtocolVersion version_ = mqtt::ProtocolVersion::kV5;
  std::string client_id_;
  std::string username_;
  std::string cert_cn_;
  std::string close_reason_;
  std::string input_;
  std::string output_;

  // Timers.
  std::chrono::steady_clock::time_point opened_at_;
  std::chrono::steady_clock::time_point last_rx_;
  std::chrono::milliseconds keepalive_timeout_{0};  // 0: none

  // Client's limits from CONNECT (v5).
  uint16_t client_receive_maximum_ = 65535;
  uint32_t client_max_packet_size_ = 0;  // 0: no limit
  uint16_t client_topic_alias_maximum_ = 0;  // aliases we may use towards the client
  bool problem_information_ = true;
  uint32_t session_expiry_s_ = 0;
  std::unique_ptr<WillMessage> will_;  // on the heap: ~350 bytes most connections never use
  struct HeldConnack {
    mqtt::Connack ack;
    SessionState resume;
  };
  std::unique_ptr<HeldConnack> held_connack_;  // while await_session_cleared; input waits

  // Inbound.
  uint64_t next_token_ = 1;
  Fifo<PendingAck> pending_;
  std::set<uint16_t> qos2_in_;         // packet ids whose PUBREC is pending or sent, until PUBREL
  std::set<uint16_t> qos2_in_acked_;   // subset: PUBREC sent (resend it on a DUP)
  std::set<uint16_t> qos2_restored_;   // subset of acked: from disk, matched only with DUP
  // PUBRELs awaiting the host's release_qos2(), answered with PUBCOMP in order.
  // Short (wants_read() bounds it by receive_maximum), so a plain vector.
  struct PendingComp {
    uint64_t token = 0;  // 0: unknown id, answered 0x92 without the host
    uint16_t packet_id = 0;
    std::optional<Status> result;
  };
  std::vector<PendingComp> pending_comp_;
  std::unordered_map<uint16_t, std::string> topic_aliases_;

  // Outbound.
  uint16_t last_packet_id_ = 0;
  std::map<uint16_t, OutboundMessage> inflight_;
  Fifo<OutboundMessage> queue_;
  std::unordered_map<std::string, uint16_t> out_aliases_;  // topic → our alias (v5)

  ConnectionCounters counters_;
};

}  // namespace gw::broker
