#include "gateway/broker/broker.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <utility>

#include "gateway/broker/connection.h"
#include "gateway/broker/listener.h"
#include "gateway/broker/subscriptions.h"
#include "gateway/core/cpu_affinity.h"
#include "gateway/core/log.h"
#include "gateway/core/wake_batch.h"
#include "gateway/mqtt/topic.h"

namespace gw::broker {
namespace {
// This module's logger (core/log.h).
spdlog::logger& logger() { return log::get(log::Module::kBroker); }

// A QoS 2 message the sink answered: who, for a connection closed meanwhile.
struct Qos2Origin {
  std::string client_id;
  uint16_t packet_id = 0;
  uint64_t session_generation = 0;
};

// The sink's answer to one QoS 1/2 PUBLISH, to be completed on the io thread.
struct IngestDone {
  uint64_t connection_id = 0;
  uint64_t token = 0;  // 0: the drop_qos2 a held CONNACK waits for
  Status status;
  std::optional<Qos2Origin> qos2;
};

// What outlives the broker: sink completions may arrive from any thread after
// stop() or after the broker is gone. They post through this gate, which is
// closed (under the mutex) before the io_context stops or is destroyed.
struct Gate : std::enable_shared_from_this<Gate> {
  std::mutex mu;
  asio::io_context* io = nullptr;  // null once closed
  std::atomic<uint64_t> qos0_refused{0};
  // Ingest answers come in bursts (one store commit answers hundreds of
  // PUBLISHes): they queue here and one posted drain takes them all, so the
  // io thread wakes once and each connection writes its PUBACKs at once.
  // Within a WakeBatch (the store's writer delivering a commit's answers)
  // the drain is posted when the batch ends, not at its first answer.
  std::vector<IngestDone> done;
  bool drain_posted = false;

  // True when posted; false once closed (or before start).
  template <typename F>
  bool post(F&& f) {
    std::lock_guard<std::mutex> lock(mu);
    if (io == nullptr) return false;
    asio::post(*io, std::forward<F>(f));
    return true;
  }

  // Queues `d`; posts `drain` unless one is already on its way.
  template <typename F>
  void queue(IngestDone d, F&& drain) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (io == nullptr) return;
      done.push_back(std::move(d));
      if (drain_posted) return;
      drain_posted = true;
    }
    WakeBatch::defer_wake([self = shared_from_this(), drain = std::forward<F>(drain)]() mutable {
      self->post(std::move(drain));
    });
  }

  // The drain: everything queued so far, into `out` (swapped, so both
  // vectors keep their capacity).
  void take(std::vector<IngestDone>& out) {
    out.clear();
    std::lock_guard<std::mutex> lock(mu);
    out.swap(done);
    drain_posted = false;
  }
};

// One session per client id (MQTT 5.0 §4.1). Subscriptions live in the
// SubscriptionStore under the client id; this is the rest of its state.
struct Session {
  uint64_t connection_id = 0;  // 0 while offline
  ClientIdentity identity;     // of the last connection, for the ACL on deliveries
  uint32_t expiry_s = 0;       // UINT32_MAX: never
  std::chrono::steady_clock::time_point offline_since;
  SessionState state;  // while offline: unacknowledged and queued messages
  uint64_t generation = 0;  // tells a later session of the same client id from this one
};

}  // namespace

class Broker::Impl final : public ConnectionHost {
 public:
  Impl(BrokerOptions options, Authenticator auth, IngressSink& sink, const Clock& clock)
      : options_(std::move(options)),
        sink_(sink),
        clock_(clock),
        gate_(std::make_shared<Gate>()),
        auth_(std::move(auth)),
        sweep_timer_(io_) {
    if (options_.acl) acl_.emplace(*options_.acl);
    for (const ListenerOptions& l : options_.listeners) {
      std::error_code ec;
      const auto a = asio::ip::make_address(l.host, ec);
      loopback_[l.name] = !ec && a.is_loopback();
      if (options_.auth.allow_anonymous == AnonymousPolicy::kAlways && !loopback_[l.name]) {
        logger().warn("broker: anonymous clients are allowed on listener '{}' {}:{} (allow_anonymous: force)", l.name,
                     l.host, l.port);
      }
    }
  }

