// The MQTT wire codec: framing, decode and encode for MQTT 3.1.1 and 5.0.
// Pure functions over bytes; no I/O, no threads, no global state; thread-safe.
//
// Typical use by a connection (bytes arrive in `buf`):
//
//   for (;;) {
//     FrameResult f = scan_frame(buf, max_packet_size);
//     if (f.state == FrameState::kNeedMore) break;               // read more
//     if (f.state == FrameState::kError) { /* DISCONNECT f.reason_code */ }
//     DecodeResult r = decode(std::string_view(buf).substr(0, f.size), version);
//     if (!r) { /* r.error().reason_code: 0x81 malformed, 0x82 protocol, ... */ }
//     ... handle r.packet() ...; buf.erase(0, f.size);
//   }
//
// Reason codes the decoder reports (MQTT 5.0 §4.13): kMalformedPacket (0x81)
// for bytes that cannot be parsed as the packet (bad lengths, bad UTF-8,
// reserved bits, QoS 3, ...); kProtocolError (0x82) for well-formed bytes that
// break a rule (duplicate or misplaced property, packet id 0, empty
// SUBSCRIBE, ...); kUnsupportedProtocolVersion (0x84) for a CONNECT whose
// protocol name/level is not MQTT 3.1.1 or 5.0; kTopicNameInvalid (0x90) for a
// PUBLISH topic with wildcards; kPacketTooLarge (0x95) from scan_frame.
// For kUnsupportedProtocolVersion the version is unknown by definition; the
// broker answers with a 3.1.1 CONNACK return code 1 (20 02 00 01), which both
// 3.1.1 and 5.0 clients understand, then closes (3.1.1 §3.1.2.2).
//
// Not checked here (the broker's job, it owns the state): topic filter syntax
// in SUBSCRIBE/UNSUBSCRIBE (so v5 can answer 0x8F per filter), topic alias
// ranges, Receive Maximum, no-local on shared subscriptions, an empty client
// id with clean session 0 in 3.1.1, and UTF-8 validity of a payload whose
// payload format indicator is 1 (optional per §3.3.2.3.2, costly on the hot path).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "gateway/core/status.h"
#include "gateway/mqtt/packet.h"
#include "gateway/mqtt/reason_code.h"

namespace gw::mqtt {

// ---- Framing (§2.1, §1.5.5) -------------------------------------------------

enum class FrameState : uint8_t {
  kNeedMore,  // the buffer holds only the start of a packet
  kComplete,  // the first `size` bytes are one whole packet
  kError,     // the stream is broken: close (v5: DISCONNECT with reason_code)
};

struct FrameResult {
  FrameState state = FrameState::kNeedMore;
  size_t size = 0;         // kComplete: total packet length (fixed header included)
  size_t header_size = 0;  // kComplete: fixed header length (2..5)
  ReasonCode reason_code = ReasonCode::kSuccess;  // kError: 0x81 or 0x95
  std::string_view message;                       // kError: static text
};

// Looks at the start of `buffer` (bytes received so far) and says whether one
// whole packet is there. Errors: a remaining length longer than 4 bytes →
// kMalformedPacket; a total size (fixed header included, §3.1.2.11.4) above
// `max_packet_size` → kPacketTooLarge, reported as soon as the length is known.
// Never reads past buffer.size(). O(1).
FrameResult scan_frame(std::string_view buffer, size_t max_packet_size);

// The largest remaining length the variable byte integer can carry (§1.5.5).
inline constexpr uint32_t kMaxRemainingLength = 268'435'455;

// ---- Decoding ---------------------------------------------------------------

struct DecodeError {
  ReasonCode reason_code = ReasonCode::kMalformedPacket;
  std::string message;  // what was wrong, for logs and v5 reason strings
};

// Either a Packet or a DecodeError.
class [[nodiscard]] DecodeResult {
 public:
  DecodeResult(Packet p) : v_(std::move(p)) {}       // NOLINT: implicit by design
  DecodeResult(DecodeError e) : v_(std::move(e)) {}  // NOLINT

  bool is_ok() const { return v_.index() == 0; }
  explicit operator bool() const { return is_ok(); }
  Packet& packet() & { return std::get<Packet>(v_); }
  const Packet& packet() const& { return std::get<Packet>(v_); }
  Packet&& packet() && { return std::get<Packet>(std::move(v_)); }
  const DecodeError& error() const { return std::get<DecodeError>(v_); }
  // kInvalidArgument "MQTT <reason name> (0x81): <message>"; OK when is_ok().
  Status to_status() const;

 private:
  std::variant<Packet, DecodeError> v_;
};

// Decodes exactly one packet: `frame` is the whole packet as delimited by
// scan_frame() (fixed header included; trailing bytes are an error).
// `version` is the version agreed in CONNECT; it is ignored for CONNECT, which
// states its own (read Connect::version). Strings are copied out of `frame`.
DecodeResult decode(std::string_view frame, ProtocolVersion version);

// ---- Encoding ---------------------------------------------------------------

// Appends the wire form of `packet` for `version` to `out` (never clears it).
// Preconditions (assert in debug builds): the packet is valid for the version
// (QoS <= 2, packet id non-zero where required, AUTH only in v5, properties
// allowed in that packet) and its size fits kMaxRemainingLength.
void encode(const Packet& packet, ProtocolVersion version, std::string& out);

// Overloads that avoid building a Packet; same bytes as encode(Packet(...)).
void encode(const Connect& p, std::string& out);  // version from p.version
void encode(const Connack& p, ProtocolVersion version, std::string& out);
void encode(const Publish& p, ProtocolVersion version, std::string& out);
void encode(const Puback& p, ProtocolVersion version, std::string& out);
void encode(const Pubrec& p, ProtocolVersion version, std::string& out);
void encode(const Pubrel& p, ProtocolVersion version, std::string& out);
void encode(const Pubcomp& p, ProtocolVersion version, std::string& out);
void encode(const Subscribe& p, ProtocolVersion version, std::string& out);
void encode(const Suback& p, ProtocolVersion version, std::string& out);
void encode(const Unsubscribe& p, ProtocolVersion version, std::string& out);
void encode(const Unsuback& p, ProtocolVersion version, std::string& out);
void encode(const Pingreq& p, ProtocolVersion version, std::string& out);
void encode(const Pingresp& p, ProtocolVersion version, std::string& out);
void encode(const Disconnect& p, ProtocolVersion version, std::string& out);
void encode(const Auth& p, ProtocolVersion version, std::string& out);

// The number of bytes encode() would append, without allocating. Use it to
// honour the peer's Maximum Packet Size (§3.1.2.11.4) before encoding.
size_t encoded_size(const Packet& packet, ProtocolVersion version);
size_t encoded_size(const Publish& p, ProtocolVersion version);

}  // namespace gw::mqtt
