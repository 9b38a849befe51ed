// Qos1Publisher: a real MQTT client (Paho C, MQTTAsync) that publishes
// {"stream": S, "n": 1, 2, ...} at QoS 1 on its own thread and records which n
// the broker acknowledged (PUBACK with a success code). It reconnects when
// the broker goes away (e.g. is killed), with a new client handle for each
// connection, so a test knows exactly which messages a device was told are
// accepted. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

namespace gw::testing {

class Qos1Publisher {
 public:
  // mqtt_version: 4 (3.1.1) or 5. `window`: publishes awaiting PUBACK.
  Qos1Publisher(uint16_t port, std::string client_id, std::string stream, std::string topic,
                int mqtt_version = 5, int window = 20);
  ~Qos1Publisher();  // stops
  Qos1Publisher(const Qos1Publisher&) = delete;
  Qos1Publisher& operator=(const Qos1Publisher&) = delete;

  void start();
  void stop();  // waits up to a few seconds for outstanding PUBACKs

  std::set<int> acked() const;
  // For a failure message: which connection (1, 2, ...) carried n and its PUBACK.
  std::string describe_ack(int n) const;
  int published() const { return published_.load(); }
  int refused() const { return refused_.load(); }        // PUBACK with an error reason (v5)
  int reconnects() const { return reconnects_.load(); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<int> published_{0}, refused_{0}, reconnects_{0};
  friend struct Impl;
};

}  // namespace gw::testing
