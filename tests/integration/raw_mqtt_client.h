// RawMqttClient: a blocking MQTT client over a plain TCP socket that encodes
// and decodes with our own gateway/mqtt codec, so a test controls every byte
// that matters (packet ids, DUP, when to answer). Test thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "gateway/mqtt/codec.h"
#include "gateway/mqtt/packet.h"

namespace gw::testing {

class RawMqttClient {
 public:
  // Connects the socket to 127.0.0.1:port (no MQTT yet); connected() says
  // whether that worked.
  RawMqttClient(uint16_t port, mqtt::ProtocolVersion version);
  ~RawMqttClient();
  RawMqttClient(const RawMqttClient&) = delete;
  RawMqttClient& operator=(const RawMqttClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  mqtt::ProtocolVersion version() const { return version_; }

  // Encodes and sends one packet; false when the socket is gone.
  template <typename P>
  bool send(const P& packet) {
    std::string out;
    mqtt::encode(packet, version_, out);
    return send_bytes(out);
  }
  bool send_bytes(const std::string& bytes);

  // The next packet, or nullopt on EOF, timeout or a bad frame.
  std::optional<mqtt::Packet> next(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // The next packet if it is a P (skipping nothing); nullopt otherwise.
  template <typename P>
  std::optional<P> expect(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto p = next(timeout);
    if (!p || !std::holds_alternative<P>(*p)) return std::nullopt;
    return std::get<P>(std::move(*p));
  }

  // CONNECT with `client_id` and `clean_start`, returns the CONNACK (nullopt
  // if something else or nothing came). `connect` carries anything else.
  std::optional<mqtt::Connack> handshake(const std::string& client_id, bool clean_start, mqtt::Connect connect = {});

 private:
  int fd_ = -1;
  mqtt::ProtocolVersion version_;
  std::string input_;
};

}  // namespace gw::testing