  ~Impl() override { stop(); }

  Status start() {
    if (started_) return internal_error("broker already started");
    for (const ListenerOptions& lo : options_.listeners) {
      auto l = Listener::bind(io_, lo, [this](std::unique_ptr<Transport> t, const std::string& name) {
        accept(std::move(t), name);
      });
      if (!l.is_ok()) {
        listeners_.clear();
        return l.status();
      }
      logger().info("broker: listener '{}' on {}:{}{}", lo.name, lo.host, l.value()->port(), lo.tls ? " (TLS)" : "");
      listeners_.push_back(std::move(l).value());
    }
    started_ = true;
    {
      std::lock_guard<std::mutex> lock(gate_->mu);
      gate_->io = &io_;
    }
    for (auto& l : listeners_) l->start();
    arm_sweep();
    work_.emplace(io_.get_executor());
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "gw-broker");
      pin_this_thread_logged(options_.cpus, logger(), "broker");
      io_.run();
    });
    return Status::ok();
  }

  void restore(RestoredState state) {
    for (auto& [cid, ids] : state.qos2_received) {
      if (!ids.empty()) restored_qos2_[cid].insert(ids.begin(), ids.end());
    }
    if (!restored_qos2_.empty()) {
      logger().info("broker: QoS 2 flows awaiting PUBREL restored for {} client(s)", restored_qos2_.size());
    }
    size_t ignored = 0;
    for (Message& m : state.retained) {
      if (m.payload.empty()) continue;
      if (retained_.size() >= options_.max_retained_messages && retained_.count(m.topic) == 0) {
        ++ignored;
        continue;
      }
      m.retain = true;
      std::string topic = m.topic;
      retained_[std::move(topic)] = std::move(m);
    }
    totals_.retained_messages = retained_.size();
    if (!retained_.empty()) logger().info("broker: {} retained message(s) restored", retained_.size());
    if (ignored > 0) {
      logger().warn("broker: {} stored retained message(s) not loaded: over max_retained_messages ({})", ignored,
                   options_.max_retained_messages);
    }
  }

  uint16_t bound_port(std::string_view name) const {
    for (const auto& l : listeners_) {
      if (l->name() == name) return l->port();
    }
    return 0;
  }

  Status reload_password_file() {
    if (options_.auth.password_file.empty()) return Status::ok();
    auto file = PasswordFile::load(options_.auth.password_file);
    if (!file.is_ok()) return Status(file.status().code(), "auth: password_file: " + file.status().message());
    const size_t users = file.value().size();
    auto shared = std::make_shared<PasswordFile>(std::move(file).value());
    // The authenticator belongs to the io thread; when it is not running
    // (before start, after stop) nothing else touches it.
    if (!gate_->post([this, shared] { auth_.replace_passwords(std::move(*shared)); })) {
      auth_.replace_passwords(std::move(*shared));
    }
    logger().info("broker: password file {} reloaded ({} user(s))", options_.auth.password_file, users);
    return Status::ok();
  }

  void publish_local(Message msg) {
    gate_->post([this, msg = std::move(msg)]() {
      route(msg, nullptr);
      if (retained_taken(msg)) sink_.on_retained(msg);
    });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(gate_->mu);
      if (gate_->io == nullptr) return;
      gate_->io = nullptr;  // no more completions from now on
    }
    asio::post(io_, [this] {
      for (auto& l : listeners_) l->stop();
      sweep_timer_.cancel();
      for (auto& [name, t] : will_timers_) t->cancel();
      // Copy: closing erases from clients_.
      std::vector<std::shared_ptr<Client>> all;
      for (auto& [id, c] : clients_) all.push_back(c);
      for (auto& c : all) {
        c->connection().shutdown();
        c->flush();
      }
    });
    // Every socket closes once its last bytes are written (or after the
    // linger); then run() runs out of work and returns.
    work_.reset();
    if (thread_.joinable()) thread_.join();
    clients_.clear();
  }

  BrokerStats stats() const {
    BrokerStats s;
    s.connections_current = totals_.connections_current.load();
    s.connections_total = totals_.connections_total.load();
    s.connections_rejected = totals_.connections_rejected.load();
    for (int q = 0; q < 3; ++q) s.messages_in[q] = totals_.messages_in[q].load();
    s.messages_out = totals_.messages_out.load();
    s.bytes_in = totals_.bytes_in.load();
    s.bytes_out = totals_.bytes_out.load();
    s.ingest_refused = totals_.ingest_refused.load() + gate_->qos0_refused.load();
    s.dropped_outbound = totals_.dropped_outbound.load();
    s.protocol_errors = totals_.protocol_errors.load();
    s.retained_messages = totals_.retained_messages.load();
    s.subscriptions = totals_.subscriptions.load();
    s.loop_ticks = totals_.loop_ticks.load();
    s.auth_failures = totals_.auth_failures.load();
    s.tls_handshake_failures = totals_.tls_handshake_failures.load();
    s.publish_denied = totals_.publish_denied.load();
    s.subscribe_denied = totals_.subscribe_denied.load();
    s.topic_refused = totals_.topic_refused.load();
    return s;
  }

  // ConnectionHost:
  ConnectDecision on_connect(Connection& conn, const mqtt::Connect& connect) override;
  void ingest(Connection& conn, Message msg, uint64_t token, std::optional<uint16_t> qos2_packet_id) override;
  void release_qos2(Connection& conn, uint16_t packet_id, uint64_t token) override;
  void route(const Message& msg, const Connection* from) override;
  bool subscribe(Connection& conn, const std::string& full_filter, const SubscriptionOptions& options) override;
  void send_retained(Connection& conn, const std::string& full_filter, const SubscriptionOptions& options,
                     bool is_new) override;
  bool unsubscribe(Connection& conn, const std::string& full_filter) override;
  bool may_publish(const Connection& conn, const std::string& topic) override;
  bool may_subscribe(const Connection& conn, std::string_view filter) override;
  void on_disconnect(Connection& conn, std::optional<WillMessage> will, uint32_t session_expiry_s,
                     SessionState state) override;

 private:
  void accept(std::unique_ptr<Transport> transport, const std::string& listener);
  Client* live_client(uint64_t connection_id);
  // The sink's done() for one ingest (token 0: the drop_qos2 a held CONNACK
  // waits for). Called on any thread, it hops to the io thread; the gate
  // drops it once stopped.
  IngressSink::Done answer_to(uint64_t connection_id, uint64_t token, std::optional<Qos2Origin> origin = {});
  // io thread: completes what the gate queued, then writes each answered
  // connection's acknowledgements once.
  void drain_ingest_done();
  // True when d's connection is live (and has acknowledgements to write).
  bool complete(const IngestDone& d);
  void complete_release(uint64_t connection_id, uint64_t token, const Status& status);
  void publish_will(Message msg);
  // Ends the session; `had_qos2`: it held inbound QoS 2 records, dropped too.
  void end_session(const std::string& client_id, bool had_qos2);
  void arm_sweep();
  void log_auth_failure(const Connection& conn, const std::string& why);
  // After route(msg): msg changed the retained messages (a set that was not
  // refused for max_retained_messages, or a clear), so the sink keeps it.
  bool retained_taken(const Message& msg) const {
    return msg.retain && (msg.payload.empty() || retained_.count(msg.topic) > 0);
  }
  bool may_receive(const Session& s, const std::string& topic) const {
    return !acl_ || acl_->may_receive(s.identity, topic);
  }

  const BrokerOptions options_;
  IngressSink& sink_;
  const Clock& clock_;
  std::shared_ptr<Gate> gate_;  // shared with sink completions that may outlive us
  std::vector<IngestDone> draining_;  // io thread: drain_ingest_done()'s batch
  std::vector<uint64_t> answered_;    // io thread: connections it answered
  Authenticator auth_;          // io thread (its login cache)
  std::optional<Acl> acl_;
  std::map<std::string, bool, std::less<>> loopback_;  // listener name → bound to a loopback address

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
  bool started_ = false;
  std::vector<std::unique_ptr<Listener>> listeners_;
  AtomicCounters totals_;

  // io thread only from here.
  uint64_t next_connection_id_ = 1;
  std::unordered_map<uint64_t, std::shared_ptr<Client>> clients_;
  std::unordered_map<uint64_t, ClientIdentity> identities_;  // connected clients, by connection id
  std::chrono::steady_clock::time_point auth_log_window_;
  int auth_logs_in_window_ = 0;
  std::map<std::string, size_t, std::less<>> open_per_listener_;
  std::unordered_map<std::string, Session> sessions_;
  uint64_t next_session_generation_ = 1;
  // QoS 2 records read from disk at startup (restore()), by client id, until
  // that client connects (then they move to its connection and session).
  std::map<std::string, std::set<uint16_t>, std::less<>> restored_qos2_;
  uint64_t qos2_drops_ = 0;  // drop_qos2 calls by end_session
  SubscriptionStore subscriptions_;
  std::map<std::string, Message, std::less<>> retained_;
  std::map<std::string, std::unique_ptr<asio::steady_timer>, std::less<>> will_timers_;
  asio::steady_timer sweep_timer_;
  std::vector<SubscriptionMatch> matches_;  // reused by route()
};

