// PINGREQ, PINGRESP (§3.12-3.13), DISCONNECT (§3.14) and AUTH (5.0 §3.15).
#include <cassert>
#include <string>

#include "gateway/mqtt/codec.h"
#include "gateway/mqtt/internal/packets.h"
#include "gateway/mqtt/internal/properties_wire.h"

namespace gw::mqtt {
namespace internal {
namespace {

// DISCONNECT (5.0 §3.14.2.1) and AUTH (§3.15.2.1): remaining length 0 means
// reason 0x00 and no properties. DISCONNECT may also stop after the reason.
template <typename W, typename T>
void write_reason_body(W& w, const T& p, ProtocolVersion v, bool reason_only_form) {
  if (v != ProtocolVersion::kV5) return;
  const bool no_props = p.properties.empty();
  if (p.reason_code == ReasonCode::kSuccess && no_props) return;
  w.u8(static_cast<uint8_t>(p.reason_code));
  if (no_props && reason_only_form) return;
  write_properties(w, p.properties);
}

template <typename T>
std::optional<Packet> decode_reason_body(PacketType type, Reader& r) {
  T p;
  if (r.at_end()) return Packet(std::move(p));
  uint8_t code = 0;
  if (!r.u8(code, "reason code")) return std::nullopt;
  p.reason_code = static_cast<ReasonCode>(code);
  if (!reason_allowed(type, p.reason_code)) {
    r.fail(ReasonCode::kMalformedPacket,
           "reason code not allowed in " + std::string(to_string(type)));
    return std::nullopt;
  }
  if (!r.at_end() && !read_properties(r, type, false, p.properties)) return std::nullopt;
  return Packet(std::move(p));
}

}  // namespace

std::optional<Packet> decode_control(PacketType type, uint8_t /*flags*/, Reader& r,
                                     ProtocolVersion v) {
  switch (type) {
    case PacketType::kPingreq:
    case PacketType::kPingresp:
      if (!r.at_end()) {
        r.fail(ReasonCode::kMalformedPacket, std::string(to_string(type)) + " has a body");
        return std::nullopt;
      }
      return type == PacketType::kPingreq ? Packet(Pingreq{}) : Packet(Pingresp{});
    case PacketType::kDisconnect:
      if (v != ProtocolVersion::kV5) {
        if (!r.at_end()) {
          r.fail(ReasonCode::kMalformedPacket, "3.1.1 DISCONNECT has a body");
          return std::nullopt;
        }
        return Packet(Disconnect{});
      }
      return decode_reason_body<Disconnect>(type, r);
    case PacketType::kAuth:
      // 3.1.1 §2.2.1: packet type 15 is reserved.
      if (v != ProtocolVersion::kV5) {
        r.fail(ReasonCode::kMalformedPacket, "AUTH (type 15) is reserved in MQTT 3.1.1");
        return std::nullopt;
      }
      return decode_reason_body<Auth>(type, r);
    default:
      r.fail(ReasonCode::kMalformedPacket, "not a control packet");
      return std::nullopt;
  }
}

size_t size_of(const Pingreq&, ProtocolVersion) { return 2; }
size_t size_of(const Pingresp&, ProtocolVersion) { return 2; }
size_t size_of(const Disconnect& p, ProtocolVersion v) {
  return packet_size(measure([&](auto& w) { write_reason_body(w, p, v, true); }));
}
size_t size_of(const Auth& p, ProtocolVersion v) {
  return packet_size(measure([&](auto& w) { write_reason_body(w, p, v, false); }));
}

}  // namespace internal

void encode(const Pingreq&, ProtocolVersion, std::string& out) {
  out.append({static_cast<char>(0xC0), 0x00});
}

void encode(const Pingresp&, ProtocolVersion, std::string& out) {
  out.append({static_cast<char>(0xD0), 0x00});
}

void encode(const Disconnect& p, ProtocolVersion v, std::string& out) {
  assert(v != ProtocolVersion::kV5 ||
         internal::properties_allowed(p.properties, PacketType::kDisconnect));
  internal::write_packet(internal::first_byte(PacketType::kDisconnect, 0), out,
                         [&](auto& w) { internal::write_reason_body(w, p, v, true); });
}

void encode(const Auth& p, ProtocolVersion v, std::string& out) {
  assert(v == ProtocolVersion::kV5);
  assert(internal::properties_allowed(p.properties, PacketType::kAuth));
  internal::write_packet(internal::first_byte(PacketType::kAuth, 0), out,
                         [&](auto& w) { internal::write_reason_body(w, p, v, false); });
}

}  // namespace gw::mqtt
