// CONNACK (3.1.1 §3.2, 5.0 §3.2).
#include <cassert>
#include <string>

#include "gateway/mqtt/codec.h"
#include "gateway/mqtt/internal/packets.h"
#include "gateway/mqtt/internal/properties_wire.h"

namespace gw::mqtt {
namespace internal {
namespace {

template <typename W>
void write_body(W& w, const Connack& p, ProtocolVersion v) {
  w.u8(p.session_present ? 0x01 : 0x00);  // Connect Acknowledge Flags (§3.2.2.1)
  if (v == ProtocolVersion::kV5) {
    w.u8(static_cast<uint8_t>(p.reason_code));
    write_properties(w, p.properties);
  } else {
    w.u8(static_cast<uint8_t>(to_connect_return_code(p.reason_code)));
  }
}

}  // namespace

std::optional<Packet> decode_connack(uint8_t /*flags*/, Reader& r, ProtocolVersion v) {
  Connack p;
  uint8_t ack_flags = 0;
  uint8_t code = 0;
  if (!r.u8(ack_flags, "connect acknowledge flags") || !r.u8(code, "connect reason code")) {
    return std::nullopt;
  }
  // §3.2.2.1: bits 7-1 are reserved and MUST be 0.
  if (ack_flags & 0xFE) {
    r.fail(ReasonCode::kMalformedPacket, "reserved connect acknowledge flags are set");
    return std::nullopt;
  }
  p.session_present = (ack_flags & 0x01) != 0;
  if (v == ProtocolVersion::kV5) {
    p.reason_code = static_cast<ReasonCode>(code);
    if (!reason_allowed(PacketType::kConnack, p.reason_code)) {
      r.fail(ReasonCode::kMalformedPacket, "reason code not allowed in CONNACK");
      return std::nullopt;
    }
    if (!read_properties(r, PacketType::kConnack, false, p.properties)) return std::nullopt;
  } else {
    if (code > 5) {
      r.fail(ReasonCode::kMalformedPacket, "CONNACK return code above 5");
      return std::nullopt;
    }
    p.reason_code = to_reason_code(static_cast<ConnectReturnCode>(code));
  }
  return Packet(std::move(p));
}

size_t size_of(const Connack& p, ProtocolVersion v) {
  return packet_size(measure([&](auto& w) { write_body(w, p, v); }));
}

}  // namespace internal

void encode(const Connack& p, ProtocolVersion v, std::string& out) {
  assert(v != ProtocolVersion::kV5 ||
         internal::properties_allowed(p.properties, PacketType::kConnack));
  internal::write_packet(internal::first_byte(PacketType::kConnack, 0), out,
                         [&](auto& w) { internal::write_body(w, p, v); });
}

}  // namespace gw::mqtt
