#include "tests/support/qos1_publisher.h"

#include <MQTTAsync.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <vector>

namespace gw::testing {

struct Qos1Publisher::Impl {
  Qos1Publisher* owner = nullptr;
  std::string uri, client_id, stream, topic;
  int version = 5;
  int window = 20;
  MQTTAsync client = nullptr;
  std::thread thread;
  std::atomic<bool> stop{false};

  std::mutex mu;
  std::condition_variable cv;
  std::set<int> inflight;
  std::map<int, uint64_t> acked_on;  // acked n -> the connection (epoch) that carried it and its PUBACK
  bool connected = false;
  bool connect_done = false;
  uint64_t epoch = 0;  // bumped at each connection: the window counts only its publishes

  struct Ctx {
    Impl* impl;
    int n;
    uint64_t epoch;
  };
  std::vector<std::unique_ptr<Ctx>> contexts;  // freed with the Impl

  static void on_lost(void* context, char*) {
    auto* self = static_cast<Impl*>(context);
    std::lock_guard lk(self->mu);
    self->connected = false;
    self->cv.notify_all();
  }
  static int on_message(void*, char* topic, int, MQTTAsync_message* m) {
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
  }
  static void on_connect(void* context, MQTTAsync_successData*) { connect_result(context, true); }
  static void on_connect5(void* context, MQTTAsync_successData5*) { connect_result(context, true); }
  static void on_connect_fail(void* context, MQTTAsync_failureData*) { connect_result(context, false); }
  static void on_connect_fail5(void* context, MQTTAsync_failureData5*) { connect_result(context, false); }
  static void connect_result(void* context, bool ok) {
    auto* self = static_cast<Impl*>(context);
    std::lock_guard lk(self->mu);
    self->connected = ok;
    self->connect_done = true;
    self->cv.notify_all();
  }
  // Every connection has a client handle of its own (see connect()), so a
  // success is a PUBACK the broker sent on the connection that carried the
  // publish, even when it comes after the test has moved on to the next one.
  static void settle(Ctx* c, bool ok) {
    Impl* self = c->impl;
    std::lock_guard lk(self->mu);
    if (c->epoch == self->epoch) self->inflight.erase(c->n);
    if (ok) self->acked_on[c->n] = c->epoch;
    self->cv.notify_all();
  }
  static void on_sent(void* context, MQTTAsync_successData*) { settle(static_cast<Ctx*>(context), true); }
  static void on_sent5(void* context, MQTTAsync_successData5* r) {
    auto* c = static_cast<Ctx*>(context);
    const bool ok = r == nullptr || r->reasonCode < 0x80;
    if (!ok) c->impl->owner->refused_++;
    settle(c, ok);
  }
  static void on_send_fail(void* context, MQTTAsync_failureData*) { settle(static_cast<Ctx*>(context), false); }
  static void on_send_fail5(void* context, MQTTAsync_failureData5*) { settle(static_cast<Ctx*>(context), false); }

  // A fresh client handle for every connection. With one handle across
  // reconnects, Paho C numbers packets from 1 again after a Clean Start, so a
  // publish still queued from the dead connection can share a packet id with a
  // new one and be credited with its PUBACK: a success the broker never gave it.
  void new_client() {
    if (client != nullptr) MQTTAsync_destroy(&client);
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
    co.MQTTVersion = version == 5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1;
    co.sendWhileDisconnected = 0;
    MQTTAsync_createWithOptions(&client, uri.c_str(), client_id.c_str(), MQTTCLIENT_PERSISTENCE_NONE, nullptr, &co);
    MQTTAsync_setCallbacks(client, this, &Impl::on_lost, &Impl::on_message, nullptr);
  }

