// PUBACK, PUBREC, PUBREL, PUBCOMP (3.1.1 §3.4-3.7, 5.0 §3.4-3.7): a packet
// identifier, then in MQTT 5 an optional reason code and properties.
#include <cassert>
#include <string>

#include "gateway/mqtt/codec.h"
#include "gateway/mqtt/internal/packets.h"
#include "gateway/mqtt/internal/properties_wire.h"

namespace gw::mqtt {
namespace internal {
namespace {

template <typename T>
constexpr PacketType type_of_ack() {
  if constexpr (std::is_same_v<T, Puback>) return PacketType::kPuback;
  if constexpr (std::is_same_v<T, Pubrec>) return PacketType::kPubrec;
  if constexpr (std::is_same_v<T, Pubrel>) return PacketType::kPubrel;
  return PacketType::kPubcomp;
}

// 5.0 §3.4.2.1: the reason code may be left out when it is 0x00 and there are
// no properties; the property length may be left out when there are none.
template <typename W, typename T>
void write_body(W& w, const T& p, ProtocolVersion v) {
  w.u16(p.packet_id);
  if (v != ProtocolVersion::kV5) return;
  const bool no_props = p.properties.empty();
  if (p.reason_code == ReasonCode::kSuccess && no_props) return;
  w.u8(static_cast<uint8_t>(p.reason_code));
  if (!no_props) write_properties(w, p.properties);
}

template <typename T>
std::optional<Packet> decode_ack(Reader& r, ProtocolVersion v) {
  constexpr PacketType kType = type_of_ack<T>();
  T p;
  if (!r.u16(p.packet_id, "packet identifier")) return std::nullopt;
  if (p.packet_id == 0) {
    r.fail(ReasonCode::kProtocolError, std::string(to_string(kType)) + " packet identifier is 0");
    return std::nullopt;
  }
  if (v == ProtocolVersion::kV5 && !r.at_end()) {
    uint8_t code = 0;
    if (!r.u8(code, "reason code")) return std::nullopt;
    p.reason_code = static_cast<ReasonCode>(code);
    if (!reason_allowed(kType, p.reason_code)) {
      r.fail(ReasonCode::kMalformedPacket,
             "reason code not allowed in " + std::string(to_string(kType)));
      return std::nullopt;
    }
    if (!r.at_end() && !read_properties(r, kType, false, p.properties)) return std::nullopt;
  }
  return Packet(std::move(p));
}

template <typename T>
void encode_ack(const T& p, ProtocolVersion v, std::string& out) {
  constexpr PacketType kType = type_of_ack<T>();
  assert(p.packet_id != 0);
  assert(v != ProtocolVersion::kV5 || internal::properties_allowed(p.properties, kType));
  write_packet(first_byte(kType, required_flags(kType)), out,
               [&](auto& w) { write_body(w, p, v); });
}

template <typename T>
size_t ack_size(const T& p, ProtocolVersion v) {
  return packet_size(measure([&](auto& w) { write_body(w, p, v); }));
}

}  // namespace

std::optional<Packet> decode_pub_response(PacketType type, uint8_t /*flags*/, Reader& r,
                                          ProtocolVersion v) {
  switch (type) {
    case PacketType::kPuback:
      return decode_ack<Puback>(r, v);
    case PacketType::kPubrec:
      return decode_ack<Pubrec>(r, v);
    case PacketType::kPubrel:
      return decode_ack<Pubrel>(r, v);
    default:
      return decode_ack<Pubcomp>(r, v);
  }
}

size_t size_of(const Puback& p, ProtocolVersion v) { return ack_size(p, v); }
size_t size_of(const Pubrec& p, ProtocolVersion v) { return ack_size(p, v); }
size_t size_of(const Pubrel& p, ProtocolVersion v) { return ack_size(p, v); }
size_t size_of(const Pubcomp& p, ProtocolVersion v) { return ack_size(p, v); }

}  // namespace internal

void encode(const Puback& p, ProtocolVersion v, std::string& out) {
  internal::encode_ack(p, v, out);
}
void encode(const Pubrec& p, ProtocolVersion v, std::string& out) {
  internal::encode_ack(p, v, out);
}
void encode(const Pubrel& p, ProtocolVersion v, std::string& out) {
  internal::encode_ack(p, v, out);
}
void encode(const Pubcomp& p, ProtocolVersion v, std::string& out) {
  internal::encode_ack(p, v, out);
}

}  // namespace gw::mqtt