void Broker::Impl::accept(std::unique_ptr<Transport> transport, const std::string& listener) {
  size_t& open = open_per_listener_[listener];
  const auto lo = std::find_if(options_.listeners.begin(), options_.listeners.end(),
                               [&](const ListenerOptions& l) { return l.name == listener; });
  if (lo != options_.listeners.end() && lo->max_connections > 0 && open >= lo->max_connections) {
    ++totals_.connections_rejected;
    transport->close();
    return;
  }
  ++open;
  ConnectionOptions co;
  co.listener = listener;
  co.max_packet_size = options_.max_packet_size;
  co.max_keepalive = options_.max_keepalive;
  co.connect_timeout = options_.connect_timeout;
  co.max_inflight = options_.max_inflight;
  co.max_queued_messages = options_.max_queued_messages;
  co.receive_maximum = options_.receive_maximum;
  co.topic_alias_maximum = options_.topic_alias_maximum;
  co.max_outbound_topic_aliases = options_.max_outbound_topic_aliases;
  co.max_topic_levels = options_.max_topic_levels;
  co.max_topic_length = options_.max_topic_length;
  if (lo != options_.listeners.end() && lo->tls) co.cert_cn_as_username = lo->tls->cert_cn_as_username;
  const uint64_t id = next_connection_id_++;
  auto client = std::make_shared<Client>(io_, std::move(transport), id, std::move(co),
                                         *this, clock_, totals_, [this, listener](uint64_t closed_id) {
                                           identities_.erase(closed_id);
                                           if (clients_.erase(closed_id) > 0) {
                                             --totals_.connections_current;
                                             --open_per_listener_[listener];
                                           }
                                         });
  clients_.emplace(id, client);
  ++totals_.connections_current;
  ++totals_.connections_total;
  client->start();
}

