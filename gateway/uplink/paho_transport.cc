// The Paho MQTT C++ adapter: the only file that includes Paho. Every
// mqtt::exception is caught here and becomes a Status or an Attempt
// (STYLE.md §5). Paho callbacks run on Paho's threads and only hand an event
// to the sink (STYLE.md §6).
#include <spdlog/spdlog.h>

#include <atomic>
#include <mqtt/async_client.h>
#include <mutex>

#include "gateway/core/log.h"
#include "gateway/uplink/transport.h"

namespace gw::uplink {
namespace {
// This module's logger (core/log.h).
spdlog::logger& logger() { return log::get(log::Module::kUplink); }

// MQTT 5.0 §3.4.2.1 PUBACK reason codes that say "this payload will never be
// accepted": resending it cannot help. Everything else (0x80 unspecified,
// 0x87 not authorized, 0x97 quota exceeded, ...) is retried, because an
// operator or time can fix it and dropping data would not be undone.
bool payload_refused(int reason) {
  return reason == 0x95 /* packet too large */ || reason == 0x99 /* payload format invalid */;
}

Attempt classify_publish_failure(const mqtt::token& tok, int version) {
  Attempt a;
  // MQTT 3.1.1 PUBACKs carry no reason; Paho then reports 0xff, which is not
  // a refusal from the cloud (seen when IoT Hub closes a connection).
  const int reason = version >= 5 ? static_cast<int>(tok.get_reason_code()) : -1;
  const int rc = tok.get_return_code();
  a.reason_code = reason >= 0x80 ? reason : -1;
  if (a.reason_code >= 0x80) {
    a.outcome = payload_refused(reason) ? Outcome::kReject : Outcome::kRetry;
    a.throttled = reason == 0x97 /* quota exceeded */ || reason == 0x89 /* server busy */;
    a.detail = "PUBACK reason 0x" + fmt::format("{:02x}", reason);
  } else {
    a.outcome = Outcome::kRetry;
    // A publish with no reason code fails this way when the connection goes:
    // DISCONNECTED, OPERATION_INCOMPLETE (discarded from a dropped clean
    // session) or FAILURE (the socket write failed). The engine reconnects
    // with a fresh client either way.
    a.connection_lost =
        rc == MQTTASYNC_DISCONNECTED || rc == MQTTASYNC_OPERATION_INCOMPLETE || rc == MQTTASYNC_FAILURE;
    a.detail = "publish failed: " + mqtt::exception::error_str(rc) + " (" + std::to_string(rc) + ")";
  }
  return a;
}

Attempt classify_connect_failure(const mqtt::token& tok, int version) {
  Attempt a;
  a.outcome = Outcome::kRetry;
  const int rc = tok.get_return_code();
  const int reason = static_cast<int>(tok.get_reason_code());
  if (version >= 5 && reason >= 0x80) {
    a.reason_code = reason;
    // 0x86 bad user name or password, 0x87 not authorized, 0x8C bad auth method
    if (reason == 0x86 || reason == 0x87 || reason == 0x8C) a.outcome = Outcome::kReject;
    a.throttled = reason == 0x89 || reason == 0x9F;  // server busy, connection rate exceeded
    a.detail = "CONNACK reason 0x" + fmt::format("{:02x}", reason);
  } else if (rc >= 1 && rc <= 5) {
    // MQTT 3.1.1 §3.2.2.3 CONNACK return codes; 4 bad credentials, 5 not authorized
    a.reason_code = rc;
    if (rc == 4 || rc == 5) a.outcome = Outcome::kReject;
    a.detail = "CONNACK return code " + std::to_string(rc);
  } else {
    a.detail = "connect failed: " + mqtt::exception::error_str(rc) + " (" + std::to_string(rc) + ")";
  }
  return a;
}

class PahoTransport final : public Transport {
 public:
  explicit PahoTransport(TransportEventSink sink) : sink_(std::move(sink)), publish_listener_(this), connect_listener_(this) {}

  ~PahoTransport() override { disconnect(std::chrono::milliseconds(1000)); }

