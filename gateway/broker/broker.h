// Broker: the embedded MQTT 3.1.1 / 5.0 server devices publish to. It owns
// the listeners, every client connection, the subscriptions and the retained
// messages, and hands each application message to an IngressSink (the app's
// rules + store). Local subscribers receive messages as from any broker.
//
// Threads: one asio io_context thread, named "gw-broker", owns all sockets
// and protocol state (connection.h). The public methods below are callable
// from any thread unless noted. The sink is called on the io thread; its
// `done` may be called from any thread and is posted back to the io thread
// (a connection that closed meanwhile is tolerated, and so is a broker that
// was stopped or destroyed: the completion is then dropped).
//
// Owned by the app; not copyable. The sink and the clock are borrowed and
// must outlive the broker.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/broker/acl.h"
#include "gateway/broker/auth.h"
#include "gateway/broker/ingress_sink.h"
#include "gateway/core/clock.h"
#include "gateway/core/message.h"
#include "gateway/core/status.h"

namespace gw::broker {

// Server-side TLS of one listener (OpenSSL through asio::ssl). TLS 1.2 is
// the minimum. Files are PEM and read once by Broker::start().
struct TlsOptions {
  std::string cert;       // server certificate chain (required)
  std::string key;        // its private key (required, unencrypted)
  std::string client_ca;  // CA file to verify client certificates; empty: none asked for
  // Refuse the handshake when the client sends no certificate (needs client_ca).
  // Without it a client certificate is optional, but verified when sent.
  bool require_client_cert = false;
  // The verified certificate's subject CN becomes the MQTT username (the
  // CONNECT's username and password are ignored); a client without a
  // certificate is then refused (CONNACK 0x87 / 5).
  bool cert_cn_as_username = false;
};

struct ListenerOptions {
  std::string name;                // for logs and bound_port()
  std::string host = "127.0.0.1";  // IPv4 or IPv6 literal
  uint16_t port = 1883;            // 0: any free port (read it with bound_port())
  size_t max_connections = 0;      // open sockets on this listener; 0: no limit. Beyond: closed at once
  std::optional<TlsOptions> tls{};  // default: plain TCP
};

struct BrokerOptions {
  std::vector<ListenerOptions> listeners;
  size_t max_packet_size = 256 * 1024;        // inbound, bytes, whole packet (0x95 above)
  std::chrono::seconds max_keepalive{60};     // clients asking more (or 0) are held to it
  std::chrono::seconds connect_timeout{10};   // socket open → CONNECT received
  size_t max_inflight = 20;                   // per connection, outbound QoS 1/2 unacked
  size_t max_queued_messages = 1000;          // per connection, outbound beyond the window
  uint16_t receive_maximum = 64;              // per connection, inbound QoS 1/2 awaiting the sink
  uint16_t topic_alias_maximum = 32;          // per connection, inbound topic aliases (v5)
  uint16_t max_outbound_topic_aliases = 64;   // per connection, aliases we assign (v5), at most the client's maximum
  size_t max_retained_messages = 10000;       // new topics beyond it are not retained
  size_t max_topic_levels = 16;               // PUBLISH topics and SUBSCRIBE filters (0x90 / 0x8F)
  size_t max_topic_length = 1024;             // bytes (0x90 / 0x8F)
  std::vector<int> cpus;                      // the io thread's CPUs (gateway.cpu_affinity.broker); empty: not pinned
  AuthOptions auth{};                         // auth.h: anonymous policy, password file
  std::optional<std::vector<AclRule>> acl{};  // acl.h; unset: authenticated clients may do anything
};

// Counters since start(); a snapshot, safe to read from any thread.
struct BrokerStats {
  uint64_t connections_current = 0;
  uint64_t connections_total = 0;   // accepted sockets
  uint64_t connections_rejected = 0;  // over a listener's max_connections
  uint64_t messages_in[3] = {0, 0, 0};  // inbound PUBLISH by QoS
  uint64_t messages_out = 0;        // PUBLISH sent to subscribers
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t ingest_refused = 0;      // the sink answered an error (no positive ack)
  uint64_t dropped_outbound = 0;    // subscriber queue full / too large for the client
  uint64_t protocol_errors = 0;     // connections closed for malformed or illegal packets
  uint64_t retained_messages = 0;   // current
  uint64_t subscriptions = 0;       // current, over all sessions
  uint64_t loop_ticks = 0;          // +1 per second while the io thread runs timers (watchdog)
  uint64_t auth_failures = 0;       // CONNECT refused with 0x86 / 0x87 (bad credentials, not allowed)
  uint64_t tls_handshake_failures = 0;
  uint64_t publish_denied = 0;      // PUBLISH refused by the ACL
  uint64_t subscribe_denied = 0;    // subscriptions refused by the ACL
  uint64_t topic_refused = 0;       // topics / filters over max_topic_levels or max_topic_length
};

// Broker state the app read back from disk at startup (issue 3).
struct RestoredState {
  // Inbound QoS 2 packet ids answered with PUBREC and awaiting PUBREL, by
  // client id (IngressSink::on_publish_with_state recorded them).
  std::map<std::string, std::vector<uint16_t>, std::less<>> qos2_received;
  // Retained messages (IngressSink's PublishState::retained / on_retained
  // wrote them). Beyond max_retained_messages the rest is ignored (logged).
  std::vector<Message> retained;
};

class Broker {
 public:
  // Validates the options (at least one listener, unique names, parseable
  // hosts) and reads the password file (main thread: the only file read).
  // Binds nothing yet. Errors: kInvalidArgument naming the problem, kNotFound
  // for a missing password file.
  static Result<std::unique_ptr<Broker>> create(BrokerOptions options, IngressSink& sink, const Clock& clock);
  ~Broker();  // stop()
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // Takes the state read back from disk. Requires: before start(), main
  // thread. A client with QoS 2 records gets them on its next connection
  // without Clean Start (Session Present is still 0: nothing else of its
  // session survived); a Clean Start drops them (IngressSink::drop_qos2).
  void restore(RestoredState state);

  // Binds every listener (port 0 = any free port) and starts the io thread.
  // Errors (nothing is left running): kUnavailable "listener 'local'
  // 127.0.0.1:1883: Address already in use". Call once; blocks until bound.
  Status start();

  // The port a listener is bound to after start(); 0 for an unknown name or
  // before start().
  uint16_t bound_port(std::string_view listener) const;

  // Delivers `msg` to local subscribers (republish, cloud-to-device
  // downlink), as if published with msg.qos and msg.retain (retain stores or,
  // with an empty payload, clears the retained message). Does not go to the
  // sink, except a retained set/clear (IngressSink::on_retained). Thread-safe,
  // never blocks; dropped when not running.
  void publish_local(Message msg);

  // Reads the configured password file again (main thread: file I/O) and,
  // when it parses, makes it the one new logins are checked against (posted
  // to the io thread; cached logins are forgotten). Connected clients stay.
  // Errors (the users in use are kept): kNotFound, kInvalidArgument
  // "FILE:LINE: why", prefixed "auth: password_file: ". OK and nothing read
  // when no password_file is configured.
  Status reload_password_file();

  // Stops accepting, sends v5 clients DISCONNECT 0x8B, closes every
  // connection and joins the io thread. Pending sink completions are dropped
  // (their messages were not acknowledged). Idempotent; blocks.
  void stop();

  BrokerStats stats() const;

 private:
  class Impl;
  explicit Broker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gw::broker
