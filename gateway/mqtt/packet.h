// MQTT control packets (3.1.1 §3 and 5.0 §3) as plain value structs, one per
// packet type, and `Packet`, the variant of all fifteen. Produced by
// gw::mqtt::decode() and consumed by gw::mqtt::encode() (codec.h).
// Value types: cheap to move, no thread affinity.
//
// The same structs serve both protocol versions. Fields that only exist in
// MQTT 5 (properties, most reason codes) are ignored by the 3.1.1 encoder and
// left at their defaults by the 3.1.1 decoder, except where 3.1.1 has an
// equivalent (CONNACK return code, SUBACK return codes), which is mapped to
// and from ReasonCode.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "gateway/core/message.h"
#include "gateway/mqtt/properties.h"
#include "gateway/mqtt/reason_code.h"

namespace gw::mqtt {

// The CONNECT protocol level (3.1.1 §3.1.2.2, 5.0 §3.1.2.2).
enum class ProtocolVersion : uint8_t {
  kV311 = 4,
  kV5 = 5,
};

// Will message carried in CONNECT (5.0 §3.1.2.5, §3.1.3.2-4).
struct Will {
  std::string topic;
  std::string payload;  // binary
  uint8_t qos = 0;
  bool retain = false;
  Properties properties;  // v5 Will Properties (§3.1.3.2): will delay, message props, user

  bool operator==(const Will&) const = default;
};

// CONNECT (§3.1). The decoder reads it before the version is known and fills
// `version` from the protocol level byte.
struct Connect {
  ProtocolVersion version = ProtocolVersion::kV5;
  std::string client_id;    // may be empty (§3.1.3.1)
  bool clean_start = true;  // 3.1.1: Clean Session
  uint16_t keep_alive_s = 0;
  std::optional<Will> will;
  std::optional<std::string> username;
  std::optional<std::string> password;  // binary
  Properties properties;

  bool operator==(const Connect&) const = default;
};

// CONNACK (§3.2). 3.1.1: reason_code is mapped to/from the return code 0-5
// (see to_connect_return_code()).
struct Connack {
  bool session_present = false;
  ReasonCode reason_code = ReasonCode::kSuccess;
  Properties properties;

  bool operator==(const Connack&) const = default;
};

// PUBLISH (§3.3). packet_id is 0 for QoS 0 and non-zero for QoS 1/2.
// v5: the topic may be empty when properties.topic_alias is set (§3.3.2.3.4).
struct Publish {
  std::string topic;
  std::string payload;  // binary
  uint8_t qos = 0;
  bool retain = false;
  bool dup = false;
  uint16_t packet_id = 0;
  Properties properties;

  bool operator==(const Publish&) const = default;
};

// PUBACK, PUBREC, PUBREL, PUBCOMP (§3.4-3.7): same shape. v5 short forms
// (§3.4.2.1): reason 0x00 and no properties encode as just the packet id;
// any reason with no properties omits the property length.
struct Puback {
  uint16_t packet_id = 0;
  ReasonCode reason_code = ReasonCode::kSuccess;
  Properties properties;
  bool operator==(const Puback&) const = default;
};
struct Pubrec {
  uint16_t packet_id = 0;
  ReasonCode reason_code = ReasonCode::kSuccess;
  Properties properties;
  bool operator==(const Pubrec&) const = default;
};
struct Pubrel {
  uint16_t packet_id = 0;
  ReasonCode reason_code = ReasonCode::kSuccess;
  Properties properties;
  bool operator==(const Pubrel&) const = default;
};
struct Pubcomp {
  uint16_t packet_id = 0;
  ReasonCode reason_code = ReasonCode::kSuccess;
  Properties properties;
  bool operator==(const Pubcomp&) const = default;
};

// One entry of a SUBSCRIBE payload (§3.8.3.1 subscription options).
// The decoder checks UTF-8 and the option bits but not the filter syntax:
// the broker checks it with check_topic_filter() so that v5 can answer with
// SUBACK 0x8F for that filter only.
struct Subscription {
  std::string filter;
  uint8_t qos = 0;
  bool no_local = false;             // v5
  bool retain_as_published = false;  // v5
  uint8_t retain_handling = 0;       // v5: 0 send, 1 send if new, 2 don't send

  bool operator==(const Subscription&) const = default;
};

// SUBSCRIBE (§3.8): at least one subscription (empty payload is a protocol
// violation the decoder reports).
struct Subscribe {
  uint16_t packet_id = 0;
  std::vector<Subscription> subscriptions;
  Properties properties;  // v5: subscription identifier, user properties

  bool operator==(const Subscribe&) const = default;
};

// SUBACK (§3.9): one reason code per subscription, in order. 3.1.1 allows
// kGrantedQos0/1/2 and 0x80 only; the encoder writes any error as 0x80.
struct Suback {
  uint16_t packet_id = 0;
  std::vector<ReasonCode> reason_codes;
  Properties properties;

  bool operator==(const Suback&) const = default;
};

// UNSUBSCRIBE (§3.10).
struct Unsubscribe {
  uint16_t packet_id = 0;
  std::vector<std::string> filters;
  Properties properties;

  bool operator==(const Unsubscribe&) const = default;
};

// UNSUBACK (§3.11). 3.1.1 has no payload: reason_codes is not written and
// decodes empty.
struct Unsuback {
  uint16_t packet_id = 0;
  std::vector<ReasonCode> reason_codes;
  Properties properties;

  bool operator==(const Unsuback&) const = default;
};

struct Pingreq {
  bool operator==(const Pingreq&) const = default;
};
struct Pingresp {
  bool operator==(const Pingresp&) const = default;
};

// DISCONNECT (§3.14). v5: reason 0x00 with no properties encodes with
// remaining length 0 (§3.14.2.1).
struct Disconnect {
  ReasonCode reason_code = ReasonCode::kNormalDisconnection;
  Properties properties;

  bool operator==(const Disconnect&) const = default;
};

// AUTH (§3.15), v5 only. Reason 0x00 with no properties encodes with
// remaining length 0.
struct Auth {
  ReasonCode reason_code = ReasonCode::kSuccess;
  Properties properties;

  bool operator==(const Auth&) const = default;
};

// Alternative index + 1 == the packet type number, see type_of().
using Packet = std::variant<Connect, Connack, Publish, Puback, Pubrec, Pubrel, Pubcomp, Subscribe,
                            Suback, Unsubscribe, Unsuback, Pingreq, Pingresp, Disconnect, Auth>;

inline PacketType type_of(const Packet& p) { return static_cast<PacketType>(p.index() + 1); }

// PUBLISH ↔ gw::Message. to_message() moves topic, payload and the message
// properties out of `p` and sets qos, retain and protocol_version; the broker
// fills client_id, username and received_at_ms. to_publish() copies a message
// into a PUBLISH with packet_id 0 (set it for QoS > 0).
Message to_message(Publish&& p, ProtocolVersion version);
Publish to_publish(const Message& m);

}  // namespace gw::mqtt