Client* Broker::Impl::live_client(uint64_t connection_id) {
  auto it = clients_.find(connection_id);
  return it == clients_.end() ? nullptr : it->second.get();
}

void Broker::Impl::log_auth_failure(const Connection& conn, const std::string& why) {
  // Rate-limited: a password-guessing client must not flood the log.
  const auto now = clock_.now();
  if (now - auth_log_window_ >= std::chrono::seconds(10)) {
    if (auth_logs_in_window_ > 20) {
      logger().warn("broker: {} more failed logins not logged", auth_logs_in_window_ - 20);
    }
    auth_log_window_ = now;
    auth_logs_in_window_ = 0;
  }
  if (++auth_logs_in_window_ <= 20) {
    const Client* c = nullptr;
    if (auto it = clients_.find(conn.id()); it != clients_.end()) c = it->second.get();
    logger().warn("broker: login refused on listener '{}' from {} (client '{}'): {}", conn.options().listener,
                 c != nullptr ? c->remote_address() : "?", conn.client_id(), why);
  }
}

bool Broker::Impl::may_publish(const Connection& conn, const std::string& topic) {
  if (!acl_) return true;
  auto it = identities_.find(conn.id());
  return it != identities_.end() && acl_->may_publish(it->second, topic);
}

bool Broker::Impl::may_subscribe(const Connection& conn, std::string_view filter) {
  if (!acl_) return true;
  auto it = identities_.find(conn.id());
  return it != identities_.end() && acl_->may_subscribe(it->second, filter);
}

