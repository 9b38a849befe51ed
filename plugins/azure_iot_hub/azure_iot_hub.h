// The Azure IoT Hub cloud profile (`type: azure_iot_hub`).
//
// MQTT 3.1.1 over TLS (8883), client id = device id, user name
// "{host}/{device_id}/?api-version=2021-04-12". Authentication either with
// the device's symmetric key — the profile mints a SAS token for every
// connection (sas_token.h) and reports its expiry, so the engine reconnects
// with a fresh one at 80% of its lifetime — or with an X.509 device
// certificate (no password).
//
// Telemetry goes to devices/{device_id}/messages/events/{property_bag}; the
// bag carries the system properties $.ct (content type), $.ce (content
// encoding) and $.mid (message id = "{gateway_id}-{batch_seq}") and the
// application properties gateway-id, batch-seq, count and topic (the batch's
// topic from the uplink's template), all URL-encoded. QoS 1, never retain.
// A message is at most 256 KB including the bag; IoT Hub bills in 4 KB units.
// Throttling: IoT Hub closes the connection instead of answering a publish
// it throttles; a close while a publish awaits its PUBACK is reported to the
// engine as throttling (read_connection_loss), which halves the rate and
// resends instead of tripping the breaker.
//
// Downlink: IoT Hub allows a device one C2D subscription,
// devices/{device_id}/messages/devicebound/#; a received message's property
// bag becomes user properties and its topic devices/{device_id}/messages/devicebound.
//
// The profile is owned by its uplink Engine and called on its thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gateway/core/status.h"
#include "gateway/core/message.h"
#include "gateway/uplink/profile.h"
#include "gateway/uplink/registry.h"

namespace gw::plugins::azure_iot_hub {

inline constexpr std::string_view kType = "azure_iot_hub";
inline constexpr std::string_view kApiVersion = "2021-04-12";
// IoT Hub: a device-to-cloud message is at most 256 KB, properties included.
inline constexpr size_t kMaxMessageBytes = 256 * 1024;
// Room kept for the property bag in the topic.
inline constexpr size_t kPropertyBagReserve = 1024;
inline constexpr size_t kBillingUnitBytes = 4 * 1024;
// Device-to-cloud sends per second. IoT Hub throttles per hub: at least 100/s
// on Free and S1 (12/s per unit above 8 units), 120/s per S2 unit, 6000/s per
// S3 unit; past that it queues for a while, then closes the connection. The
// default keeps one gateway within the smallest hub; `limits:` may go down to
// 1, or up to one S3 unit's throttle. No byte-rate quota: 0 = unlimited.
inline constexpr double kDefaultPublishesPerSecond = 100;
inline constexpr double kMaxPublishesPerSecond = 6000;

struct Settings {
  std::string host;       // <hub>.azure-devices.net; also the TLS name checked
  uint16_t port = 8883;
  std::string device_id;  // also the MQTT client id
  std::string sas_key;    // base64 device key; never logged. Empty: X.509 (cert_file/key_file)
  std::chrono::milliseconds token_ttl{std::chrono::hours(1)};
  std::string ca_file;    // PEM trust store; empty = system default
  std::string cert_file;  // X.509 device certificate (PEM), with key_file
  std::string key_file;
  std::chrono::seconds keepalive{30};
  double max_publishes_per_s = kDefaultPublishesPerSecond;  // 1..kMaxPublishesPerSecond
  double max_bytes_per_s = 0;                               // 0 = unlimited
};

// Validates and builds. Errors: kInvalidArgument naming the setting (empty
// host/device_id, neither or both of sas_key and a certificate, a sas_key
// that is not base64, a token_ttl under 2 s, a publish rate outside
// 1..kMaxPublishesPerSecond, unreadable files).
Result<std::unique_ptr<uplink::CloudProfile>> make_profile(const Settings& settings);

// Parses the registry's flat settings: host, port, device_id, client_id (must
// equal device_id when given), sas_key, token_ttl ("3600", "3600s", "90000ms",
// "1h"), ca_file, cert_file, key_file, keepalive, tls (must be true),
// mqtt_version (must be 3.1.1/4), max_publishes_per_s, max_bytes_per_s. Errors: kInvalidArgument.
Result<Settings> parse_settings(const uplink::SettingsMap& map);

// "{host}/{device_id}/?api-version=2021-04-12".
std::string username(std::string_view host, std::string_view device_id);
// The URL-encoded property bag, "k=v&k2=v2" (no leading separator).
std::string property_bag(const std::vector<UserProperty>& properties);
// Parses a property bag back (URL-decoding names and values). Errors:
// kInvalidArgument on a malformed escape.
Result<std::vector<UserProperty>> parse_property_bag(std::string_view bag);

// Registers `type: azure_iot_hub` (register_builtin_profiles, when
// GW_PLUGIN_AZURE_IOT_HUB is on).
void register_profile(uplink::Registry& registry);

}  // namespace gw::plugins::azure_iot_hub
