// MQTT 5.0 properties (§2.2.2): one struct holding every property of the
// §2.2.2.2 table, used by every packet type. A value type; no thread affinity.
//
// Which properties a packet may carry is checked by the decoder (a property
// not allowed there, or a second copy of a non-repeatable one, is Protocol
// Error 0x82 per §2.2.2.2). The encoder writes whatever is set; callers set
// only properties allowed in the packet (checked with assert in debug builds).
// With protocol version 4 (3.1.1) properties are neither read nor written.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gateway/core/message.h"

namespace gw::mqtt {

enum class PacketType : uint8_t {
  kConnect = 1,
  kConnack = 2,
  kPublish = 3,
  kPuback = 4,
  kPubrec = 5,
  kPubrel = 6,
  kPubcomp = 7,
  kSubscribe = 8,
  kSuback = 9,
  kUnsubscribe = 10,
  kUnsuback = 11,
  kPingreq = 12,
  kPingresp = 13,
  kDisconnect = 14,
  kAuth = 15,
};

// "CONNECT", "PUBLISH", ...
std::string_view to_string(PacketType type);

// MQTT 5.0 §2.2.2.2 property identifiers.
enum class PropertyId : uint8_t {
  kPayloadFormatIndicator = 0x01,           // byte         PUBLISH, Will
  kMessageExpiryInterval = 0x02,            // four bytes   PUBLISH, Will
  kContentType = 0x03,                      // UTF-8        PUBLISH, Will
  kResponseTopic = 0x08,                    // UTF-8        PUBLISH, Will
  kCorrelationData = 0x09,                  // binary       PUBLISH, Will
  kSubscriptionIdentifier = 0x0B,           // var. int     PUBLISH (repeatable), SUBSCRIBE
  kSessionExpiryInterval = 0x11,            // four bytes   CONNECT, CONNACK, DISCONNECT
  kAssignedClientIdentifier = 0x12,         // UTF-8        CONNACK
  kServerKeepAlive = 0x13,                  // two bytes    CONNACK
  kAuthenticationMethod = 0x15,             // UTF-8        CONNECT, CONNACK, AUTH
  kAuthenticationData = 0x16,               // binary       CONNECT, CONNACK, AUTH
  kRequestProblemInformation = 0x17,        // byte         CONNECT
  kWillDelayInterval = 0x18,                // four bytes   Will
  kRequestResponseInformation = 0x19,       // byte         CONNECT
  kResponseInformation = 0x1A,              // UTF-8        CONNACK
  kServerReference = 0x1C,                  // UTF-8        CONNACK, DISCONNECT
  kReasonString = 0x1F,                     // UTF-8        CONNACK, acks, DISCONNECT, AUTH
  kReceiveMaximum = 0x21,                   // two bytes    CONNECT, CONNACK
  kTopicAliasMaximum = 0x22,                // two bytes    CONNECT, CONNACK
  kTopicAlias = 0x23,                       // two bytes    PUBLISH
  kMaximumQos = 0x24,                       // byte         CONNACK
  kRetainAvailable = 0x25,                  // byte         CONNACK
  kUserProperty = 0x26,                     // UTF-8 pair   all but PINGREQ/PINGRESP (repeatable)
  kMaximumPacketSize = 0x27,                // four bytes   CONNECT, CONNACK
  kWildcardSubscriptionAvailable = 0x28,    // byte         CONNACK
  kSubscriptionIdentifierAvailable = 0x29,  // byte         CONNACK
  kSharedSubscriptionAvailable = 0x2A,      // byte         CONNACK
};

// True when `id` may appear in a packet of `type` (§2.2.2.2 table). `in_will`
// selects the CONNECT payload's Will Properties (§3.1.3.2) instead of the
// CONNECT variable header.
bool property_allowed(PropertyId id, PacketType type, bool in_will = false);

// Every property of §2.2.2.2. Unset = absent on the wire. Intervals are in
// seconds as on the wire (no conversion, no clock).
struct Properties {
  std::optional<uint8_t> payload_format_indicator;           // 0x01: 0 bytes, 1 UTF-8
  std::optional<uint32_t> message_expiry_interval_s;         // 0x02
  std::optional<std::string> content_type;                   // 0x03
  std::optional<std::string> response_topic;                 // 0x08
  std::optional<std::string> correlation_data;               // 0x09 (binary)
  std::vector<uint32_t> subscription_identifiers;            // 0x0B: 1..268435455, wire order
  std::optional<uint32_t> session_expiry_interval_s;         // 0x11
  std::optional<std::string> assigned_client_identifier;     // 0x12
  std::optional<uint16_t> server_keep_alive_s;               // 0x13
  std::optional<std::string> authentication_method;          // 0x15
  std::optional<std::string> authentication_data;            // 0x16 (binary)
  std::optional<uint8_t> request_problem_information;        // 0x17: 0 or 1
  std::optional<uint32_t> will_delay_interval_s;             // 0x18
  std::optional<uint8_t> request_response_information;       // 0x19: 0 or 1
  std::optional<std::string> response_information;           // 0x1A
  std::optional<std::string> server_reference;               // 0x1C
  std::optional<std::string> reason_string;                  // 0x1F
  std::optional<uint16_t> receive_maximum;                   // 0x21: non-zero
  std::optional<uint16_t> topic_alias_maximum;               // 0x22
  std::optional<uint16_t> topic_alias;                       // 0x23: non-zero
  std::optional<uint8_t> maximum_qos;                        // 0x24: 0 or 1
  std::optional<uint8_t> retain_available;                   // 0x25: 0 or 1
  std::vector<UserProperty> user;                            // 0x26: ordered, repeatable
  std::optional<uint32_t> maximum_packet_size;               // 0x27: non-zero
  std::optional<uint8_t> wildcard_subscription_available;    // 0x28: 0 or 1
  std::optional<uint8_t> subscription_identifier_available;  // 0x29: 0 or 1
  std::optional<uint8_t> shared_subscription_available;      // 0x2A: 0 or 1

  // True when no property is set (the encoder then writes length 0).
  bool empty() const;
  bool operator==(const Properties&) const = default;
};

// PUBLISH / Will properties ↔ the gateway's MessageProperties (the ones kept
// end to end: user, content type, payload format, message expiry, response
// topic, correlation data). Moves strings; other fields of `p` are left as is.
MessageProperties take_message_properties(Properties& p);
// Sets the message properties of `out` from `m` (moves strings out of `m`).
void put_message_properties(MessageProperties&& m, Properties& out);

}  // namespace gw::mqtt
