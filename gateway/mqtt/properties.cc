#include "gateway/mqtt/properties.h"

#include <string>
#include <utility>

#include "gateway/mqtt/internal/properties_wire.h"
#include "gateway/mqtt/topic.h"

namespace gw::mqtt {
namespace {

// Bit (1 << packet type) per packet that may carry the property; bit 0 stands
// for the CONNECT Will Properties (§2.2.2.2 table).
constexpr uint16_t bit(PacketType t) {
  return static_cast<uint16_t>(1u << static_cast<unsigned>(t));
}
constexpr uint16_t kWill = 1;
constexpr uint16_t kAcks = bit(PacketType::kPuback) | bit(PacketType::kPubrec) |
                           bit(PacketType::kPubrel) | bit(PacketType::kPubcomp);

uint16_t allowed_mask(PropertyId id) {
  using P = PacketType;
  switch (id) {
    case PropertyId::kPayloadFormatIndicator:
    case PropertyId::kMessageExpiryInterval:
    case PropertyId::kContentType:
    case PropertyId::kResponseTopic:
    case PropertyId::kCorrelationData:
      return bit(P::kPublish) | kWill;
    case PropertyId::kSubscriptionIdentifier:
      return bit(P::kPublish) | bit(P::kSubscribe);
    case PropertyId::kSessionExpiryInterval:
      return bit(P::kConnect) | bit(P::kConnack) | bit(P::kDisconnect);
    case PropertyId::kAssignedClientIdentifier:
    case PropertyId::kServerKeepAlive:
    case PropertyId::kResponseInformation:
    case PropertyId::kMaximumQos:
    case PropertyId::kRetainAvailable:
    case PropertyId::kWildcardSubscriptionAvailable:
    case PropertyId::kSubscriptionIdentifierAvailable:
    case PropertyId::kSharedSubscriptionAvailable:
      return bit(P::kConnack);
    case PropertyId::kAuthenticationMethod:
    case PropertyId::kAuthenticationData:
      return bit(P::kConnect) | bit(P::kConnack) | bit(P::kAuth);
    case PropertyId::kRequestProblemInformation:
    case PropertyId::kRequestResponseInformation:
      return bit(P::kConnect);
    case PropertyId::kWillDelayInterval:
      return kWill;
    case PropertyId::kServerReference:
      return bit(P::kConnack) | bit(P::kDisconnect);
    case PropertyId::kReasonString:
      return bit(P::kConnack) | kAcks | bit(P::kSuback) | bit(P::kUnsuback) | bit(P::kDisconnect) |
             bit(P::kAuth);
    case PropertyId::kReceiveMaximum:
    case PropertyId::kTopicAliasMaximum:
    case PropertyId::kMaximumPacketSize:
      return bit(P::kConnect) | bit(P::kConnack);
    case PropertyId::kTopicAlias:
      return bit(P::kPublish);
    case PropertyId::kUserProperty:
      return static_cast<uint16_t>(0xFFFFu & ~bit(P::kPingreq) & ~bit(P::kPingresp));
  }
  return 0;
}

}  // namespace

std::string_view to_string(PacketType type) {
  switch (type) {
    case PacketType::kConnect:
      return "CONNECT";
    case PacketType::kConnack:
      return "CONNACK";
    case PacketType::kPublish:
      return "PUBLISH";
    case PacketType::kPuback:
      return "PUBACK";
    case PacketType::kPubrec:
      return "PUBREC";
    case PacketType::kPubrel:
      return "PUBREL";
    case PacketType::kPubcomp:
      return "PUBCOMP";
    case PacketType::kSubscribe:
      return "SUBSCRIBE";
    case PacketType::kSuback:
      return "SUBACK";
    case PacketType::kUnsubscribe:
      return "UNSUBSCRIBE";
    case PacketType::kUnsuback:
      return "UNSUBACK";
    case PacketType::kPingreq:
      return "PINGREQ";
    case PacketType::kPingresp:
      return "PINGRESP";
    case PacketType::kDisconnect:
      return "DISCONNECT";
    case PacketType::kAuth:
      return "AUTH";
  }
  return "RESERVED";
}

bool property_allowed(PropertyId id, PacketType type, bool in_will) {
  const uint16_t mask = allowed_mask(id);
  if (in_will) return (mask & kWill) != 0;
  return (mask & bit(type)) != 0;
}

bool Properties::empty() const { return *this == Properties{}; }

MessageProperties take_message_properties(Properties& p) {
  MessageProperties m;
  m.user = std::move(p.user);
  p.user.clear();
  m.content_type = std::exchange(p.content_type, std::nullopt);
  m.payload_format = std::exchange(p.payload_format_indicator, std::nullopt);
  m.message_expiry_s = std::exchange(p.message_expiry_interval_s, std::nullopt);
  m.response_topic = std::exchange(p.response_topic, std::nullopt);
  m.correlation_data = std::exchange(p.correlation_data, std::nullopt);
  return m;
}

void put_message_properties(MessageProperties&& m, Properties& out) {
  out.user = std::move(m.user);
  out.content_type = std::move(m.content_type);
  out.payload_format_indicator = m.payload_format;
  out.message_expiry_interval_s = m.message_expiry_s;
  out.response_topic = std::move(m.response_topic);
  out.correlation_data = std::move(m.correlation_data);
}

namespace internal {
namespace {

std::string prop_name(PropertyId id) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  const auto v = static_cast<uint8_t>(id);
  return std::string("property 0x") + kHex[v >> 4] + kHex[v & 0xF];
}

// One property's value, after the identifier. `seen` tracks non-repeatable
// identifiers (index = identifier) for the §2.2.2.2 duplicate rule.
class PropertyReader {
 public:
  PropertyReader(Reader& r, Properties& out) : r_(r), out_(out) {}

