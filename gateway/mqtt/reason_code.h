// MQTT reason codes (MQTT 5.0 §2.4) and the MQTT 3.1.1 CONNACK return codes
// (3.1.1 §3.2.2.3). Pure values; thread-safe.
//
// The codec carries ReasonCode in every packet struct for both protocol
// versions; the encoder maps it to the 3.1.1 byte where 3.1.1 has one
// (CONNACK return code, SUBACK 0x00/0x01/0x02/0x80) and the decoder maps back.
#pragma once

#include <cstdint>
#include <string_view>

namespace gw::mqtt {

enum class ReasonCode : uint8_t {
  kSuccess = 0x00,
  kNormalDisconnection = 0x00,  // DISCONNECT
  kGrantedQos0 = 0x00,          // SUBACK
  kGrantedQos1 = 0x01,
  kGrantedQos2 = 0x02,
  kDisconnectWithWillMessage = 0x04,
  kNoMatchingSubscribers = 0x10,
  kNoSubscriptionExisted = 0x11,
  kContinueAuthentication = 0x18,
  kReAuthenticate = 0x19,
  kUnspecifiedError = 0x80,
  kMalformedPacket = 0x81,
  kProtocolError = 0x82,
  kImplementationSpecificError = 0x83,
  kUnsupportedProtocolVersion = 0x84,
  kClientIdentifierNotValid = 0x85,
  kBadUserNameOrPassword = 0x86,
  kNotAuthorized = 0x87,
  kServerUnavailable = 0x88,
  kServerBusy = 0x89,
  kBanned = 0x8A,
  kServerShuttingDown = 0x8B,
  kBadAuthenticationMethod = 0x8C,
  kKeepAliveTimeout = 0x8D,
  kSessionTakenOver = 0x8E,
  kTopicFilterInvalid = 0x8F,
  kTopicNameInvalid = 0x90,
  kPacketIdentifierInUse = 0x91,
  kPacketIdentifierNotFound = 0x92,
  kReceiveMaximumExceeded = 0x93,
  kTopicAliasInvalid = 0x94,
  kPacketTooLarge = 0x95,
  kMessageRateTooHigh = 0x96,
  kQuotaExceeded = 0x97,
  kAdministrativeAction = 0x98,
  kPayloadFormatInvalid = 0x99,
  kRetainNotSupported = 0x9A,
  kQosNotSupported = 0x9B,
  kUseAnotherServer = 0x9C,
  kServerMoved = 0x9D,
  kSharedSubscriptionsNotSupported = 0x9E,
  kConnectionRateExceeded = 0x9F,
  kMaximumConnectTime = 0xA0,
  kSubscriptionIdentifiersNotSupported = 0xA1,
  kWildcardSubscriptionsNotSupported = 0xA2,
};

// True for values the MQTT 5.0 §2.4 table defines.
bool is_known(ReasonCode code);

// True for codes >= 0x80 (failure, §2.4).
inline bool is_error(ReasonCode code) { return static_cast<uint8_t>(code) >= 0x80; }

// The spec's name ("Success", "Malformed Packet", ...). For values shared by
// several names (0x00) it returns the generic one. "Unknown" for other bytes.
std::string_view to_string(ReasonCode code);

// MQTT 3.1.1 §3.2.2.3 CONNACK return codes.
enum class ConnectReturnCode : uint8_t {
  kAccepted = 0,
  kUnacceptableProtocolVersion = 1,
  kIdentifierRejected = 2,
  kServerUnavailable = 3,
  kBadUserNameOrPassword = 4,
  kNotAuthorized = 5,
};

// MQTT 5 reason → 3.1.1 return code, used by the CONNACK encoder for version 4:
// 0x00→0, 0x84→1, 0x85→2, 0x86→4, 0x87/0x8A→5, 0x88/0x89/everything else→3.
ConnectReturnCode to_connect_return_code(ReasonCode code);
// 3.1.1 return code → MQTT 5 reason (0→0x00, 1→0x84, 2→0x85, 3→0x88, 4→0x86, 5→0x87).
ReasonCode to_reason_code(ConnectReturnCode code);

}  // namespace gw::mqtt
