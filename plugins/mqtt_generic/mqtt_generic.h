// The generic MQTT cloud profile (`type: mqtt`): any MQTT 3.1.1 or 5 broker
// (mosquitto, EMQX, HiveMQ, ...), plain or TLS, with username/password and/or
// a client certificate. Batch metadata travels as MQTT 5 user properties
// (content-encoding, gateway-id, batch-seq, count) plus the content type;
// over 3.1.1 there is no out-of-band metadata (gateway/uplink/FORMAT.md).
//
// The profile is owned by its uplink Engine and called on its thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "gateway/core/status.h"
#include "gateway/uplink/profile.h"
#include "gateway/uplink/registry.h"

namespace gw::plugins::mqtt_generic {

inline constexpr std::string_view kType = "mqtt";

struct Settings {
  std::string host;         // broker host name or address; also the TLS name checked
  uint16_t port = 1883;
  std::string client_id;
  std::string username;     // empty = none
  std::string password;     // empty = none; never logged
  std::string ca_file;      // PEM; setting it (or cert_file) turns TLS on
  std::string cert_file;    // client certificate (PEM), with key_file
  std::string key_file;
  bool tls = false;         // TLS with the system trust store when no ca_file
  int mqtt_version = 5;     // 4 (3.1.1) or 5
  std::chrono::seconds keepalive{30};
  size_t max_payload_bytes = 0;  // 0 = MQTT's own maximum; set to the broker's message_size_limit
  double max_publishes_per_s = 0;  // token bucket per connection; 0 = unlimited
  double max_bytes_per_s = 0;      // 0 = unlimited
};

// Validates and builds the profile. Errors: kInvalidArgument naming the
// setting (empty host or client_id, bad mqtt_version, cert without key or
// the reverse, a certificate/key/CA file that cannot be read).
Result<std::unique_ptr<uplink::CloudProfile>> make_profile(const Settings& settings);

// Parses the flat settings of the registry (keys as in Settings; port,
// mqtt_version ("4", "5", "3.1.1", "5.0"), keepalive (seconds, "30" or
// "30s"), tls (true/false), max_payload_bytes, max_publishes_per_s,
// max_bytes_per_s). Errors: kInvalidArgument.
Result<Settings> parse_settings(const uplink::SettingsMap& map);

// Registers `type: mqtt` in `registry` (called by the app's
// register_builtin_profiles when GW_PLUGIN_MQTT_GENERIC is on).
void register_profile(uplink::Registry& registry);

}  // namespace gw::plugins::mqtt_generic