  bool read_one(PropertyId id) {
    switch (id) {
      case PropertyId::kPayloadFormatIndicator:
        return flag(id, out_.payload_format_indicator, "payload format indicator");
      case PropertyId::kMessageExpiryInterval:
        return u32(id, out_.message_expiry_interval_s);
      case PropertyId::kContentType:
        return utf8(id, out_.content_type);
      case PropertyId::kResponseTopic:
        if (!utf8(id, out_.response_topic)) return false;
        if (!check_topic_name(*out_.response_topic).empty()) {
          return r_.fail(ReasonCode::kProtocolError, "response topic is not a valid topic name");
        }
        return true;
      case PropertyId::kCorrelationData:
        return bin(id, out_.correlation_data);
      case PropertyId::kSubscriptionIdentifier: {
        uint32_t v = 0;
        if (!r_.varint(v, "subscription identifier")) return false;
        if (v == 0) return r_.fail(ReasonCode::kProtocolError, "subscription identifier is 0");
        out_.subscription_identifiers.push_back(v);
        return true;
      }
      case PropertyId::kSessionExpiryInterval:
        return u32(id, out_.session_expiry_interval_s);
      case PropertyId::kAssignedClientIdentifier:
        return utf8(id, out_.assigned_client_identifier);
      case PropertyId::kServerKeepAlive:
        return u16(id, out_.server_keep_alive_s, false);
      case PropertyId::kAuthenticationMethod:
        return utf8(id, out_.authentication_method);
      case PropertyId::kAuthenticationData:
        return bin(id, out_.authentication_data);
      case PropertyId::kRequestProblemInformation:
        return flag(id, out_.request_problem_information, "request problem information");
      case PropertyId::kWillDelayInterval:
        return u32(id, out_.will_delay_interval_s);
      case PropertyId::kRequestResponseInformation:
        return flag(id, out_.request_response_information, "request response information");
      case PropertyId::kResponseInformation:
        return utf8(id, out_.response_information);
      case PropertyId::kServerReference:
        return utf8(id, out_.server_reference);
      case PropertyId::kReasonString:
        return utf8(id, out_.reason_string);
      case PropertyId::kReceiveMaximum:
        return u16(id, out_.receive_maximum, true);
      case PropertyId::kTopicAliasMaximum:
        return u16(id, out_.topic_alias_maximum, false);
      case PropertyId::kTopicAlias:
        return u16(id, out_.topic_alias, true);
      case PropertyId::kMaximumQos:
        return flag(id, out_.maximum_qos, "maximum QoS");
      case PropertyId::kRetainAvailable:
        return flag(id, out_.retain_available, "retain available");
      case PropertyId::kUserProperty: {
        std::string name;
        std::string value;
        if (!r_.utf8(name, "user property name") || !r_.utf8(value, "user property value")) {
          return false;
        }
        out_.user.emplace_back(std::move(name), std::move(value));
        return true;
      }
      case PropertyId::kMaximumPacketSize: {
        if (!u32(id, out_.maximum_packet_size)) return false;
        if (*out_.maximum_packet_size == 0) {
          return r_.fail(ReasonCode::kProtocolError, "maximum packet size is 0");
        }
        return true;
      }
      case PropertyId::kWildcardSubscriptionAvailable:
        return flag(id, out_.wildcard_subscription_available, "wildcard subscription available");
      case PropertyId::kSubscriptionIdentifierAvailable:
        return flag(id, out_.subscription_identifier_available,
                    "subscription identifier available");
      case PropertyId::kSharedSubscriptionAvailable:
        return flag(id, out_.shared_subscription_available, "shared subscription available");
    }
    return r_.fail(ReasonCode::kMalformedPacket, "unknown " + prop_name(id));
  }

