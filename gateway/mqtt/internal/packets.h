// Per-packet decoders, called by decode() after the fixed header is split
// off. Each takes the fixed-header flags and a Reader over exactly the
// variable header and payload, and returns the packet or records an error in
// the Reader (then the returned value is ignored). Private to gateway/mqtt.
#pragma once

#include <cstdint>
#include <optional>

#include "gateway/mqtt/internal/wire.h"
#include "gateway/mqtt/packet.h"

namespace gw::mqtt::internal {

std::optional<Packet> decode_connect(uint8_t flags, Reader& r);
std::optional<Packet> decode_connack(uint8_t flags, Reader& r, ProtocolVersion v);
std::optional<Packet> decode_publish(uint8_t flags, Reader& r, ProtocolVersion v);
// PUBACK, PUBREC, PUBREL, PUBCOMP.
std::optional<Packet> decode_pub_response(PacketType type, uint8_t flags, Reader& r,
                                          ProtocolVersion v);
std::optional<Packet> decode_subscribe(uint8_t flags, Reader& r, ProtocolVersion v);
std::optional<Packet> decode_suback(uint8_t flags, Reader& r, ProtocolVersion v);
std::optional<Packet> decode_unsubscribe(uint8_t flags, Reader& r, ProtocolVersion v);
std::optional<Packet> decode_unsuback(uint8_t flags, Reader& r, ProtocolVersion v);
// PINGREQ, PINGRESP, DISCONNECT, AUTH.
std::optional<Packet> decode_control(PacketType type, uint8_t flags, Reader& r, ProtocolVersion v);

// Size of the encoded packet (fixed header included); see encoded_size().
size_t size_of(const Connect& p, ProtocolVersion v);  // v unused: p.version decides
size_t size_of(const Connack& p, ProtocolVersion v);
size_t size_of(const Publish& p, ProtocolVersion v);
size_t size_of(const Puback& p, ProtocolVersion v);
size_t size_of(const Pubrec& p, ProtocolVersion v);
size_t size_of(const Pubrel& p, ProtocolVersion v);
size_t size_of(const Pubcomp& p, ProtocolVersion v);
size_t size_of(const Subscribe& p, ProtocolVersion v);
size_t size_of(const Suback& p, ProtocolVersion v);
size_t size_of(const Unsubscribe& p, ProtocolVersion v);
size_t size_of(const Unsuback& p, ProtocolVersion v);
size_t size_of(const Pingreq& p, ProtocolVersion v);
size_t size_of(const Pingresp& p, ProtocolVersion v);
size_t size_of(const Disconnect& p, ProtocolVersion v);
size_t size_of(const Auth& p, ProtocolVersion v);

// True when `code` may appear in a packet of `type` in MQTT 5 (§3.x.2.1 tables).
bool reason_allowed(PacketType type, ReasonCode code);

// Fixed-header flags a packet type must carry (§2.1.3); PUBLISH excluded.
constexpr uint8_t required_flags(PacketType type) {
  return (type == PacketType::kPubrel || type == PacketType::kSubscribe ||
          type == PacketType::kUnsubscribe)
             ? 0x02
             : 0x00;
}

}  // namespace gw::mqtt::internal
