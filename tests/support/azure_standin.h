// AzureStandIn: a small Azure-IoT-Hub-like MQTT server for tests, written from
// IoT Hub's documented MQTT behaviour, so the gateway's Azure profile is
// checked by something that is not the gateway's own code.
//
// What it does, on 127.0.0.1 and a port of its own choosing, over TLS with the
// test's own certificate (tests/support/test_pki.h):
//   - MQTT 3.1.1 only: a CONNECT with protocol level 5 gets the 3.1.1 CONNACK
//     return code 1 (20 02 00 01) and the connection is closed.
//   - CONNECT: client id must be the device id (else return code 2), user
//     name "{host}/{device_id}/?api-version=2021-04-12" (else 4), password a
//     SAS token "SharedAccessSignature sr=..&sig=..&se=.." whose signature is
//     HMAC-SHA256(base64decode(key), url(resource) + "\n" + se) over the
//     resource "{host}/devices/{device_id}" (else 4) and whose expiry is in the
//     future (else 5). The signature is checked here with OpenSSL directly,
//     not with the plugin's code. A connection whose token expires is closed,
//     as IoT Hub does.
//   - PUBLISH only to devices/{id}/messages/events/{property_bag}, QoS <= 1,
//     retain 0; anything else closes the connection (IoT Hub does not answer
//     with an error code in 3.1.1). QoS 1 gets its PUBACK.
//   - SUBSCRIBE only to devices/{id}/messages/devicebound/# (granted QoS <= 1);
//     any other filter gets 0x80.
//   - send_c2d() publishes devices/{id}/messages/devicebound/{bag} at QoS 1
//     to the connection that subscribed.
//   - Throttling: set_throttle_disconnects(n) makes the next n PUBLISHes be
//     recorded (the hub may well have taken them) and answered by closing the
//     connection without a PUBACK, as IoT Hub does when a device sends too fast.
//
// Everything is recorded for the test: every CONNECT (with the token's `se`
// and the answer), every telemetry message (topic, decoded property bag,
// payload), and every connection closed for breaking a rule (with why).
//
// Threads: one asio thread owned by the stand-in; every public method is
// thread-safe and may be called from the test thread. Not copyable.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace gw::testing {

struct AzureStandInOptions {
  std::string host = "localhost";  // the hub host name the device uses (user name, SAS resource)
  std::string device_id;
  std::string device_key;  // base64 symmetric key the device must sign with
  std::filesystem::path cert;  // server certificate (PEM), valid for 127.0.0.1/localhost
  std::filesystem::path key;   // its private key
};

struct StandInConnect {
  int64_t at_ms = 0;          // wall clock when the CONNECT arrived
  int protocol_level = 0;     // 4 = 3.1.1, 5 = 5.0
  std::string client_id;
  std::string username;
  int64_t token_expiry_s = 0; // the SAS token's `se`; 0 when unreadable
  int return_code = -1;       // CONNACK return code sent (0 accepted)
  std::string why;            // for refusals: what was wrong
};

struct StandInTelemetry {
  std::string topic;
  std::vector<std::pair<std::string, std::string>> properties;  // the bag, URL-decoded, in order
  std::string payload;
  int qos = 0;
  bool throttled = false;  // the connection was closed right after it, without PUBACK
  int session = 0;         // which accepted connection (1, 2, ...) it came on
};

class AzureStandIn {
 public:
  // Starts listening (127.0.0.1, a free port) and serving. Failures (bad
  // certificate files) are gtest failures and leave port() == 0.
  explicit AzureStandIn(AzureStandInOptions options);
  ~AzureStandIn();  // closes every connection and joins the thread
  AzureStandIn(const AzureStandIn&) = delete;
  AzureStandIn& operator=(const AzureStandIn&) = delete;

  uint16_t port() const { return port_; }
  const AzureStandInOptions& options() const { return options_; }

  std::vector<StandInConnect> connects() const;
  std::vector<StandInTelemetry> telemetry() const;
  // Connections closed for breaking one of the hub's rules, with the reason.
  std::vector<std::string> violations() const;
  // Connections closed because their SAS token expired while connected.
  size_t expired_sessions() const;
  // Connections accepted (CONNACK 0) and currently open.
  size_t open_sessions() const;
  // A C2D subscription is active on an open connection.
  bool c2d_subscribed() const;
  // C2D messages the device acknowledged (PUBACK).
  size_t c2d_acknowledged() const;

  // Sends a C2D message to the subscribed connection. `property_bag` is
  // appended as is (already URL-encoded). Returns false when no open
  // connection has subscribed.
  bool send_c2d(const std::string& property_bag, const std::string& payload);

  // The next `n` PUBLISHes are recorded and then answered by closing the
  // connection without a PUBACK (IoT Hub throttling).
  void set_throttle_disconnects(int n);

  // Waits until pred() holds or the timeout passes; returns pred().
  template <typename Pred>
  static bool eventually(Pred pred, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred()) return true;
      pause();
    }
    return pred();
  }

 private:
  static void pause();
  class Impl;
  AzureStandInOptions options_;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

// Checks a SAS token the way IoT Hub does, with OpenSSL directly. Returns ""
// when valid at `now_s`, else what is wrong. `expiry_s` gets the token's se.
std::string check_sas_token(const std::string& token, const std::string& resource, const std::string& key_base64,
                            int64_t now_s, int64_t* expiry_s);

// URL-decodes one property bag "k=v&k2=v2" (percent escapes; '+' stays '+').
std::vector<std::pair<std::string, std::string>> decode_property_bag(const std::string& bag);

}  // namespace gw::testing
