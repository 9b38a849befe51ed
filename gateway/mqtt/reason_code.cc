#include "gateway/mqtt/reason_code.h"

namespace gw::mqtt {

std::string_view to_string(ReasonCode code) {
  switch (code) {
    case ReasonCode::kSuccess:
      return "Success";
    case ReasonCode::kGrantedQos1:
      return "Granted QoS 1";
    case ReasonCode::kGrantedQos2:
      return "Granted QoS 2";
    case ReasonCode::kDisconnectWithWillMessage:
      return "Disconnect with Will Message";
    case ReasonCode::kNoMatchingSubscribers:
      return "No matching subscribers";
    case ReasonCode::kNoSubscriptionExisted:
      return "No subscription existed";
    case ReasonCode::kContinueAuthentication:
      return "Continue authentication";
    case ReasonCode::kReAuthenticate:
      return "Re-authenticate";
    case ReasonCode::kUnspecifiedError:
      return "Unspecified error";
    case ReasonCode::kMalformedPacket:
      return "Malformed Packet";
    case ReasonCode::kProtocolError:
      return "Protocol Error";
    case ReasonCode::kImplementationSpecificError:
      return "Implementation specific error";
    case ReasonCode::kUnsupportedProtocolVersion:
      return "Unsupported Protocol Version";
    case ReasonCode::kClientIdentifierNotValid:
      return "Client Identifier not valid";
    case ReasonCode::kBadUserNameOrPassword:
      return "Bad User Name or Password";
    case ReasonCode::kNotAuthorized:
      return "Not authorized";
    case ReasonCode::kServerUnavailable:
      return "Server unavailable";
    case ReasonCode::kServerBusy:
      return "Server busy";
    case ReasonCode::kBanned:
      return "Banned";
    case ReasonCode::kServerShuttingDown:
      return "Server shutting down";
    case ReasonCode::kBadAuthenticationMethod:
      return "Bad authentication method";
    case ReasonCode::kKeepAliveTimeout:
      return "Keep Alive timeout";
    case ReasonCode::kSessionTakenOver:
      return "Session taken over";
    case ReasonCode::kTopicFilterInvalid:
      return "Topic Filter invalid";
    case ReasonCode::kTopicNameInvalid:
      return "Topic Name invalid";
    case ReasonCode::kPacketIdentifierInUse:
      return "Packet Identifier in use";
    case ReasonCode::kPacketIdentifierNotFound:
      return "Packet Identifier not found";
    case ReasonCode::kReceiveMaximumExceeded:
      return "Receive Maximum exceeded";
    case ReasonCode::kTopicAliasInvalid:
      return "Topic Alias invalid";
    case ReasonCode::kPacketTooLarge:
      return "Packet too large";
    case ReasonCode::kMessageRateTooHigh:
      return "Message rate too high";
    case ReasonCode::kQuotaExceeded:
      return "Quota exceeded";
    case ReasonCode::kAdministrativeAction:
      return "Administrative action";
    case ReasonCode::kPayloadFormatInvalid:
      return "Payload format invalid";
    case ReasonCode::kRetainNotSupported:
      return "Retain not supported";
    case ReasonCode::kQosNotSupported:
      return "QoS not supported";
    case ReasonCode::kUseAnotherServer:
      return "Use another server";
    case ReasonCode::kServerMoved:
      return "Server moved";
    case ReasonCode::kSharedSubscriptionsNotSupported:
      return "Shared Subscriptions not supported";
    case ReasonCode::kConnectionRateExceeded:
      return "Connection rate exceeded";
    case ReasonCode::kMaximumConnectTime:
      return "Maximum connect time";
    case ReasonCode::kSubscriptionIdentifiersNotSupported:
      return "Subscription Identifiers not supported";
    case ReasonCode::kWildcardSubscriptionsNotSupported:
      return "Wildcard Subscriptions not supported";
  }
  return "Unknown";
}

bool is_known(ReasonCode code) { return to_string(code) != "Unknown"; }

ConnectReturnCode to_connect_return_code(ReasonCode code) {
  switch (code) {
    case ReasonCode::kSuccess:
      return ConnectReturnCode::kAccepted;
    case ReasonCode::kUnsupportedProtocolVersion:
      return ConnectReturnCode::kUnacceptableProtocolVersion;
    case ReasonCode::kClientIdentifierNotValid:
      return ConnectReturnCode::kIdentifierRejected;
    case ReasonCode::kBadUserNameOrPassword:
      return ConnectReturnCode::kBadUserNameOrPassword;
    case ReasonCode::kNotAuthorized:
    case ReasonCode::kBanned:
      return ConnectReturnCode::kNotAuthorized;
    default:
      return ConnectReturnCode::kServerUnavailable;
  }
}

ReasonCode to_reason_code(ConnectReturnCode code) {
  switch (code) {
    case ConnectReturnCode::kAccepted:
      return ReasonCode::kSuccess;
    case ConnectReturnCode::kUnacceptableProtocolVersion:
      return ReasonCode::kUnsupportedProtocolVersion;
    case ConnectReturnCode::kIdentifierRejected:
      return ReasonCode::kClientIdentifierNotValid;
    case ConnectReturnCode::kServerUnavailable:
      return ReasonCode::kServerUnavailable;
    case ConnectReturnCode::kBadUserNameOrPassword:
      return ReasonCode::kBadUserNameOrPassword;
    case ConnectReturnCode::kNotAuthorized:
      return ReasonCode::kNotAuthorized;
  }
  return ReasonCode::kUnspecifiedError;
}

}  // namespace gw::mqtt
