// CONNECT (3.1.1 §3.1, 5.0 §3.1).
#include <cassert>
#include <string>

#include "gateway/mqtt/codec.h"
#include "gateway/mqtt/internal/packets.h"
#include "gateway/mqtt/internal/properties_wire.h"
#include "gateway/mqtt/topic.h"

namespace gw::mqtt {
namespace internal {
namespace {

// Connect Flags (§3.1.2.3).
constexpr uint8_t kReserved = 0x01;
constexpr uint8_t kCleanStart = 0x02;
constexpr uint8_t kWillFlag = 0x04;
constexpr uint8_t kWillQosShift = 3;
constexpr uint8_t kWillRetain = 0x20;
constexpr uint8_t kPasswordFlag = 0x40;
constexpr uint8_t kUsernameFlag = 0x80;

template <typename W>
void write_body(W& w, const Connect& p) {
  const bool v5 = p.version == ProtocolVersion::kV5;
  w.str("MQTT");
  w.u8(static_cast<uint8_t>(p.version));
  uint8_t flags = 0;
  if (p.clean_start) flags |= kCleanStart;
  if (p.will) {
    flags |= kWillFlag;
    flags |= static_cast<uint8_t>(p.will->qos << kWillQosShift);
    if (p.will->retain) flags |= kWillRetain;
  }
  if (p.password) flags |= kPasswordFlag;
  if (p.username) flags |= kUsernameFlag;
  w.u8(flags);
  w.u16(p.keep_alive_s);
  if (v5) write_properties(w, p.properties);
  w.str(p.client_id);
  if (p.will) {
    if (v5) write_properties(w, p.will->properties);
    w.str(p.will->topic);
    w.str(p.will->payload);
  }
  if (p.username) w.str(*p.username);
  if (p.password) w.str(*p.password);
}

}  // namespace

std::optional<Packet> decode_connect(uint8_t /*flags*/, Reader& r) {
  Connect p;
  std::string_view name;
  // The name is checked as bytes: anything but "MQTT" is not a protocol we speak.
  if (!r.binary(name, "protocol name")) return std::nullopt;
  uint8_t level = 0;
  if (!r.u8(level, "protocol level")) return std::nullopt;
  if (name != "MQTT" || (level != 4 && level != 5)) {
    r.fail(ReasonCode::kUnsupportedProtocolVersion, "unsupported protocol '" +
                                                        std::string(name.substr(0, 16)) +
                                                        "' level " + std::to_string(level));
    return std::nullopt;
  }
  p.version = static_cast<ProtocolVersion>(level);
  const bool v5 = p.version == ProtocolVersion::kV5;
  uint8_t flags = 0;
  if (!r.u8(flags, "connect flags") || !r.u16(p.keep_alive_s, "keep alive")) return std::nullopt;
  // §3.1.2.3: the reserved flag MUST be 0 (Malformed Packet).
  if (flags & kReserved) {
    r.fail(ReasonCode::kMalformedPacket, "reserved connect flag is set");
    return std::nullopt;
  }
  p.clean_start = (flags & kCleanStart) != 0;
  const bool will = (flags & kWillFlag) != 0;
  const uint8_t will_qos = (flags >> kWillQosShift) & 0x03;
  const bool will_retain = (flags & kWillRetain) != 0;
  if (!will && (will_qos != 0 || will_retain)) {
    r.fail(ReasonCode::kMalformedPacket, "will QoS or will retain set without will flag");
    return std::nullopt;
  }
  if (will_qos == 3) {
    r.fail(ReasonCode::kMalformedPacket, "will QoS is 3");
    return std::nullopt;
  }
  const bool has_username = (flags & kUsernameFlag) != 0;
  const bool has_password = (flags & kPasswordFlag) != 0;
  // 3.1.1 §3.1.2.9: no password without a user name; MQTT 5 allows it.
  if (!v5 && has_password && !has_username) {
    r.fail(ReasonCode::kMalformedPacket, "password flag set without user name flag");
    return std::nullopt;
  }
  if (v5) {
    if (!read_properties(r, PacketType::kConnect, false, p.properties)) return std::nullopt;
    // §3.1.2.11.10: authentication data without a method is a Protocol Error.
    if (p.properties.authentication_data && !p.properties.authentication_method) {
      r.fail(ReasonCode::kProtocolError, "authentication data without authentication method");
      return std::nullopt;
    }
  }
  if (!r.utf8(p.client_id, "client identifier")) return std::nullopt;
  if (will) {
    Will& w = p.will.emplace();
    w.qos = will_qos;
    w.retain = will_retain;
    if (v5 && !read_properties(r, PacketType::kConnect, true, w.properties)) return std::nullopt;
    if (!r.utf8(w.topic, "will topic") || !r.binary(w.payload, "will payload")) {
      return std::nullopt;
    }
    if (!check_topic_name(w.topic).empty()) {
      r.fail(ReasonCode::kTopicNameInvalid,
             "will topic: " + std::string(check_topic_name(w.topic)));
      return std::nullopt;
    }
  }
  if (has_username && !r.utf8(p.username.emplace(), "user name")) return std::nullopt;
  if (has_password && !r.binary(p.password.emplace(), "password")) return std::nullopt;
  return Packet(std::move(p));
}

size_t size_of(const Connect& p, ProtocolVersion) {
  return packet_size(measure([&](auto& w) { write_body(w, p); }));
}

}  // namespace internal

void encode(const Connect& p, std::string& out) {
  assert(internal::properties_allowed(p.properties, PacketType::kConnect));
  assert(!p.will || p.will->qos <= 2);
  internal::write_packet(internal::first_byte(PacketType::kConnect, 0), out,
                         [&](auto& w) { internal::write_body(w, p); });
}

}  // namespace gw::mqtt
