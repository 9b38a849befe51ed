// Framing (§2.1, §1.5.5), decode dispatch and encode dispatch.
#include "gateway/mqtt/codec.h"

#include <string>

#include "gateway/mqtt/internal/packets.h"
#include "gateway/mqtt/internal/wire.h"

namespace gw::mqtt {

FrameResult scan_frame(std::string_view buffer, size_t max_packet_size) {
  FrameResult f;
  if (buffer.size() < 2) return f;
  uint32_t remaining = 0;
  size_t i = 1;
  for (;; ++i) {
    if (i == 5) {
      f.state = FrameState::kError;
      f.reason_code = ReasonCode::kMalformedPacket;
      f.message = "remaining length is longer than 4 bytes";
      return f;
    }
    if (i >= buffer.size()) return f;  // need more bytes of the length
    const auto b = static_cast<uint8_t>(buffer[i]);
    remaining |= uint32_t{b & 0x7Fu} << (7 * (i - 1));
    if ((b & 0x80u) == 0) break;
  }
  const size_t header = i + 1;
  const size_t total = header + remaining;
  if (total > max_packet_size) {
    f.state = FrameState::kError;
    f.reason_code = ReasonCode::kPacketTooLarge;
    f.message = "packet is larger than the maximum packet size";
    return f;
  }
  if (buffer.size() < total) return f;
  f.state = FrameState::kComplete;
  f.size = total;
  f.header_size = header;
  return f;
}

Status DecodeResult::to_status() const {
  if (is_ok()) return Status::ok();
  static constexpr char kHex[] = "0123456789ABCDEF";
  const auto b = static_cast<uint8_t>(error().reason_code);
  return invalid_argument("MQTT " + std::string(to_string(error().reason_code)) + " (0x" +
                          kHex[b >> 4] + kHex[b & 0xF] + "): " + error().message);
}

DecodeResult decode(std::string_view frame, ProtocolVersion version) {
  using internal::Reader;
  const FrameResult f = scan_frame(frame, frame.size());
  if (f.state != FrameState::kComplete) {
    return DecodeError{ReasonCode::kMalformedPacket,
                       f.state == FrameState::kError
                           ? std::string(f.message)
                           : "packet is shorter than its remaining length"};
  }
  if (f.size != frame.size()) {
    return DecodeError{ReasonCode::kMalformedPacket, "bytes after the end of the packet"};
  }
  const auto first = static_cast<uint8_t>(frame[0]);
  const uint8_t type_num = first >> 4;
  const uint8_t flags = first & 0x0F;
  if (type_num == 0) return DecodeError{ReasonCode::kMalformedPacket, "packet type 0 is reserved"};
  const auto type = static_cast<PacketType>(type_num);
  // §2.1.3: fixed-header flags other than PUBLISH's are fixed values.
  if (type != PacketType::kPublish && flags != internal::required_flags(type)) {
    return DecodeError{
        ReasonCode::kMalformedPacket,
        "reserved fixed header flags of " + std::string(to_string(type)) + " are wrong"};
  }
  Reader r(frame.substr(f.header_size));
  std::optional<Packet> p;
  switch (type) {
    case PacketType::kConnect:
      p = internal::decode_connect(flags, r);
      break;
    case PacketType::kConnack:
      p = internal::decode_connack(flags, r, version);
      break;
    case PacketType::kPublish:
      p = internal::decode_publish(flags, r, version);
      break;
    case PacketType::kPuback:
    case PacketType::kPubrec:
    case PacketType::kPubrel:
    case PacketType::kPubcomp:
      p = internal::decode_pub_response(type, flags, r, version);
      break;
    case PacketType::kSubscribe:
      p = internal::decode_subscribe(flags, r, version);
      break;
    case PacketType::kSuback:
      p = internal::decode_suback(flags, r, version);
      break;
    case PacketType::kUnsubscribe:
      p = internal::decode_unsubscribe(flags, r, version);
      break;
    case PacketType::kUnsuback:
      p = internal::decode_unsuback(flags, r, version);
      break;
    case PacketType::kPingreq:
    case PacketType::kPingresp:
    case PacketType::kDisconnect:
    case PacketType::kAuth:
      p = internal::decode_control(type, flags, r, version);
      break;
  }
  if (r.failed()) return r.take_error();
  if (!r.at_end()) {
    return DecodeError{ReasonCode::kMalformedPacket,
                       std::string(to_string(type)) + " has bytes after its last field"};
  }
  return std::move(*p);
}

void encode(const Packet& packet, ProtocolVersion version, std::string& out) {
  std::visit(
      [&](const auto& p) {
        if constexpr (std::is_same_v<std::decay_t<decltype(p)>, Connect>) {
          encode(p, out);
        } else {
          encode(p, version, out);
        }
      },
      packet);
}

size_t encoded_size(const Packet& packet, ProtocolVersion version) {
  return std::visit([&](const auto& p) { return internal::size_of(p, version); }, packet);
}

size_t encoded_size(const Publish& p, ProtocolVersion version) {
  return internal::size_of(p, version);
}

namespace internal {

bool reason_allowed(PacketType type, ReasonCode code) {
  using R = ReasonCode;
  switch (type) {
    case PacketType::kConnack:  // 5.0 §3.2.2.2
      switch (code) {
        case R::kSuccess:
        case R::kUnspecifiedError:
        case R::kMalformedPacket:
        case R::kProtocolError:
        case R::kImplementationSpecificError:
        case R::kUnsupportedProtocolVersion:
        case R::kClientIdentifierNotValid:
        case R::kBadUserNameOrPassword:
        case R::kNotAuthorized:
        case R::kServerUnavailable:
        case R::kServerBusy:
        case R::kBanned:
        case R::kBadAuthenticationMethod:
        case R::kTopicNameInvalid:
        case R::kPacketTooLarge:
        case R::kQuotaExceeded:
        case R::kPayloadFormatInvalid:
        case R::kRetainNotSupported:
        case R::kQosNotSupported:
        case R::kUseAnotherServer:
        case R::kServerMoved:
        case R::kConnectionRateExceeded:
          return true;
        default:
          return false;
      }
    case PacketType::kPuback:  // §3.4.2.1
    case PacketType::kPubrec:  // §3.5.2.1
      switch (code) {
        case R::kSuccess:
        case R::kNoMatchingSubscribers:
        case R::kUnspecifiedError:
        case R::kImplementationSpecificError:
        case R::kNotAuthorized:
        case R::kTopicNameInvalid:
        case R::kPacketIdentifierInUse:
        case R::kQuotaExceeded:
        case R::kPayloadFormatInvalid:
          return true;
        default:
          return false;
      }
    case PacketType::kPubrel:   // §3.6.2.1
    case PacketType::kPubcomp:  // §3.7.2.1
      return code == R::kSuccess || code == R::kPacketIdentifierNotFound;
    case PacketType::kSuback:  // §3.9.3
      switch (code) {
        case R::kGrantedQos0:
        case R::kGrantedQos1:
        case R::kGrantedQos2:
        case R::kUnspecifiedError:
        case R::kImplementationSpecificError:
        case R::kNotAuthorized:
        case R::kTopicFilterInvalid:
        case R::kPacketIdentifierInUse:
        case R::kQuotaExceeded:
        case R::kSharedSubscriptionsNotSupported:
        case R::kSubscriptionIdentifiersNotSupported:
        case R::kWildcardSubscriptionsNotSupported:
          return true;
        default:
          return false;
      }
    case PacketType::kUnsuback:  // §3.11.3
      switch (code) {
        case R::kSuccess:
        case R::kNoSubscriptionExisted:
        case R::kUnspecifiedError:
        case R::kImplementationSpecificError:
        case R::kNotAuthorized:
        case R::kTopicFilterInvalid:
        case R::kPacketIdentifierInUse:
          return true;
        default:
          return false;
      }
    case PacketType::kDisconnect:  // §3.14.2.1
      switch (code) {
        case R::kNormalDisconnection:
        case R::kDisconnectWithWillMessage:
        case R::kUnspecifiedError:
        case R::kMalformedPacket:
        case R::kProtocolError:
        case R::kImplementationSpecificError:
        case R::kNotAuthorized:
        case R::kServerBusy:
        case R::kServerShuttingDown:
        case R::kKeepAliveTimeout:
        case R::kSessionTakenOver:
        case R::kTopicFilterInvalid:
        case R::kTopicNameInvalid:
        case R::kReceiveMaximumExceeded:
        case R::kTopicAliasInvalid:
        case R::kPacketTooLarge:
        case R::kMessageRateTooHigh:
        case R::kQuotaExceeded:
        case R::kAdministrativeAction:
        case R::kPayloadFormatInvalid:
        case R::kRetainNotSupported:
        case R::kQosNotSupported:
        case R::kUseAnotherServer:
        case R::kServerMoved:
        case R::kSharedSubscriptionsNotSupported:
        case R::kConnectionRateExceeded:
        case R::kMaximumConnectTime:
        case R::kSubscriptionIdentifiersNotSupported:
        case R::kWildcardSubscriptionsNotSupported:
          return true;
        default:
          return false;
      }
    case PacketType::kAuth:  // §3.15.2.1
      return code == R::kSuccess || code == R::kContinueAuthentication ||
             code == R::kReAuthenticate;
    default:
      return false;
  }
}

}  // namespace internal
}  // namespace gw::mqtt
