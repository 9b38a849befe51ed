// Message: one application message as a device published it, with the MQTT 5
// properties the gateway keeps end to end. Decoded by the broker, read by the
// rules, serialised into the store, packed into batches by the uplink.
// A value type: cheap to move, safe to copy, no thread affinity.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/core/status.h"

namespace gw {

// MQTT 5.0 §3.3.2.3.7: ordered, repeatable name/value pairs.
using UserProperty = std::pair<std::string, std::string>;

struct MessageProperties {
  std::vector<UserProperty> user;
  std::optional<std::string> content_type;          // §3.3.2.3.9
  std::optional<uint8_t> payload_format;            // §3.3.2.3.2: 0 bytes, 1 UTF-8
  std::optional<uint32_t> message_expiry_s;         // §3.3.2.3.3, as received
  std::optional<std::string> response_topic;        // §3.3.2.3.5
  std::optional<std::string> correlation_data;      // §3.3.2.3.6 (binary)

  bool empty() const {
    return user.empty() && !content_type && !payload_format && !message_expiry_s &&
           !response_topic && !correlation_data;
  }
  bool operator==(const MessageProperties&) const = default;

  // Compact binary form for the store (length-prefixed fields; see
  // gateway/store/SCHEMA.md). decode() rejects truncated or unknown input.
  std::string encode() const;
  static Result<MessageProperties> decode(std::string_view bytes);
};

// Wall-clock milliseconds since the Unix epoch: what goes on disk and the wire.
using TimestampMs = int64_t;

struct Message {
  std::string topic;
  std::string payload;  // binary-safe
  uint8_t qos = 0;
  bool retain = false;
  MessageProperties properties;
  std::string client_id;
  std::string username;          // empty when anonymous
  // The CN of the client's TLS certificate; empty without a client cert.
  // Filled by the broker's TLS listener; matched by the rules' `cert_cn:`.
  std::string cert_cn;
  uint8_t protocol_version = 4;  // 4 = MQTT 3.1.1, 5 = MQTT 5.0
  TimestampMs received_at_ms = 0;

  bool operator==(const Message&) const = default;
};

}  // namespace gw