  bool connect() {
    {
      std::lock_guard lk(mu);
      connect_done = false;
      connected = false;
    }
    new_client();
    int rc;
    if (version == 5) {
      MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer5;
      o.cleanstart = 1;
      o.keepAliveInterval = 5;
      o.onSuccess5 = on_connect5;
      o.onFailure5 = on_connect_fail5;
      o.context = this;
      o.connectTimeout = 2;
      rc = MQTTAsync_connect(client, &o);
    } else {
      MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
      o.cleansession = 1;
      o.keepAliveInterval = 5;
      o.onSuccess = on_connect;
      o.onFailure = on_connect_fail;
      o.context = this;
      o.connectTimeout = 2;
      rc = MQTTAsync_connect(client, &o);
    }
    if (rc != MQTTASYNC_SUCCESS) return false;
    std::unique_lock lk(mu);
    cv.wait_for(lk, std::chrono::seconds(5), [&] { return connect_done; });
    if (connected) {
      ++epoch;
      inflight.clear();  // what was in flight on the old connection is not acked
    }
    return connected;
  }

  void run() {
    int n = 0;
    while (!stop) {
      bool up;
      {
        std::lock_guard lk(mu);
        up = connected;
      }
      if (!up) {
        if (!connect()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          continue;
        }
        owner->reconnects_++;
      }
      uint64_t my_epoch;
      {
        std::unique_lock lk(mu);
        cv.wait_for(lk, std::chrono::milliseconds(200),
                    [&] { return stop || !connected || static_cast<int>(inflight.size()) < window; });
        if (stop || !connected || static_cast<int>(inflight.size()) >= window) continue;
        inflight.insert(n + 1);
        my_epoch = epoch;
      }
      ++n;
      const std::string payload = "{\"stream\":\"" + stream + "\",\"n\":" + std::to_string(n) + "}";
      auto ctx = std::make_unique<Ctx>(Ctx{this, n, my_epoch});
      MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
      ro.context = ctx.get();
      if (version == 5) {
        ro.onSuccess5 = on_sent5;
        ro.onFailure5 = on_send_fail5;
      } else {
        ro.onSuccess = on_sent;
        ro.onFailure = on_send_fail;
      }
      {
        std::lock_guard lk(mu);
        contexts.push_back(std::move(ctx));
      }
      MQTTAsync_message m = MQTTAsync_message_initializer;
      m.payload = const_cast<char*>(payload.data());
      m.payloadlen = static_cast<int>(payload.size());
      m.qos = 1;
      if (MQTTAsync_sendMessage(client, topic.c_str(), &m, &ro) == MQTTASYNC_SUCCESS) {
        owner->published_++;
      } else {
        std::lock_guard lk(mu);
        inflight.erase(n);
      }
    }
    // Let outstanding PUBACKs come in.
    std::unique_lock lk(mu);
    cv.wait_for(lk, std::chrono::seconds(5), [&] { return inflight.empty() || !connected; });
  }
};

Qos1Publisher::Qos1Publisher(uint16_t port, std::string client_id, std::string stream,
                             std::string topic, int mqtt_version, int window)
    : impl_(std::make_unique<Impl>()) {
  impl_->owner = this;
  impl_->uri = "tcp://127.0.0.1:" + std::to_string(port);
  impl_->client_id = std::move(client_id);
  impl_->stream = std::move(stream);
  impl_->topic = std::move(topic);
  impl_->version = mqtt_version;
  impl_->window = window;
}

Qos1Publisher::~Qos1Publisher() {
  stop();
  if (impl_->client != nullptr) {
    MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
    d.timeout = 1000;
    MQTTAsync_disconnect(impl_->client, &d);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    MQTTAsync_destroy(&impl_->client);
  }
}

void Qos1Publisher::start() {
  impl_->thread = std::thread([this] { impl_->run(); });
}

void Qos1Publisher::stop() {
  impl_->stop = true;
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::set<int> Qos1Publisher::acked() const {
  std::lock_guard lk(impl_->mu);
  std::set<int> out;
  for (const auto& entry : impl_->acked_on) out.insert(out.end(), entry.first);
  return out;
}

std::string Qos1Publisher::describe_ack(int n) const {
  std::lock_guard lk(impl_->mu);
  auto it = impl_->acked_on.find(n);
  if (it == impl_->acked_on.end()) return "not acked";
  return "sent and acked on connection " + std::to_string(it->second);
}

}  // namespace gw::testing
