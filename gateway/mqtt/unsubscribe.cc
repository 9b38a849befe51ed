// UNSUBSCRIBE and UNSUBACK (3.1.1 §3.10-3.11, 5.0 §3.10-3.11).
#include <cassert>
#include <string>

#include "gateway/mqtt/codec.h"
#include "gateway/mqtt/internal/packets.h"
#include "gateway/mqtt/internal/properties_wire.h"

namespace gw::mqtt {
namespace internal {
namespace {

template <typename W>
void write_unsubscribe(W& w, const Unsubscribe& p, ProtocolVersion v) {
  w.u16(p.packet_id);
  if (v == ProtocolVersion::kV5) write_properties(w, p.properties);
  for (const std::string& f : p.filters) w.str(f);
}

// 3.1.1 UNSUBACK is just the packet identifier (§3.11.2).
template <typename W>
void write_unsuback(W& w, const Unsuback& p, ProtocolVersion v) {
  w.u16(p.packet_id);
  if (v != ProtocolVersion::kV5) return;
  write_properties(w, p.properties);
  for (ReasonCode c : p.reason_codes) w.u8(static_cast<uint8_t>(c));
}

}  // namespace

std::optional<Packet> decode_unsubscribe(uint8_t /*flags*/, Reader& r, ProtocolVersion v) {
  Unsubscribe p;
  if (!r.u16(p.packet_id, "packet identifier")) return std::nullopt;
  if (p.packet_id == 0) {
    r.fail(ReasonCode::kProtocolError, "UNSUBSCRIBE packet identifier is 0");
    return std::nullopt;
  }
  if (v == ProtocolVersion::kV5 &&
      !read_properties(r, PacketType::kUnsubscribe, false, p.properties)) {
    return std::nullopt;
  }
  // 5.0 §3.10.3: an UNSUBSCRIBE with no payload is a Protocol Error.
  if (r.at_end()) {
    r.fail(ReasonCode::kProtocolError, "UNSUBSCRIBE has no topic filters");
    return std::nullopt;
  }
  while (!r.at_end()) {
    if (!r.utf8(p.filters.emplace_back(), "topic filter")) return std::nullopt;
  }
  return Packet(std::move(p));
}

std::optional<Packet> decode_unsuback(uint8_t /*flags*/, Reader& r, ProtocolVersion v) {
  Unsuback p;
  if (!r.u16(p.packet_id, "packet identifier")) return std::nullopt;
  if (p.packet_id == 0) {
    r.fail(ReasonCode::kProtocolError, "UNSUBACK packet identifier is 0");
    return std::nullopt;
  }
  if (v != ProtocolVersion::kV5) {
    if (!r.at_end()) {
      r.fail(ReasonCode::kMalformedPacket, "3.1.1 UNSUBACK longer than 2 bytes");
      return std::nullopt;
    }
    return Packet(std::move(p));
  }
  if (!read_properties(r, PacketType::kUnsuback, false, p.properties)) return std::nullopt;
  if (r.at_end()) {
    r.fail(ReasonCode::kProtocolError, "UNSUBACK has no reason codes");
    return std::nullopt;
  }
  for (char ch : r.rest()) {
    const auto c = static_cast<ReasonCode>(static_cast<uint8_t>(ch));
    if (!reason_allowed(PacketType::kUnsuback, c)) {
      r.fail(ReasonCode::kMalformedPacket, "reason code not allowed in UNSUBACK");
      return std::nullopt;
    }
    p.reason_codes.push_back(c);
  }
  return Packet(std::move(p));
}

size_t size_of(const Unsubscribe& p, ProtocolVersion v) {
  return packet_size(measure([&](auto& w) { write_unsubscribe(w, p, v); }));
}
size_t size_of(const Unsuback& p, ProtocolVersion v) {
  return packet_size(measure([&](auto& w) { write_unsuback(w, p, v); }));
}

}  // namespace internal

void encode(const Unsubscribe& p, ProtocolVersion v, std::string& out) {
  assert(p.packet_id != 0 && !p.filters.empty());
  assert(v != ProtocolVersion::kV5 ||
         internal::properties_allowed(p.properties, PacketType::kUnsubscribe));
  internal::write_packet(internal::first_byte(PacketType::kUnsubscribe, 0x02), out,
                         [&](auto& w) { internal::write_unsubscribe(w, p, v); });
}

void encode(const Unsuback& p, ProtocolVersion v, std::string& out) {
  assert(p.packet_id != 0);
  assert(v != ProtocolVersion::kV5 ||
         internal::properties_allowed(p.properties, PacketType::kUnsuback));
  internal::write_packet(internal::first_byte(PacketType::kUnsuback, 0), out,
                         [&](auto& w) { internal::write_unsuback(w, p, v); });
}

}  // namespace gw::mqtt