ConnectDecision Broker::Impl::on_connect(Connection& conn, const mqtt::Connect& connect) {
  ConnectDecision d;
  const std::string& cid = conn.client_id();
  // Authenticate before touching any session: a refused client must not take one over.
  AuthRequest req;
  auto lb = loopback_.find(conn.options().listener);
  req.loopback_listener = lb != loopback_.end() && lb->second;
  req.cert_cn_as_username = conn.options().cert_cn_as_username;
  req.cert_cn = conn.cert_cn();
  req.username = connect.username ? &*connect.username : nullptr;
  req.password = connect.password ? &*connect.password : nullptr;
  req.client_id = cid;
  AuthDecision auth = auth_.authenticate(req);
  if (mqtt::is_error(auth.reason_code)) {
    ++totals_.auth_failures;
    log_auth_failure(conn, auth.why);
    d.reason_code = auth.reason_code;
    return d;
  }
  identities_[conn.id()] = auth.identity;
  const uint64_t drops_before = qos2_drops_;
  auto it = sessions_.find(cid);
  if (it != sessions_.end() && it->second.connection_id != 0 && it->second.connection_id != conn.id()) {
    // §3.1.4-3: take over. The old connection's close may end its session
    // (expiry 0), so look the session up again afterwards.
    if (Client* old = live_client(it->second.connection_id)) {
      old->connection().take_over();
      old->flush();
    }
    it = sessions_.find(cid);
  }
  if (auto t = will_timers_.find(cid); t != will_timers_.end()) {
    // §3.1.3.2.2: reconnecting before the will delay ends cancels the will.
    t->second->cancel();
    will_timers_.erase(t);
  }
  // Whether this CONNECT ends QoS 2 records: the take-over ended the session,
  // a Clean Start ends it, or a Clean Start forgets restored records.
  bool clear_qos2 = qos2_drops_ != drops_before;
  if (connect.clean_start && it != sessions_.end()) {
    clear_qos2 |= !it->second.state.qos2_received.empty();
    end_session(cid, /*had_qos2=*/false);  // dropped below, the CONNACK waiting for it
    it = sessions_.end();
  }
  d.session_present = it != sessions_.end();
  Session& s = sessions_[cid];
  if (!d.session_present) s.generation = next_session_generation_++;
  s.connection_id = conn.id();
  s.identity = std::move(auth.identity);
  if (d.session_present) d.resume = std::exchange(s.state, {});
  if (auto r = restored_qos2_.find(cid); r != restored_qos2_.end()) {
    // Records from before a restart: the only session state that survives
    // one. Session Present stays 0 (subscriptions did not survive, so the
    // client must subscribe again); a Clean Start forgets them.
    if (connect.clean_start) {
      clear_qos2 = true;
    } else {
      d.resume.qos2_received.insert(r->second.begin(), r->second.end());
      d.resume.qos2_restored.insert(r->second.begin(), r->second.end());
    }
    restored_qos2_.erase(r);
  }
  if (clear_qos2) {
    // Hold the CONNACK until the records are gone for good (see
    // IngressSink::drop_qos2). Records restored at start-up exist only until
    // the client's first connection, and a session with records needs one:
    // this never deletes records `resume` keeps.
    d.await_session_cleared = true;
    sink_.drop_qos2(cid, answer_to(conn.id(), 0));
  }
  logger().debug("broker: client '{}' connected (v{}, session present {})", cid, static_cast<int>(conn.version()),
                d.session_present);
  return d;
}

void Broker::Impl::end_session(const std::string& client_id, bool had_qos2) {
  // Ordered after every append of this client, so records still being
  // written are deleted too.
  if (had_qos2) {
    sink_.drop_qos2(client_id, {});
    ++qos2_drops_;
  }
  subscriptions_.remove_client(client_id);
  totals_.subscriptions = subscriptions_.size();
  sessions_.erase(client_id);
}