  // Transport:
  Status start_connect(const ConnectOptions& o) override {
    const std::string uri = (o.tls.enabled ? "ssl://" : "tcp://") + o.host + ":" + std::to_string(o.port);
    try {
      // A fresh Paho client for every connection: a reused one sends the
      // publishes still queued from the dead connection on the new one,
      // after the engine has released and re-leased their rows (duplicates
      // on a healthy connection, seen against the Azure stand-in).
      {
        drop_client(std::chrono::milliseconds(1000));
        mqtt::create_options create(o.mqtt_version >= 5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1);
        client_ = std::make_unique<mqtt::async_client>(uri, o.client_id, create, nullptr);
        version_ = o.mqtt_version;
        client_->set_connection_lost_handler([this](const std::string& cause) {
          TransportEvent e;
          e.kind = TransportEvent::Kind::kConnectionLost;
          e.attempt.connection_lost = true;
          e.attempt.detail = "connection lost" + (cause.empty() ? std::string() : ": " + cause);
          emit(std::move(e));
        });
        client_->set_disconnected_handler([this](const mqtt::properties&, mqtt::ReasonCode reason) {
          TransportEvent e;
          e.kind = TransportEvent::Kind::kConnectionLost;
          e.attempt.connection_lost = true;
          e.attempt.reason_code = static_cast<int>(reason);
          e.attempt.detail = "server sent DISCONNECT 0x" + fmt::format("{:02x}", static_cast<int>(reason));
          emit(std::move(e));
        });
        client_->set_message_callback([this](mqtt::const_message_ptr m) {
          if (!m) return;
          TransportEvent e;
          e.kind = TransportEvent::Kind::kMessage;
          e.message.topic = m->get_topic();
          e.message.payload = m->get_payload_str();
          e.message.qos = m->get_qos();
          e.message.retain = m->is_retained();
          const mqtt::properties& props = m->get_properties();
          if (props.contains(mqtt::property::CONTENT_TYPE)) {
            e.message.content_type = mqtt::get<std::string>(props, mqtt::property::CONTENT_TYPE);
          }
          const size_t n = props.count(mqtt::property::USER_PROPERTY);
          for (size_t i = 0; i < n; ++i) {
            auto [k, v] = mqtt::get<mqtt::string_pair>(props, mqtt::property::USER_PROPERTY, i);
            e.message.user_properties.emplace_back(std::move(k), std::move(v));
          }
          emit(std::move(e));
        });
      }
      mqtt::connect_options co;
      co.set_mqtt_version(o.mqtt_version >= 5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1);
      if (o.mqtt_version >= 5) {
        co.set_clean_start(o.clean_start);
      } else {
        co.set_clean_session(o.clean_start);
      }
      co.set_keep_alive_interval(o.keepalive);
      co.set_connect_timeout(std::max(std::chrono::seconds(1),
                                      std::chrono::duration_cast<std::chrono::seconds>(o.connect_timeout)));
      co.set_automatic_reconnect(false);  // the engine owns reconnects and their backoff
      if (o.username) co.set_user_name(*o.username);
      if (o.password) co.set_password(*o.password);
      if (o.tls.enabled) {
        mqtt::ssl_options ssl;
        if (!o.tls.ca_file.empty()) ssl.set_trust_store(o.tls.ca_file);
        if (!o.tls.cert_file.empty()) ssl.set_key_store(o.tls.cert_file);
        if (!o.tls.key_file.empty()) ssl.set_private_key(o.tls.key_file);
        ssl.set_enable_server_cert_auth(o.tls.verify_server);
        ssl.set_verify(o.tls.verify_server);
        if (!o.tls.alpn.empty()) ssl.set_alpn_protos(o.tls.alpn);
        co.set_ssl(std::move(ssl));
      }
      client_->connect(co, nullptr, connect_listener_);
    } catch (const mqtt::exception& e) {
      return invalid_argument(std::string("cannot start MQTT connection to ") + uri + ": " + e.what());
    }
    return Status::ok();
  }

