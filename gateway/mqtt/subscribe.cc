// SUBSCRIBE and SUBACK (3.1.1 §3.8-3.9, 5.0 §3.8-3.9).
#include <cassert>
#include <string>

#include "gateway/mqtt/codec.h"
#include "gateway/mqtt/internal/packets.h"
#include "gateway/mqtt/internal/properties_wire.h"

namespace gw::mqtt {
namespace internal {
namespace {

// Subscription Options byte (5.0 §3.8.3.1; 3.1.1 has only the QoS bits).
constexpr uint8_t kNoLocal = 0x04;
constexpr uint8_t kRetainAsPublished = 0x08;
constexpr uint8_t kRetainHandlingShift = 4;

uint8_t options_byte(const Subscription& s, ProtocolVersion v) {
  uint8_t b = s.qos;
  if (v == ProtocolVersion::kV5) {
    if (s.no_local) b |= kNoLocal;
    if (s.retain_as_published) b |= kRetainAsPublished;
    b |= static_cast<uint8_t>(s.retain_handling << kRetainHandlingShift);
  }
  return b;
}

template <typename W>
void write_subscribe(W& w, const Subscribe& p, ProtocolVersion v) {
  w.u16(p.packet_id);
  if (v == ProtocolVersion::kV5) write_properties(w, p.properties);
  for (const Subscription& s : p.subscriptions) {
    w.str(s.filter);
    w.u8(options_byte(s, v));
  }
}

// 3.1.1 §3.9.3: only 0x00, 0x01, 0x02 and 0x80 exist.
uint8_t suback_byte(ReasonCode c, ProtocolVersion v) {
  const auto b = static_cast<uint8_t>(c);
  if (v != ProtocolVersion::kV5 && b > 2) return 0x80;
  return b;
}

template <typename W>
void write_suback(W& w, const Suback& p, ProtocolVersion v) {
  w.u16(p.packet_id);
  if (v == ProtocolVersion::kV5) write_properties(w, p.properties);
  for (ReasonCode c : p.reason_codes) w.u8(suback_byte(c, v));
}

}  // namespace

std::optional<Packet> decode_subscribe(uint8_t /*flags*/, Reader& r, ProtocolVersion v) {
  Subscribe p;
  const bool v5 = v == ProtocolVersion::kV5;
  if (!r.u16(p.packet_id, "packet identifier")) return std::nullopt;
  if (p.packet_id == 0) {
    r.fail(ReasonCode::kProtocolError, "SUBSCRIBE packet identifier is 0");
    return std::nullopt;
  }
  if (v5 && !read_properties(r, PacketType::kSubscribe, false, p.properties)) return std::nullopt;
  // 5.0 §3.8.3: a SUBSCRIBE with no payload is a Protocol Error.
  if (r.at_end()) {
    r.fail(ReasonCode::kProtocolError, "SUBSCRIBE has no topic filters");
    return std::nullopt;
  }
  while (!r.at_end()) {
    Subscription& s = p.subscriptions.emplace_back();
    uint8_t opts = 0;
    if (!r.utf8(s.filter, "topic filter") || !r.u8(opts, "subscription options")) {
      return std::nullopt;
    }
    s.qos = opts & 0x03;
    if (s.qos == 3) {
      r.fail(ReasonCode::kMalformedPacket, "subscription QoS is 3");
      return std::nullopt;
    }
    if (opts & (v5 ? 0xC0 : 0xFC)) {
      r.fail(ReasonCode::kMalformedPacket, "reserved subscription option bits are set");
      return std::nullopt;
    }
    if (v5) {
      s.no_local = (opts & kNoLocal) != 0;
      s.retain_as_published = (opts & kRetainAsPublished) != 0;
      s.retain_handling = (opts >> kRetainHandlingShift) & 0x03;
      if (s.retain_handling == 3) {
        r.fail(ReasonCode::kProtocolError, "retain handling is 3");
        return std::nullopt;
      }
    }
  }
  return Packet(std::move(p));
}

std::optional<Packet> decode_suback(uint8_t /*flags*/, Reader& r, ProtocolVersion v) {
  Suback p;
  const bool v5 = v == ProtocolVersion::kV5;
  if (!r.u16(p.packet_id, "packet identifier")) return std::nullopt;
  if (p.packet_id == 0) {
    r.fail(ReasonCode::kProtocolError, "SUBACK packet identifier is 0");
    return std::nullopt;
  }
  if (v5 && !read_properties(r, PacketType::kSuback, false, p.properties)) return std::nullopt;
  if (r.at_end()) {
    r.fail(ReasonCode::kProtocolError, "SUBACK has no reason codes");
    return std::nullopt;
  }
  const std::string_view codes = r.rest();
  p.reason_codes.reserve(codes.size());
  for (char ch : codes) {
    const auto c = static_cast<ReasonCode>(static_cast<uint8_t>(ch));
    const bool ok = v5 ? reason_allowed(PacketType::kSuback, c)
                       : (static_cast<uint8_t>(c) <= 2 || c == ReasonCode::kUnspecifiedError);
    if (!ok) {
      r.fail(ReasonCode::kMalformedPacket, "reason code not allowed in SUBACK");
      return std::nullopt;
    }
    p.reason_codes.push_back(c);
  }
  return Packet(std::move(p));
}

size_t size_of(const Subscribe& p, ProtocolVersion v) {
  return packet_size(measure([&](auto& w) { write_subscribe(w, p, v); }));
}
size_t size_of(const Suback& p, ProtocolVersion v) {
  return packet_size(measure([&](auto& w) { write_suback(w, p, v); }));
}

}  // namespace internal

void encode(const Subscribe& p, ProtocolVersion v, std::string& out) {
  assert(p.packet_id != 0 && !p.subscriptions.empty());
  assert(v != ProtocolVersion::kV5 ||
         internal::properties_allowed(p.properties, PacketType::kSubscribe));
  internal::write_packet(internal::first_byte(PacketType::kSubscribe, 0x02), out,
                         [&](auto& w) { internal::write_subscribe(w, p, v); });
}

void encode(const Suback& p, ProtocolVersion v, std::string& out) {
  assert(p.packet_id != 0 && !p.reason_codes.empty());
  assert(v != ProtocolVersion::kV5 ||
         internal::properties_allowed(p.properties, PacketType::kSuback));
  internal::write_packet(internal::first_byte(PacketType::kSuback, 0), out,
                         [&](auto& w) { internal::write_suback(w, p, v); });
}

}  // namespace gw::mqtt
