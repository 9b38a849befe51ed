#include "gateway/broker/connection.h"

#include <algorithm>
#include <utility>

#include "gateway/mqtt/codec.h"
#include "gateway/mqtt/properties.h"
#include "gateway/mqtt/topic.h"

namespace gw::broker {

using mqtt::ProtocolVersion;
using mqtt::ReasonCode;

mqtt::ReasonCode reason_for_status(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return ReasonCode::kSuccess;
    case StatusCode::kResourceExhausted:
      return ReasonCode::kQuotaExceeded;
    default:
      return ReasonCode::kUnspecifiedError;
  }
}

namespace {

// The protocol name and level of a CONNECT frame, read without the decoder so
// that a CONNECT the decoder refuses can still be answered per its level.
struct ProtocolId {
  std::string_view name;
  int level = -1;
};
ProtocolId peek_protocol(std::string_view frame, size_t header_size) {
  ProtocolId id;
  if (frame.size() < header_size + 2) return id;
  const std::string_view vh = frame.substr(header_size);
  const size_t len = (static_cast<uint8_t>(vh[0]) << 8) | static_cast<uint8_t>(vh[1]);
  if (vh.size() < 2 + len) return id;
  id.name = vh.substr(2, len);
  if (vh.size() > 2 + len) id.level = static_cast<uint8_t>(vh[2 + len]);
  return id;
}

// A reason string (§3.14.2.2.3) built from text that may quote client bytes
// (a topic, a decoder message): printable ASCII only, bounded, so it is
// always valid MQTT UTF-8 and cannot be used to bloat the answer.
std::string safe_reason(std::string_view text) {
  constexpr size_t kMax = 200;
  std::string out;
  out.reserve(std::min(text.size(), kMax));
  for (char c : text.substr(0, kMax)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

}  // namespace

void ConnectionHost::release_qos2(Connection& conn, uint16_t packet_id, uint64_t token) {
  (void)packet_id;
  conn.on_release_done(token, Status::ok());
}

Connection::Connection(uint64_t id, ConnectionOptions options, ConnectionHost& host, const Clock& clock)
    : id_(id), options_(std::move(options)), host_(host), clock_(clock) {
  opened_at_ = clock_.now();
  last_rx_ = opened_at_;
}

// ---- Inputs ------------------------------------------------------------------

void Connection::on_bytes(std::string_view bytes) {
  if (state_ == State::kClosed) return;
  counters_.bytes_in += bytes.size();
  input_.append(bytes);
  size_t offset = 0;
  while (state_ != State::kClosed && !held_connack_ && offset < input_.size()) {
    const std::string_view rest = std::string_view(input_).substr(offset);
    const mqtt::FrameResult f = mqtt::scan_frame(rest, options_.max_packet_size);
    if (f.state == mqtt::FrameState::kNeedMore) break;
    if (f.state == mqtt::FrameState::kError) {
      protocol_close(f.reason_code, std::string(f.message));
      break;
    }
    last_rx_ = clock_.now();
    // `rest` stays valid: handlers never touch input_ (only output_).
    if (state_ == State::kAwaitConnect) {
      const std::string_view frame = rest.substr(0, f.size);
      if ((static_cast<uint8_t>(frame[0]) >> 4) != static_cast<uint8_t>(mqtt::PacketType::kConnect)) {
        close("first packet is not CONNECT");
        break;
      }
      mqtt::DecodeResult r = mqtt::decode(frame, ProtocolVersion::kV5);
      if (!r) {
        const ProtocolId pid = peek_protocol(frame, f.header_size);
        if (pid.name != "MQTT" && pid.name != "MQIsdp") {
          // §3.1.2.1: a wrong protocol name may be closed without CONNACK.
          close("CONNECT with unknown protocol name");
        } else if (r.error().reason_code == ReasonCode::kUnsupportedProtocolVersion || (pid.level != 4 && pid.level != 5)) {
          // 3.1.1 §3.1.2.2 / 5.0 §3.1.2.2: answer in the 3.1.1 form (return
          // code 1), which clients of every version understand.
          mqtt::Connack ack;
          ack.reason_code = ReasonCode::kUnsupportedProtocolVersion;
          mqtt::encode(ack, ProtocolVersion::kV311, output_);
          close("unsupported protocol level " + std::to_string(pid.level));
        } else {
          // §3.1.4: a v5 server may answer a bad CONNECT with a CONNACK reason.
          if (pid.level == 5) {
            mqtt::Connack ack;
            ack.reason_code = r.error().reason_code;
            ack.properties.reason_string = safe_reason(r.error().message);
            mqtt::encode(ack, ProtocolVersion::kV5, output_);
          }
          close("bad CONNECT: " + r.error().message);
        }
        break;
      }
      handle_connect(std::get<mqtt::Connect>(std::move(r).packet()));
    } else {
      handle_frame(rest.substr(0, f.size));
    }
    offset += f.size;
  }
  if (state_ == State::kClosed) {
    input_.clear();
  } else {
    input_.erase(0, offset);
  }
}

void Connection::on_tick(std::chrono::steady_clock::time_point now) {
  if (state_ == State::kAwaitConnect && now >= opened_at_ + options_.connect_timeout) {
    close("no CONNECT within the connect timeout");
  } else if (state_ == State::kConnected && keepalive_timeout_.count() > 0 && now >= last_rx_ + keepalive_timeout_) {
    protocol_close(ReasonCode::kKeepAliveTimeout, "keep alive timeout");
  }
}

void Connection::on_ingest_done(uint64_t token, const Status& status) {
  for (PendingAck& p : pending_) {
    if (p.token == token) {
      p.result = status;
      break;
    }
  }
  flush_acks();
}

void Connection::on_release_done(uint64_t token, const Status& status) {
  for (PendingComp& p : pending_comp_) {
    if (p.token == token) {
      p.result = status;
      break;
    }
  }
  flush_pubcomps();
}

void Connection::adopt_qos2_received(uint16_t packet_id) {
  if (state_ != State::kConnected || qos2_in_.count(packet_id) > 0) return;
  qos2_in_.insert(packet_id);
  qos2_in_acked_.insert(packet_id);
}

void Connection::deliver(const Message& msg, uint8_t qos, bool retain, const std::vector<uint32_t>& subscription_ids) {
  if (state_ != State::kConnected) return;
  OutboundMessage item{msg, qos, retain, subscription_ids, 0, false};
  if (qos == 0 || (queue_.empty() && inflight_.size() < send_window())) {
    send_publish(std::move(item));
  } else if (queue_.size() < options_.max_queued_messages) {
    queue_.push_back(std::move(item));
  } else {
    ++counters_.dropped_outbound;
  }
}

void Connection::take_over() {
  protocol_close(ReasonCode::kSessionTakenOver, "session taken over by a new connection");
}

void Connection::shutdown() {
  // A server shutdown is not the device going away: its will is not published.
  will_.reset();
  protocol_close(ReasonCode::kServerShuttingDown, "server shutting down");
}

void Connection::on_transport_closed() { close("connection lost"); }

// ---- Outputs -----------------------------------------------------------------

std::string Connection::take_output() { return std::exchange(output_, {}); }

bool Connection::wants_read() const {
  return state_ != State::kClosed && !held_connack_ &&
         pending_.size() + pending_comp_.size() < options_.receive_maximum;
}

std::chrono::steady_clock::time_point Connection::next_deadline() const {
  if (state_ == State::kAwaitConnect) return opened_at_ + options_.connect_timeout;
  if (state_ == State::kConnected && keepalive_timeout_.count() > 0) return last_rx_ + keepalive_timeout_;
  return std::chrono::steady_clock::time_point::max();
}

// ---- Packets -----------------------------------------------------------------

void Connection::handle_frame(std::string_view frame) {
  mqtt::DecodeResult r = mqtt::decode(frame, version_);
  if (!r) {
    protocol_close(r.error().reason_code, r.error().message);
    return;
  }
  mqtt::Packet& packet = r.packet();
  switch (mqtt::type_of(packet)) {
    case mqtt::PacketType::kPublish:
      return handle_publish(std::get<mqtt::Publish>(std::move(packet)));
    case mqtt::PacketType::kPuback:
      return handle_puback(std::get<mqtt::Puback>(packet));
    case mqtt::PacketType::kPubrec:
      return handle_pubrec(std::get<mqtt::Pubrec>(packet));
    case mqtt::PacketType::kPubrel:
      return handle_pubrel(std::get<mqtt::Pubrel>(packet));
    case mqtt::PacketType::kPubcomp:
      return handle_pubcomp(std::get<mqtt::Pubcomp>(packet));
    case mqtt::PacketType::kSubscribe:
      return handle_subscribe(std::get<mqtt::Subscribe>(std::move(packet)));
    case mqtt::PacketType::kUnsubscribe:
      return handle_unsubscribe(std::get<mqtt::Unsubscribe>(std::move(packet)));
    case mqtt::PacketType::kPingreq:
      return send(mqtt::Pingresp{});
    case mqtt::PacketType::kDisconnect:
      return handle_disconnect(std::get<mqtt::Disconnect>(packet));
    case mqtt::PacketType::kConnect:
      // §3.1.0: a second CONNECT is a Protocol Error.
      return protocol_close(ReasonCode::kProtocolError, "second CONNECT");
    case mqtt::PacketType::kAuth:
      // TODO(broker): enhanced authentication (issue 3); no method is offered.
      return protocol_close(ReasonCode::kProtocolError, "AUTH without an authentication method");
    default:
      // CONNACK, SUBACK, UNSUBACK, PINGRESP are server-to-client only.
      return protocol_close(ReasonCode::kProtocolError,
                            std::string(mqtt::to_string(mqtt::type_of(packet))) + " from a client");
  }
}

void Connection::handle_connect(mqtt::Connect&& c) {
  version_ = c.version;
  const bool v5 = version_ == ProtocolVersion::kV5;
  bool assigned = false;
  if (c.client_id.empty()) {
    if (!v5 && !c.clean_start) {
      // 3.1.1 §3.1.3.1: zero-byte id with Clean Session 0 → return code 2.
      mqtt::Connack ack;
      ack.reason_code = ReasonCode::kClientIdentifierNotValid;
      send(ack);
      close("empty client id with clean session 0");
      return;
    }
    c.client_id = "gw-" + std::to_string(clock_.wall_ms()) + "-" + std::to_string(id_);
    assigned = true;
  }
  client_id_ = c.client_id;
  // With cert_cn_as_username the certificate names the client; without a
  // certificate the username is empty and the host refuses it.
  username_ = options_.cert_cn_as_username ? cert_cn_ : c.username.value_or("");

  // Keep alive (§3.1.2.10, §3.2.2.3.14): 0 or more than the maximum is held to the maximum.
  const uint32_t max_ka = static_cast<uint32_t>(options_.max_keepalive.count());
  uint32_t ka = c.keep_alive_s;
  if (max_ka > 0 && (ka == 0 || ka > max_ka)) ka = max_ka;
  keepalive_timeout_ = std::chrono::milliseconds(static_cast<int64_t>(ka) * 1500);

  if (v5) {
    client_receive_maximum_ = c.properties.receive_maximum.value_or(65535);
    client_max_packet_size_ = c.properties.maximum_packet_size.value_or(0);
    problem_information_ = c.properties.request_problem_information.value_or(1) != 0;
    session_expiry_s_ = c.properties.session_expiry_interval_s.value_or(0);
    client_topic_alias_maximum_ =
        std::min(c.properties.topic_alias_maximum.value_or(0), options_.max_outbound_topic_aliases);
  } else {
    // 3.1.1: Clean Session 0 keeps the session with no expiry.
    session_expiry_s_ = c.clean_start ? 0 : UINT32_MAX;
  }
  if (c.will) {
    WillMessage w;
    w.delay_s = c.will->properties.will_delay_interval_s.value_or(0);
    w.message.topic = c.will->topic;
    w.message.payload = c.will->payload;
    w.message.qos = c.will->qos;
    w.message.retain = c.will->retain;
    mqtt::Properties props = c.will->properties;
    w.message.properties = mqtt::take_message_properties(props);
    w.message.client_id = client_id_;
    w.message.username = username_;
    w.message.cert_cn = cert_cn_;
    w.message.protocol_version = static_cast<uint8_t>(version_);
    will_ = std::make_unique<WillMessage>(std::move(w));
  }

  state_ = State::kConnected;
  ConnectDecision decision = host_.on_connect(*this, c);
  mqtt::Connack ack;
  ack.reason_code = decision.reason_code;
  if (mqtt::is_error(decision.reason_code)) {
    finished_ = true;  // the host did not take the connection
    will_.reset();
    send(ack);
    close("CONNECT refused: " + std::string(mqtt::to_string(decision.reason_code)));
    return;
  }
  ack.session_present = decision.session_present;
  if (v5) {
    if (assigned) ack.properties.assigned_client_identifier = client_id_;
    if (ka != c.keep_alive_s) ack.properties.server_keep_alive_s = static_cast<uint16_t>(ka);
    ack.properties.receive_maximum = options_.receive_maximum;
    ack.properties.topic_alias_maximum = options_.topic_alias_maximum;
    if (options_.max_packet_size < UINT32_MAX) {
      ack.properties.maximum_packet_size = static_cast<uint32_t>(options_.max_packet_size);
    }
  }
  if (decision.await_session_cleared) {
    held_connack_ = std::make_unique<HeldConnack>(HeldConnack{std::move(ack), std::move(decision.resume)});
    return;
  }
  send(ack);
  // Without a session only restored QoS 2 records can be in `resume`.
  resume(std::move(decision.resume));
}

void Connection::on_session_cleared(const Status& status) {
  if (!held_connack_ || state_ == State::kClosed) return;
  HeldConnack held = std::move(*held_connack_);
  held_connack_.reset();
  if (!status.is_ok()) {
    // The old records may still be on disk: refused, the client tries again.
    will_.reset();
    mqtt::Connack refused;
    refused.reason_code = ReasonCode::kServerUnavailable;
    send(refused);
    close("CONNECT refused: the ended session's QoS 2 records could not be deleted: " + status.to_string());
    return;
  }
  send(held.ack);
  resume(std::move(held.resume));
  on_bytes({});  // what the client sent after its CONNECT
}

void Connection::handle_publish(mqtt::Publish&& p) {
  const bool v5 = version_ == ProtocolVersion::kV5;
  if (v5 && p.properties.topic_alias) {
    // §3.3.2.3.4: aliases are per connection, 1..Topic Alias Maximum.
    const uint16_t alias = *p.properties.topic_alias;
    if (alias == 0 || alias > options_.topic_alias_maximum) {
      return protocol_close(ReasonCode::kTopicAliasInvalid, "topic alias out of range");
    }
    if (p.topic.empty()) {
      auto it = topic_aliases_.find(alias);
      if (it == topic_aliases_.end()) return protocol_close(ReasonCode::kProtocolError, "unknown topic alias");
      p.topic = it->second;
    } else {
      topic_aliases_[alias] = p.topic;
    }
    p.properties.topic_alias.reset();
  }
  if (p.topic.empty()) return protocol_close(ReasonCode::kProtocolError, "PUBLISH without a topic");
  if (const std::string_view why = mqtt::check_topic_name(p.topic); !why.empty()) {
    return protocol_close(ReasonCode::kTopicNameInvalid, std::string(why));
  }
  const uint8_t qos = p.qos;
  const uint16_t packet_id = p.packet_id;
  if (qos == 2 && qos2_in_.count(packet_id) > 0) {
    if (qos2_restored_.count(packet_id) > 0 && !p.dup) {
      // A record from before a restart, and a first delivery (§3.3.1.1: a
      // re-delivery has DUP set): the client finished or forgot that flow.
      qos2_restored_.erase(packet_id);
      qos2_in_acked_.erase(packet_id);
      qos2_in_.erase(packet_id);
    } else {
      // §4.3.3: a retransmitted QoS 2 PUBLISH is not delivered again.
      if (qos2_in_acked_.count(packet_id) > 0) send(mqtt::Pubrec{packet_id, ReasonCode::kSuccess, {}});
      return;
    }
  }
  // Restored records do not count: the client may not know about them.
  if (qos > 0 && v5 &&
      pending_.size() + qos2_in_acked_.size() - qos2_restored_.size() >= options_.receive_maximum) {
    return protocol_close(ReasonCode::kReceiveMaximumExceeded, "more unacknowledged PUBLISHes than Receive Maximum");
  }
  ReasonCode verdict = ReasonCode::kSuccess;
  std::string why = topic_limit_problem(p.topic);
  if (!why.empty()) {
    verdict = ReasonCode::kTopicNameInvalid;
    ++counters_.topic_refused;
    // 3.1.1 has no negative ack; a positive one would claim the message was taken.
    if (!v5) return protocol_close(verdict, why);
  } else if (!host_.may_publish(*this, p.topic)) {
    verdict = ReasonCode::kNotAuthorized;
    why = "not authorized to publish to '" + p.topic + "'";
    ++counters_.publish_denied;
  }
  if (verdict != ReasonCode::kSuccess) {
    if (qos == 0) return;  // nothing to answer
    pending_.push_back(PendingAck{0, packet_id, qos, Status::ok(), verdict, std::move(why)});
    if (qos == 2) qos2_in_.insert(packet_id);
    flush_acks();
    return;
  }
  ++counters_.messages_in[qos];

  Message msg = mqtt::to_message(std::move(p), version_);
  msg.client_id = client_id_;
  msg.username = username_;
  msg.cert_cn = cert_cn_;
  msg.received_at_ms = clock_.wall_ms();
  host_.route(msg, this);
  if (state_ == State::kClosed) return;
  if (qos == 0) {
    host_.ingest(*this, std::move(msg), 0, std::nullopt);
    return;
  }
  const uint64_t token = next_token_++;
  pending_.push_back(PendingAck{token, packet_id, qos, std::nullopt, ReasonCode::kSuccess, {}});
  std::optional<uint16_t> qos2_id;
  if (qos == 2) {
    qos2_in_.insert(packet_id);
    qos2_id = packet_id;
  }
  host_.ingest(*this, std::move(msg), token, qos2_id);
}

void Connection::flush_acks() {
  while (!pending_.empty() && pending_.front().result) {
    const PendingAck p = std::move(pending_.front());
    pending_.pop_front();
    if (p.verdict != ReasonCode::kSuccess) {
      // Refused by the broker: v5 says why; 3.1.1 §3.3.5 acknowledges
      // positively and drops (its QoS 2 flow then completes normally).
      const bool v5 = version_ == ProtocolVersion::kV5;
      const ReasonCode reason = v5 ? p.verdict : ReasonCode::kSuccess;
      if (p.qos == 2) {
        if (v5) {
          qos2_in_.erase(p.packet_id);
        } else {
          qos2_in_acked_.insert(p.packet_id);
        }
      }
      if (state_ == State::kClosed) continue;
      if (p.qos == 1) {
        mqtt::Puback ack{p.packet_id, reason, {}};
        if (v5) ack.properties.reason_string = problem_text(p.why);
        send(ack);
      } else {
        mqtt::Pubrec ack{p.packet_id, reason, {}};
        if (v5) ack.properties.reason_string = problem_text(p.why);
        send(ack);
      }
      continue;
    }
    const Status& st = *p.result;
    const ReasonCode reason = reason_for_status(st);
    if (!st.is_ok()) ++counters_.ingest_refused;
    if (p.qos == 2) {
      if (st.is_ok()) {
        qos2_in_acked_.insert(p.packet_id);
      } else {
        qos2_in_.erase(p.packet_id);  // the flow ends; a resend is a new message
      }
    }
    if (state_ == State::kClosed) continue;
    if (!st.is_ok() && version_ != ProtocolVersion::kV5) continue;  // 3.1.1: no ack, the device retransmits
    if (p.qos == 1) {
      mqtt::Puback ack{p.packet_id, reason, {}};
      if (!st.is_ok()) ack.properties.reason_string = problem_text(st.message());
      send(ack);
    } else {
      mqtt::Pubrec ack{p.packet_id, reason, {}};
      if (!st.is_ok()) ack.properties.reason_string = problem_text(st.message());
      send(ack);
    }
  }
}

void Connection::handle_puback(const mqtt::Puback& p) {
  auto it = inflight_.find(p.packet_id);
  if (it == inflight_.end() || it->second.qos != 1) return;  // unknown id: ignore
  inflight_.erase(it);
  drain_queue();
}

void Connection::handle_pubrec(const mqtt::Pubrec& p) {
  auto it = inflight_.find(p.packet_id);
  if (it == inflight_.end() || it->second.qos != 2) {
    send(mqtt::Pubrel{p.packet_id, ReasonCode::kPacketIdentifierNotFound, {}});
    return;
  }
  if (mqtt::is_error(p.reason_code)) {  // §4.3.3: an error PUBREC ends the flow
    inflight_.erase(it);
    drain_queue();
    return;
  }
  it->second.released = true;
  send(mqtt::Pubrel{p.packet_id, ReasonCode::kSuccess, {}});
}

void Connection::handle_pubrel(const mqtt::Pubrel& p) {
  if (qos2_in_acked_.count(p.packet_id) == 0) {
    // §4.3.3: 0x92 Packet Identifier not found (3.1.1: a plain PUBCOMP).
    pending_comp_.push_back(PendingComp{0, p.packet_id, Status::ok()});
    flush_pubcomps();
    return;
  }
  const uint64_t token = next_token_++;
  pending_comp_.push_back(PendingComp{token, p.packet_id, std::nullopt});
  host_.release_qos2(*this, p.packet_id, token);  // may answer from inside
}

void Connection::flush_pubcomps() {
  while (state_ != State::kClosed && !pending_comp_.empty() && pending_comp_.front().result) {
    const PendingComp p = std::move(pending_comp_.front());
    pending_comp_.erase(pending_comp_.begin());
    if (p.token == 0) {
      send(mqtt::Pubcomp{p.packet_id, ReasonCode::kPacketIdentifierNotFound, {}});
      continue;
    }
    if (!p.result->is_ok()) {
      // The record stays: without PUBCOMP the client sends PUBREL again on
      // its next connection (§4.4), which we force now.
      const std::string why = "cannot record the PUBREL: " + p.result->message();
      if (version_ == ProtocolVersion::kV5) {
        mqtt::Disconnect d;
        d.reason_code = ReasonCode::kUnspecifiedError;
        d.properties.reason_string = problem_text(why);
        send(d);
      }
      close(why);
      return;
    }
    qos2_in_acked_.erase(p.packet_id);
    qos2_in_.erase(p.packet_id);
    qos2_restored_.erase(p.packet_id);
    send(mqtt::Pubcomp{p.packet_id, ReasonCode::kSuccess, {}});
  }
}

void Connection::handle_pubcomp(const mqtt::Pubcomp& p) {
  auto it = inflight_.find(p.packet_id);
  if (it == inflight_.end() || it->second.qos != 2) return;
  inflight_.erase(it);
  drain_queue();
}

void Connection::handle_subscribe(mqtt::Subscribe&& s) {
  const bool v5 = version_ == ProtocolVersion::kV5;
  std::optional<uint32_t> sub_id;
  if (!s.properties.subscription_identifiers.empty()) sub_id = s.properties.subscription_identifiers.front();
  mqtt::Suback ack;
  ack.packet_id = s.packet_id;
  struct Granted {
    const std::string* filter;
    SubscriptionOptions options;
    bool is_new;
  };
  std::vector<Granted> granted;
  for (const mqtt::Subscription& sub : s.subscriptions) {
    const std::optional<ParsedFilter> parsed = parse_shared_filter(sub.filter);
    if (!parsed || !mqtt::check_topic_filter(parsed->filter).empty()) {
      ack.reason_codes.push_back(ReasonCode::kTopicFilterInvalid);
      continue;
    }
    if (!topic_limit_problem(parsed->filter).empty()) {
      ++counters_.topic_refused;
      ack.reason_codes.push_back(ReasonCode::kTopicFilterInvalid);  // 3.1.1: 0x80
      continue;
    }
    if (!host_.may_subscribe(*this, parsed->filter)) {
      ++counters_.subscribe_denied;
      ack.reason_codes.push_back(ReasonCode::kNotAuthorized);  // 3.1.1: 0x80
      continue;
    }
    if (v5 && !parsed->group.empty() && sub.no_local) {
      // §3.8.3.1: No Local on a shared subscription is a Protocol Error.
      return protocol_close(ReasonCode::kProtocolError, "no local on a shared subscription");
    }
    SubscriptionOptions o;
    o.qos = std::min<uint8_t>(sub.qos, 2);
    o.no_local = sub.no_local;
    o.retain_as_published = sub.retain_as_published;
    o.retain_handling = sub.retain_handling;
    o.subscription_id = sub_id;
    const bool is_new = host_.subscribe(*this, sub.filter, o);
    ack.reason_codes.push_back(static_cast<ReasonCode>(o.qos));
    granted.push_back({&sub.filter, o, is_new});
  }
  send(ack);
  // §3.8.4: retained messages go out after the SUBACK.
  for (const Granted& g : granted) {
    if (state_ != State::kConnected) break;
    host_.send_retained(*this, *g.filter, g.options, g.is_new);
  }
}

void Connection::handle_unsubscribe(mqtt::Unsubscribe&& u) {
  mqtt::Unsuback ack;
  ack.packet_id = u.packet_id;
  for (const std::string& f : u.filters) {
    const bool existed = host_.unsubscribe(*this, f);
    ack.reason_codes.push_back(existed ? ReasonCode::kSuccess : ReasonCode::kNoSubscriptionExisted);
  }
  send(ack);
}

void Connection::handle_disconnect(const mqtt::Disconnect& d) {
  if (version_ == ProtocolVersion::kV5) {
    if (const auto& e = d.properties.session_expiry_interval_s) {
      // §3.14.2.2.2: 0 at CONNECT cannot become non-zero at DISCONNECT.
      if (session_expiry_s_ == 0 && *e != 0) {
        return protocol_close(ReasonCode::kProtocolError, "session expiry set at DISCONNECT after 0 at CONNECT");
      }
      session_expiry_s_ = *e;
    }
  }
  // §3.14.4: DISCONNECT 0x00 discards the will; 0x04 asks for it.
  if (d.reason_code != ReasonCode::kDisconnectWithWillMessage) will_.reset();
  close("client sent DISCONNECT");
}

// ---- Outbound ----------------------------------------------------------------

size_t Connection::send_window() const {
  return std::max<size_t>(1, std::min<size_t>(options_.max_inflight, client_receive_maximum_));
}

uint16_t Connection::next_packet_id() {
  do {
    ++last_packet_id_;
    if (last_packet_id_ == 0) last_packet_id_ = 1;
  } while (inflight_.count(last_packet_id_) > 0);
  return last_packet_id_;
}

void Connection::send_publish(OutboundMessage item) {
  mqtt::Publish p = mqtt::to_publish(item.msg);
  p.qos = item.qos;
  p.retain = item.retain;
  p.dup = false;
  if (version_ == ProtocolVersion::kV5) p.properties.subscription_identifiers = item.subscription_ids;
  if (item.qos > 0) p.packet_id = next_packet_id();
  if (!write_publish(p)) return;
  if (item.qos > 0) {
    item.packet_id = p.packet_id;
    inflight_.emplace(p.packet_id, std::move(item));
  }
}

bool Connection::write_publish(mqtt::Publish& p) {
  uint16_t assigned = 0;  // a new alias, recorded once the PUBLISH is really sent
  if (client_topic_alias_maximum_ > 0) {
    if (auto it = out_aliases_.find(p.topic); it != out_aliases_.end()) {
      // §3.3.2.3.4: the alias stands for the topic; the topic is then empty.
      p.properties.topic_alias = it->second;
      p.topic.clear();
    } else if (out_aliases_.size() < client_topic_alias_maximum_) {
      assigned = static_cast<uint16_t>(out_aliases_.size() + 1);
      p.properties.topic_alias = assigned;  // with the topic: the client learns the mapping
    }
  }
  if (client_max_packet_size_ > 0 && mqtt::encoded_size(p, version_) > client_max_packet_size_) {
    // §3.1.2.11.4: too large for the client → discard as if sent.
    ++counters_.dropped_outbound;
    return false;
  }
  if (assigned != 0) out_aliases_.emplace(p.topic, assigned);
  ++counters_.messages_out;
  send(p);
  return true;
}

void Connection::drain_queue() {
  while (!queue_.empty() && inflight_.size() < send_window() && state_ == State::kConnected) {
    OutboundMessage item = std::move(queue_.front());
    queue_.pop_front();
    send_publish(std::move(item));
  }
}

void Connection::resume(SessionState&& state) {
  // §4.4: on resuming a session, resend unacknowledged PUBLISH (DUP set, same
  // packet id) and PUBREL, in their original order, before anything new.
  for (OutboundMessage& item : state.inflight) {
    if (item.released) {
      send(mqtt::Pubrel{item.packet_id, ReasonCode::kSuccess, {}});
    } else {
      mqtt::Publish p = mqtt::to_publish(item.msg);
      p.qos = item.qos;
      p.retain = item.retain;
      p.dup = true;
      p.packet_id = item.packet_id;
      if (version_ == ProtocolVersion::kV5) p.properties.subscription_identifiers = item.subscription_ids;
      // Over this connection's Maximum Packet Size: dropped like any other.
      if (!write_publish(p)) continue;
    }
    const uint16_t id = item.packet_id;
    inflight_.emplace(id, std::move(item));
  }
  for (uint16_t id : state.qos2_received) {
    qos2_in_.insert(id);
    qos2_in_acked_.insert(id);
  }
  for (uint16_t id : state.qos2_restored) {
    if (qos2_in_acked_.count(id) > 0) qos2_restored_.insert(id);
  }
  for (OutboundMessage& item : state.queue) queue_.push_back(std::move(item));
  drain_queue();
}

template <typename P>
void Connection::send(const P& packet) {
  if (state_ == State::kClosed) return;
  const size_t before = output_.size();
  mqtt::encode(packet, version_, output_);
  counters_.bytes_out += output_.size() - before;
}

std::string Connection::topic_limit_problem(std::string_view topic) const {
  if (options_.max_topic_length > 0 && topic.size() > options_.max_topic_length) {
    return "topic longer than " + std::to_string(options_.max_topic_length) + " bytes";
  }
  if (options_.max_topic_levels > 0 &&
      static_cast<size_t>(std::count(topic.begin(), topic.end(), '/')) + 1 > options_.max_topic_levels) {
    return "topic has more than " + std::to_string(options_.max_topic_levels) + " levels";
  }
  return {};
}

std::optional<std::string> Connection::problem_text(const std::string& text) const {
  if (version_ != ProtocolVersion::kV5 || !problem_information_ || text.empty()) return std::nullopt;
  return safe_reason(text);
}

// ---- Closing -----------------------------------------------------------------

void Connection::protocol_close(ReasonCode reason, std::string why) {
  if (state_ != State::kClosed && reason != ReasonCode::kSessionTakenOver &&
      reason != ReasonCode::kServerShuttingDown && reason != ReasonCode::kKeepAliveTimeout) {
    ++counters_.protocol_errors;
  }
  if (state_ == State::kConnected && version_ == ProtocolVersion::kV5) {
    mqtt::Disconnect d;
    d.reason_code = reason;
    d.properties.reason_string = safe_reason(why);
    send(d);
  }
  close(std::move(why));
}

void Connection::close(std::string why) {
  if (state_ == State::kClosed) return;
  const bool was_connected = state_ == State::kConnected;
  state_ = State::kClosed;
  close_reason_ = std::move(why);
  if (was_connected) finish(true);
}

void Connection::finish(bool publish_will) {
  if (finished_) return;
  finished_ = true;
  std::optional<WillMessage> will;
  if (publish_will && will_) {
    will = std::move(*will_);
    will->message.received_at_ms = clock_.wall_ms();
  }
  will_.reset();
  pending_.clear();  // unacknowledged inbound: the client sends them again
  pending_comp_.clear();  // PUBRELs without PUBCOMP: sent again too (§4.4)
  SessionState state;
  // Send order is packet id order except across a wrap of the 16-bit id.
  for (auto& [id, item] : inflight_) state.inflight.push_back(std::move(item));
  state.queue = std::move(queue_);
  state.qos2_received = qos2_in_acked_;
  state.qos2_restored = qos2_restored_;
  inflight_.clear();
  queue_.clear();
  host_.on_disconnect(*this, std::move(will), session_expiry_s_, std::move(state));
}

}  // namespace gw::broker