  Status publish(uint64_t id, const Publish& p) override {
    if (!client_) return unavailable("not connected");
    try {
      auto msg = mqtt::make_message(p.topic, p.payload.data(), p.payload.size(), p.qos, p.retain);
      if (version_ >= 5 && (p.content_type || !p.user_properties.empty())) {
        mqtt::properties props;
        if (p.content_type) props.add(mqtt::property(mqtt::property::CONTENT_TYPE, *p.content_type));
        for (const auto& [k, v] : p.user_properties) props.add(mqtt::property(mqtt::property::USER_PROPERTY, k, v));
        msg->set_properties(std::move(props));
      }
      // The id travels as Paho's user context: no allocation to free later.
      client_->publish(msg, reinterpret_cast<void*>(static_cast<uintptr_t>(id)), publish_listener_);
    } catch (const mqtt::exception& e) {
      return unavailable(std::string("publish not started: ") + e.what());
    }
    return Status::ok();
  }

  Status subscribe(const std::vector<std::string>& filters, int qos) override {
    if (!client_) return unavailable("not connected");
    try {
      for (const auto& f : filters) {
        client_->subscribe(f, qos, nullptr, subscribe_listener_);
      }
    } catch (const mqtt::exception& e) {
      return unavailable(std::string("subscribe not started: ") + e.what());
    }
    return Status::ok();
  }

  void disconnect(std::chrono::milliseconds timeout) override { drop_client(timeout); }

 private:
  class PublishListener final : public mqtt::iaction_listener {
   public:
    explicit PublishListener(PahoTransport* t) : t_(t) {}
    void on_success(const mqtt::token& tok) override {
      TransportEvent e;
      e.kind = TransportEvent::Kind::kPublishDone;
      e.id = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(tok.get_user_context()));
      e.attempt.outcome = Outcome::kDelivered;
      t_->emit(std::move(e));
    }
    void on_failure(const mqtt::token& tok) override {
      TransportEvent e;
      e.kind = TransportEvent::Kind::kPublishDone;
      e.id = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(tok.get_user_context()));
      e.attempt = classify_publish_failure(tok, t_->version_.load());
      t_->emit(std::move(e));
    }

   private:
    PahoTransport* t_;
  };

  class ConnectListener final : public mqtt::iaction_listener {
   public:
    explicit ConnectListener(PahoTransport* t) : t_(t) {}
    void on_success(const mqtt::token&) override {
      TransportEvent e;
      e.kind = TransportEvent::Kind::kConnected;
      e.attempt.outcome = Outcome::kDelivered;
      t_->emit(std::move(e));
    }
    void on_failure(const mqtt::token& tok) override {
      TransportEvent e;
      e.kind = TransportEvent::Kind::kConnectFailed;
      e.attempt = classify_connect_failure(tok, t_->version_.load());
      t_->emit(std::move(e));
    }

   private:
    PahoTransport* t_;
  };

  // Subscriptions only log: a refused downlink filter must not stop telemetry.
  class SubscribeListener final : public mqtt::iaction_listener {
   public:
    void on_success(const mqtt::token& tok) override {
      const int reason = static_cast<int>(tok.get_reason_code());
      if (reason >= 0x80) logger().warn("uplink: downlink subscription refused (0x{:02x})", reason);
    }
    void on_failure(const mqtt::token& tok) override {
      logger().warn("uplink: downlink subscription failed: {} ({})", mqtt::exception::error_str(tok.get_return_code()),
                   tok.get_return_code());
    }
  };

  // Called on Paho threads: hand over and return.
  void emit(TransportEvent e) {
    if (muted_.load()) return;
    sink_(std::move(e));
  }

  void drop_client(std::chrono::milliseconds timeout) {
    if (!client_) return;
    muted_ = true;  // events after a disconnect request are no longer the engine's business
    try {
      if (client_->is_connected()) {
        client_->disconnect(static_cast<int>(timeout.count()))->wait_for(timeout);
      }
    } catch (const mqtt::exception& e) {
      logger().debug("uplink: disconnect: {}", e.what());
    }
    client_.reset();
    muted_ = false;
  }

  TransportEventSink sink_;
  PublishListener publish_listener_;
  ConnectListener connect_listener_;
  SubscribeListener subscribe_listener_;
  std::unique_ptr<mqtt::async_client> client_;
  std::atomic<int> version_{5};
  std::atomic<bool> muted_{false};
};

}  // namespace

std::unique_ptr<Transport> make_paho_transport(TransportEventSink sink) {
  return std::make_unique<PahoTransport>(std::move(sink));
}

}  // namespace gw::uplink