void Broker::Impl::on_disconnect(Connection& conn, std::optional<WillMessage> will, uint32_t session_expiry_s,
                                 SessionState state) {
  const std::string& cid = conn.client_id();
  auto it = sessions_.find(cid);
  const bool owns_session = it != sessions_.end() && it->second.connection_id == conn.id();
  if (owns_session) {
    if (session_expiry_s == 0) {
      end_session(cid, !state.qos2_received.empty());
    } else {
      it->second.connection_id = 0;
      it->second.expiry_s = session_expiry_s;
      it->second.offline_since = clock_.now();
      it->second.state = std::move(state);
    }
  }
  if (!will) return;
  // §3.1.3.2.2: the will waits min(will delay, session expiry); a reconnect
  // within that time cancels it (see on_connect).
  const uint32_t delay = std::min(will->delay_s, session_expiry_s);
  if (delay == 0 || !owns_session) {
    publish_will(std::move(will->message));
    return;
  }
  auto timer = std::make_unique<asio::steady_timer>(io_, std::chrono::seconds(delay));
  timer->async_wait([this, cid = std::string(cid), msg = std::move(will->message)](const std::error_code& ec) mutable {
    if (ec) return;
    will_timers_.erase(cid);
    publish_will(std::move(msg));
  });
  will_timers_[cid] = std::move(timer);
}

void Broker::Impl::publish_will(Message msg) {
  msg.received_at_ms = clock_.wall_ms();
  route(msg, nullptr);
  // The will goes to the rules like any message the device published; nobody
  // is left to acknowledge it, so its completion only counts.
  PublishState state;
  state.retained = retained_taken(msg);
  sink_.on_publish_with_state(std::move(msg), state, [gate = gate_](const Status& st) {
    if (!st.is_ok()) ++gate->qos0_refused;
  });
}

void Broker::Impl::ingest(Connection& conn, Message msg, uint64_t token, std::optional<uint16_t> qos2_packet_id) {
  // route() ran just before: it decided whether a retained PUBLISH was taken.
  PublishState state;
  state.retained = retained_taken(msg);
  if (token == 0) {
    sink_.on_publish_with_state(std::move(msg), state, [gate = gate_](const Status& st) {
      if (!st.is_ok()) ++gate->qos0_refused;
    });
    return;
  }
  std::optional<Qos2Origin> origin;
  if (qos2_packet_id) {
    state.qos2_packet_id = qos2_packet_id;
    auto s = sessions_.find(conn.client_id());
    origin = Qos2Origin{conn.client_id(), *qos2_packet_id, s != sessions_.end() ? s->second.generation : 0};
  }
  sink_.on_publish_with_state(std::move(msg), state, answer_to(conn.id(), token, std::move(origin)));
}

IngressSink::Done Broker::Impl::answer_to(uint64_t connection_id, uint64_t token, std::optional<Qos2Origin> origin) {
  return [gate = gate_, this, connection_id, token, origin = std::move(origin)](const Status& st) {
    gate->queue(IngestDone{connection_id, token, st, origin}, [this] { drain_ingest_done(); });
  };
}

void Broker::Impl::drain_ingest_done() {
  gate_->take(draining_);
  answered_.clear();
  for (const IngestDone& d : draining_) {
    if (complete(d)) answered_.push_back(d.connection_id);
  }
  std::sort(answered_.begin(), answered_.end());
  answered_.erase(std::unique(answered_.begin(), answered_.end()), answered_.end());
  for (uint64_t id : answered_) {
    if (Client* c = live_client(id)) c->flush();
  }
}

