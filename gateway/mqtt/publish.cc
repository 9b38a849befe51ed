// PUBLISH (3.1.1 §3.3, 5.0 §3.3): the hot path. Decoding allocates at most
// the topic (when longer than the small-string buffer) and the payload, plus
// any properties present; encoding appends into the caller's buffer after one
// reserve().
#include <cassert>
#include <string>

#include "gateway/mqtt/codec.h"
#include "gateway/mqtt/internal/packets.h"
#include "gateway/mqtt/internal/properties_wire.h"
#include "gateway/mqtt/topic.h"

namespace gw::mqtt {
namespace internal {
namespace {

constexpr uint8_t kDup = 0x08;
constexpr uint8_t kRetain = 0x01;

uint8_t publish_flags(const Publish& p) {
  return static_cast<uint8_t>((p.dup ? kDup : 0) | (p.qos << 1) | (p.retain ? kRetain : 0));
}

template <typename W>
void write_body(W& w, const Publish& p, ProtocolVersion v) {
  w.str(p.topic);
  if (p.qos > 0) w.u16(p.packet_id);
  if (v == ProtocolVersion::kV5) write_properties(w, p.properties);
  w.raw(p.payload);
}

}  // namespace

std::optional<Packet> decode_publish(uint8_t flags, Reader& r, ProtocolVersion v) {
  Publish p;
  p.dup = (flags & kDup) != 0;
  p.qos = (flags >> 1) & 0x03;
  p.retain = (flags & kRetain) != 0;
  // §3.3.1.2: QoS 3 is a Malformed Packet.
  if (p.qos == 3) {
    r.fail(ReasonCode::kMalformedPacket, "PUBLISH QoS is 3");
    return std::nullopt;
  }
  // §3.3.1.1: DUP MUST be 0 for QoS 0.
  if (p.qos == 0 && p.dup) {
    r.fail(ReasonCode::kMalformedPacket, "PUBLISH QoS 0 with DUP set");
    return std::nullopt;
  }
  std::string_view topic;
  if (!r.utf8(topic, "topic name")) return std::nullopt;
  if (p.qos > 0) {
    if (!r.u16(p.packet_id, "packet identifier")) return std::nullopt;
    if (p.packet_id == 0) {
      r.fail(ReasonCode::kProtocolError, "PUBLISH QoS > 0 with packet identifier 0");
      return std::nullopt;
    }
  }
  if (v == ProtocolVersion::kV5 && !read_properties(r, PacketType::kPublish, false, p.properties)) {
    return std::nullopt;
  }
  if (topic.empty()) {
    // 5.0 §3.3.2.3.4: a zero-length topic is allowed only with a topic alias.
    if (v != ProtocolVersion::kV5 || !p.properties.topic_alias) {
      r.fail(ReasonCode::kProtocolError, "PUBLISH topic name is empty");
      return std::nullopt;
    }
  } else {
    for (char c : topic) {
      if (c == '+' || c == '#') {
        r.fail(ReasonCode::kTopicNameInvalid, "PUBLISH topic name contains a wildcard");
        return std::nullopt;
      }
    }
  }
  p.topic.assign(topic);
  p.payload.assign(r.rest());
  return Packet(std::move(p));
}

size_t size_of(const Publish& p, ProtocolVersion v) {
  return packet_size(measure([&](auto& w) { write_body(w, p, v); }));
}

}  // namespace internal

void encode(const Publish& p, ProtocolVersion v, std::string& out) {
  assert(p.qos <= 2);
  assert((p.qos == 0) == (p.packet_id == 0));
  assert(v != ProtocolVersion::kV5 ||
         internal::properties_allowed(p.properties, PacketType::kPublish));
  internal::write_packet(internal::first_byte(PacketType::kPublish, internal::publish_flags(p)),
                         out, [&](auto& w) { internal::write_body(w, p, v); });
}

}  // namespace gw::mqtt