 private:
  template <typename T>
  bool not_twice(PropertyId id, const std::optional<T>& field) {
    if (field) return r_.fail(ReasonCode::kProtocolError, prop_name(id) + " appears twice");
    return true;
  }
  // Byte properties whose only values are 0 and 1.
  bool flag(PropertyId id, std::optional<uint8_t>& field, const char* what) {
    uint8_t v = 0;
    if (!not_twice(id, field) || !r_.u8(v, what)) return false;
    if (v > 1) return r_.fail(ReasonCode::kProtocolError, std::string(what) + " is not 0 or 1");
    field = v;
    return true;
  }
  bool u16(PropertyId id, std::optional<uint16_t>& field, bool non_zero) {
    uint16_t v = 0;
    if (!not_twice(id, field) || !r_.u16(v, "two byte property")) return false;
    if (non_zero && v == 0) return r_.fail(ReasonCode::kProtocolError, prop_name(id) + " is 0");
    field = v;
    return true;
  }
  bool u32(PropertyId id, std::optional<uint32_t>& field) {
    uint32_t v = 0;
    if (!not_twice(id, field) || !r_.u32(v, "four byte property")) return false;
    field = v;
    return true;
  }
  bool utf8(PropertyId id, std::optional<std::string>& field) {
    std::string v;
    if (!not_twice(id, field) || !r_.utf8(v, "string property")) return false;
    field = std::move(v);
    return true;
  }
  bool bin(PropertyId id, std::optional<std::string>& field) {
    std::string v;
    if (!not_twice(id, field) || !r_.binary(v, "binary property")) return false;
    field = std::move(v);
    return true;
  }

  Reader& r_;
  Properties& out_;
};

}  // namespace

bool read_properties(Reader& r, PacketType type, bool in_will, Properties& out) {
  uint32_t length = 0;
  if (!r.varint(length, "property length")) return false;
  std::string_view block;
  if (!r.bytes(length, block, "properties")) return false;
  Reader pr(block);
  PropertyReader reader(pr, out);
  bool seen_subscription_id = false;
  while (!pr.at_end()) {
    // The identifier is a variable byte integer (§2.2.2.2); every defined one
    // fits in one byte, so a continuation bit means an unknown identifier.
    uint8_t raw = 0;
    if (!pr.u8(raw, "property identifier")) break;
    const auto id = static_cast<PropertyId>(raw);
    if (raw >= 0x80 || allowed_mask(id) == 0) {
      pr.fail(ReasonCode::kMalformedPacket, "unknown " + prop_name(id));
      break;
    }
    // §2.2.2.2: "A Control Packet which contains an Identifier which is not
    // valid for its packet type ... is a Malformed Packet."
    if (!property_allowed(id, type, in_will)) {
      pr.fail(ReasonCode::kMalformedPacket,
              prop_name(id) + " is not allowed in " +
                  (in_will ? std::string("will properties") : std::string(to_string(type))));
      break;
    }
    if (id == PropertyId::kSubscriptionIdentifier && type != PacketType::kPublish) {
      if (seen_subscription_id) {
        pr.fail(ReasonCode::kProtocolError, "subscription identifier appears twice");
        break;
      }
      seen_subscription_id = true;
    }
    if (!reader.read_one(id)) break;
  }
  if (pr.failed()) {
    DecodeError e = pr.take_error();
    return r.fail(e.reason_code, std::move(e.message));
  }
  return true;
}

bool properties_allowed(const Properties& p, PacketType type, bool in_will) {
  // Re-read what would be written: simplest exact check, debug builds only.
  std::string bytes;
  StringSink s{bytes};
  Writer<StringSink> w(s);
  write_properties(w, p);
  Reader r(bytes);
  Properties back;
  return read_properties(r, type, in_will, back);
}

}  // namespace internal
}  // namespace gw::mqtt
