// The AWS IoT Core cloud profile (`type: aws_iot_core`).
//
// Endpoint <prefix>-ats.iot.<region>.amazonaws.com: port 8883 with mutual TLS
// (device certificate + key, Amazon root CA), or port 443 with ALPN
// "x-amzn-mqtt-ca"; the host name is always sent as SNI and checked against
// the server certificate. MQTT 5 by default (3.1.1 selectable), QoS 1 only.
//
// AWS IoT Core's per-connection quotas are enforced before publishing:
// payload <= 128 KB, topic <= 256 bytes and <= 7 slashes (a Basic Ingest
// prefix "$aws/rules/<rule>/" does not count), <= 100 publishes/s and
// 512 KiB/s (engine token bucket; configurable downwards), <= 100
// unacknowledged publishes, at most one CONNECT per second. AWS bills in 5 KB
// units. Batch metadata travels as MQTT 5 properties: content type and the
// user properties content-encoding, gateway-id, batch-seq, count.
//
// PUBACK 0x97 (quota exceeded) and CONNACK 0x9F (connection rate exceeded)
// are throttling: the engine slows its bucket instead of tripping the breaker.
//
// The profile is owned by its uplink Engine and called on its thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "gateway/core/status.h"
#include "gateway/uplink/profile.h"
#include "gateway/uplink/registry.h"

namespace gw::plugins::aws_iot_core {

inline constexpr std::string_view kType = "aws_iot_core";
inline constexpr std::string_view kAlpnProtocol = "x-amzn-mqtt-ca";
inline constexpr size_t kMaxPayloadBytes = 128 * 1024;
inline constexpr size_t kMaxTopicBytes = 256;
inline constexpr size_t kMaxTopicSlashes = 7;
inline constexpr size_t kBillingUnitBytes = 5 * 1024;
inline constexpr size_t kMaxInflight = 100;
inline constexpr double kMaxPublishesPerSecond = 100;
inline constexpr double kMaxBytesPerSecond = 512 * 1024;

struct Settings {
  std::string host;  // <prefix>-ats.iot.<region>.amazonaws.com; also SNI and the name checked
  uint16_t port = 8883;
  std::string client_id;
  std::string ca_file;    // Amazon root CA (PEM); empty = system trust store
  std::string cert_file;  // device certificate (PEM), required
  std::string key_file;   // its private key (PEM), required
  bool alpn = false;      // ALPN x-amzn-mqtt-ca (port 443)
  int mqtt_version = 5;   // 4 (3.1.1) or 5
  std::chrono::seconds keepalive{30};
  double max_publishes_per_s = kMaxPublishesPerSecond;  // may only go down
  double max_bytes_per_s = kMaxBytesPerSecond;          // may only go down
};

// Validates and builds. Errors: kInvalidArgument naming the setting (empty
// host or client_id, missing certificate or key, port 443 without alpn,
// rates above AWS's quotas, unreadable files).
Result<std::unique_ptr<uplink::CloudProfile>> make_profile(const Settings& settings);

// Parses the registry's flat settings (keys as in Settings; alpn and tls
// true/false, mqtt_version "3.1.1"/"4"/"5", keepalive seconds). Errors:
// kInvalidArgument.
Result<Settings> parse_settings(const uplink::SettingsMap& map);

// Checks an AWS IoT topic name: not empty, no wildcards, <= 256 bytes and <= 7
// slashes after an optional Basic Ingest prefix "$aws/rules/<rule>/".
// Errors: kInvalidArgument saying which rule it breaks.
Status check_topic(std::string_view topic);

// Registers `type: aws_iot_core` (register_builtin_profiles, when
// GW_PLUGIN_AWS_IOT_CORE is on).
void register_profile(uplink::Registry& registry);

}  // namespace gw::plugins::aws_iot_core
