// Reading and writing a v5 property block (§2.2.2): Property Length as a
// variable byte integer, then identifier/value pairs. Private to gateway/mqtt.
#pragma once

#include <string_view>

#include "gateway/mqtt/internal/wire.h"
#include "gateway/mqtt/properties.h"

namespace gw::mqtt::internal {

// Reads Property Length and the properties into `out` (which must be empty),
// checking each identifier against `type` (and `in_will`), duplicates, and
// values the spec restricts. False with the error recorded in `r`.
bool read_properties(Reader& r, PacketType type, bool in_will, Properties& out);

// Writes the properties without the length prefix, in identifier order; user
// properties in their own order.
template <typename W>
void write_property_list(W& w, const Properties& p) {
  auto byte_prop = [&](PropertyId id, const std::optional<uint8_t>& v) {
    if (v) {
      w.u8(static_cast<uint8_t>(id));
      w.u8(*v);
    }
  };
  auto u16_prop = [&](PropertyId id, const std::optional<uint16_t>& v) {
    if (v) {
      w.u8(static_cast<uint8_t>(id));
      w.u16(*v);
    }
  };
  auto u32_prop = [&](PropertyId id, const std::optional<uint32_t>& v) {
    if (v) {
      w.u8(static_cast<uint8_t>(id));
      w.u32(*v);
    }
  };
  auto str_prop = [&](PropertyId id, const std::optional<std::string>& v) {
    if (v) {
      w.u8(static_cast<uint8_t>(id));
      w.str(*v);
    }
  };
  byte_prop(PropertyId::kPayloadFormatIndicator, p.payload_format_indicator);
  u32_prop(PropertyId::kMessageExpiryInterval, p.message_expiry_interval_s);
  str_prop(PropertyId::kContentType, p.content_type);
  str_prop(PropertyId::kResponseTopic, p.response_topic);
  str_prop(PropertyId::kCorrelationData, p.correlation_data);
  for (uint32_t id : p.subscription_identifiers) {
    w.u8(static_cast<uint8_t>(PropertyId::kSubscriptionIdentifier));
    w.varint(id);
  }
  u32_prop(PropertyId::kSessionExpiryInterval, p.session_expiry_interval_s);
  str_prop(PropertyId::kAssignedClientIdentifier, p.assigned_client_identifier);
  u16_prop(PropertyId::kServerKeepAlive, p.server_keep_alive_s);
  str_prop(PropertyId::kAuthenticationMethod, p.authentication_method);
  str_prop(PropertyId::kAuthenticationData, p.authentication_data);
  byte_prop(PropertyId::kRequestProblemInformation, p.request_problem_information);
  u32_prop(PropertyId::kWillDelayInterval, p.will_delay_interval_s);
  byte_prop(PropertyId::kRequestResponseInformation, p.request_response_information);
  str_prop(PropertyId::kResponseInformation, p.response_information);
  str_prop(PropertyId::kServerReference, p.server_reference);
  str_prop(PropertyId::kReasonString, p.reason_string);
  u16_prop(PropertyId::kReceiveMaximum, p.receive_maximum);
  u16_prop(PropertyId::kTopicAliasMaximum, p.topic_alias_maximum);
  u16_prop(PropertyId::kTopicAlias, p.topic_alias);
  byte_prop(PropertyId::kMaximumQos, p.maximum_qos);
  byte_prop(PropertyId::kRetainAvailable, p.retain_available);
  for (const auto& [name, value] : p.user) {
    w.u8(static_cast<uint8_t>(PropertyId::kUserProperty));
    w.str(name);
    w.str(value);
  }
  u32_prop(PropertyId::kMaximumPacketSize, p.maximum_packet_size);
  byte_prop(PropertyId::kWildcardSubscriptionAvailable, p.wildcard_subscription_available);
  byte_prop(PropertyId::kSubscriptionIdentifierAvailable, p.subscription_identifier_available);
  byte_prop(PropertyId::kSharedSubscriptionAvailable, p.shared_subscription_available);
}

// Property Length then the properties.
template <typename W>
void write_properties(W& w, const Properties& p) {
  const size_t n = measure([&](auto& cw) { write_property_list(cw, p); });
  w.varint(static_cast<uint32_t>(n));
  write_property_list(w, p);
}

// Debug check that every set property is allowed in `type`.
bool properties_allowed(const Properties& p, PacketType type, bool in_will = false);

}  // namespace gw::mqtt::internal