bool Broker::Impl::complete(const IngestDone& d) {
  if (Client* c = live_client(d.connection_id)) {
    if (d.token == 0) {
      c->connection().on_session_cleared(d.status);
    } else {
      c->connection().on_ingest_done(d.token, d.status);
    }
    return true;
  }
  // Closed meanwhile: the device will retransmit. A QoS 2 message is stored
  // with its record now, so its session must know the id, or the
  // retransmission would be stored a second time.
  const std::optional<Qos2Origin>& qos2 = d.qos2;
  if (!qos2 || !d.status.is_ok()) return false;
  auto s = sessions_.find(qos2->client_id);
  if (s == sessions_.end() || s->second.generation != qos2->session_generation) {
    sink_.release_qos2(qos2->client_id, qos2->packet_id, [](const Status&) {});  // that session is over
    return false;
  }
  if (s->second.connection_id == 0) {
    s->second.state.qos2_received.insert(qos2->packet_id);
  } else if (Client* c = live_client(s->second.connection_id)) {
    c->connection().adopt_qos2_received(qos2->packet_id);
  }
  return false;
}

void Broker::Impl::release_qos2(Connection& conn, uint16_t packet_id, uint64_t token) {
  sink_.release_qos2(conn.client_id(), packet_id, [gate = gate_, this, id = conn.id(), token](const Status& st) {
    gate->post([this, id, token, st] { complete_release(id, token, st); });
  });
}

void Broker::Impl::complete_release(uint64_t connection_id, uint64_t token, const Status& status) {
  Client* c = live_client(connection_id);
  if (c == nullptr) return;  // the client sends the PUBREL again after reconnecting
  c->connection().on_release_done(token, status);
  c->flush();
}

void Broker::Impl::route(const Message& msg, const Connection* from) {
  if (msg.retain) {
    // §3.3.1.3: a retained PUBLISH replaces the topic's retained message; an
    // empty payload removes it.
    if (msg.payload.empty()) {
      retained_.erase(msg.topic);
    } else if (retained_.size() < options_.max_retained_messages || retained_.count(msg.topic) > 0) {
      retained_[msg.topic] = msg;
    }
    totals_.retained_messages = retained_.size();
  }
  matches_.clear();
  subscriptions_.match(msg.topic, matches_);
  if (matches_.empty()) return;
  // §3.3.4: one delivery per session, at the highest granted QoS, with every
  // matching subscription identifier.
  struct Target {
    uint8_t qos = 0;
    bool retain_as_published = false;
    std::vector<uint32_t> ids;
  };
  std::map<std::string, Target, std::less<>> targets;
  for (const SubscriptionMatch& m : matches_) {
    if (m.options->no_local && from != nullptr && m.client_id == from->client_id()) continue;
    Target& t = targets[std::string(m.client_id)];
    t.qos = std::max(t.qos, m.options->qos);
    t.retain_as_published = t.retain_as_published || m.options->retain_as_published;
    if (m.options->subscription_id) t.ids.push_back(*m.options->subscription_id);
  }
  std::vector<Client*> touched;
  for (const auto& [cid, t] : targets) {
    auto s = sessions_.find(cid);
    if (s == sessions_.end()) continue;
    if (!may_receive(s->second, msg.topic)) continue;
    const uint8_t qos = std::min(msg.qos, t.qos);
    if (s->second.connection_id == 0) {
      // §3.1.2.4: an offline session keeps QoS 1/2 messages, bounded; QoS 0 is dropped.
      Fifo<OutboundMessage>& q = s->second.state.queue;
      if (qos == 0) continue;
      if (q.size() >= options_.max_queued_messages) {
        ++totals_.dropped_outbound;
        continue;
      }
      q.push_back(OutboundMessage{msg, qos, t.retain_as_published && msg.retain, t.ids, 0, false});
      continue;
    }
    Client* c = live_client(s->second.connection_id);
    if (c == nullptr) continue;
    c->connection().deliver(msg, qos, t.retain_as_published && msg.retain, t.ids);
    if (&c->connection() != from) touched.push_back(c);
  }
  // The publisher's own client is flushed by its read handler.
  for (Client* c : touched) c->flush();
}

bool Broker::Impl::subscribe(Connection& conn, const std::string& full_filter, const SubscriptionOptions& options) {
  const bool is_new = subscriptions_.subscribe(conn.client_id(), full_filter, options);
  totals_.subscriptions = subscriptions_.size();
  return is_new;
}

void Broker::Impl::send_retained(Connection& conn, const std::string& full_filter, const SubscriptionOptions& options,
                                 bool is_new) {
  const std::optional<ParsedFilter> parsed = parse_shared_filter(full_filter);
  // §3.8.4: no retained messages for shared subscriptions; retain handling
  // 1 sends only for a new subscription, 2 never.
  if (!parsed || !parsed->group.empty()) return;
  if (options.retain_handling == 2 || (options.retain_handling == 1 && !is_new)) return;
  std::vector<uint32_t> ids;
  if (options.subscription_id) ids.push_back(*options.subscription_id);
  const auto session = sessions_.find(conn.client_id());
  if (session == sessions_.end()) return;
  // TODO(broker): a trie over retained topics when there are many (issue 3).
  for (const auto& [topic, m] : retained_) {
    if (mqtt::topic_matches(parsed->filter, topic) && may_receive(session->second, topic)) {
      conn.deliver(m, std::min(m.qos, options.qos), true, ids);
    }
  }
}

bool Broker::Impl::unsubscribe(Connection& conn, const std::string& full_filter) {
  const bool existed = subscriptions_.unsubscribe(conn.client_id(), full_filter);
  totals_.subscriptions = subscriptions_.size();
  return existed;
}

void Broker::Impl::arm_sweep() {
  // Ends offline sessions whose expiry interval has passed (§3.1.2.11.2).
  sweep_timer_.expires_after(std::chrono::seconds(1));
  sweep_timer_.async_wait([this](const std::error_code& ec) {
    if (ec) return;
    totals_.loop_ticks.fetch_add(1, std::memory_order_relaxed);
    const auto now = clock_.now();
    std::vector<std::string> expired;
    for (const auto& [cid, s] : sessions_) {
      if (s.connection_id == 0 && s.expiry_s != UINT32_MAX &&
          now - s.offline_since >= std::chrono::seconds(s.expiry_s)) {
        expired.push_back(cid);
      }
    }
    for (const auto& cid : expired) end_session(cid, !sessions_[cid].state.qos2_received.empty());
    arm_sweep();
  });
}

// ---- Broker --------------------------------------------------------------------

Result<std::unique_ptr<Broker>> Broker::create(BrokerOptions options, IngressSink& sink, const Clock& clock) {
  if (options.listeners.empty()) return invalid_argument("broker: no listener configured");
  std::set<std::string> names;
  for (const ListenerOptions& l : options.listeners) {
    if (l.name.empty()) return invalid_argument("broker: a listener has no name");
    if (!names.insert(l.name).second) return invalid_argument("broker: listener name '" + l.name + "' is used twice");
    std::error_code ec;
    asio::ip::make_address(l.host, ec);
    if (ec) return invalid_argument("broker: listener '" + l.name + "': host '" + l.host + "' is not an IP address");
  }
  if (options.max_packet_size < 16) return invalid_argument("broker: max_packet_size is too small");
  if (options.max_inflight == 0 || options.receive_maximum == 0) {
    return invalid_argument("broker: max_inflight and receive_maximum must be at least 1");
  }
  for (const ListenerOptions& l : options.listeners) {
    if (l.tls && (l.tls->cert.empty() || l.tls->key.empty())) {
      return invalid_argument("broker: listener '" + l.name + "': tls needs cert and key");
    }
  }
  auto auth = Authenticator::create(options.auth);
  if (!auth.is_ok()) return auth.status();
  return std::unique_ptr<Broker>(
      new Broker(std::make_unique<Impl>(std::move(options), std::move(auth).value(), sink, clock)));
}

Broker::Broker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Broker::~Broker() { stop(); }
void Broker::restore(RestoredState state) { impl_->restore(std::move(state)); }
Status Broker::start() { return impl_->start(); }
uint16_t Broker::bound_port(std::string_view listener) const { return impl_->bound_port(listener); }
Status Broker::reload_password_file() { return impl_->reload_password_file(); }
void Broker::publish_local(Message msg) { impl_->publish_local(std::move(msg)); }
void Broker::stop() { impl_->stop(); }
BrokerStats Broker::stats() const { return impl_->stats(); }

}  // namespace gw::broker
