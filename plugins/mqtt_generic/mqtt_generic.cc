#include "plugins/mqtt_generic/mqtt_generic.h"
#include "gateway/uplink/settings.h"

#include <charconv>
#include <fstream>

namespace gw::plugins::mqtt_generic {
namespace {

using uplink::check_readable;
using uplink::parse_bool;
using uplink::parse_uint;

class MqttProfile final : public uplink::CloudProfile {
 public:
  explicit MqttProfile(Settings s) : s_(std::move(s)) {}

  // uplink::CloudProfile:
  std::string_view type() const override { return kType; }

  std::string describe() const override {
    std::string d = std::string(uses_tls() ? "mqtts://" : "mqtt://") + s_.host + ":" + std::to_string(s_.port) +
                    " as '" + s_.client_id + "', MQTT " + (s_.mqtt_version >= 5 ? "5" : "3.1.1");
    if (!s_.username.empty()) d += ", user '" + s_.username + "'";
    if (!s_.cert_file.empty()) d += ", client certificate";
    return d;
  }

  Result<uplink::ConnectOptions> connect_options(const Clock&) override {
    uplink::ConnectOptions o;
    o.host = s_.host;
    o.port = s_.port;
    o.client_id = s_.client_id;
    if (!s_.username.empty()) o.username = s_.username;
    if (!s_.password.empty()) o.password = s_.password;
    o.mqtt_version = s_.mqtt_version;
    o.keepalive = s_.keepalive;
    o.tls.enabled = uses_tls();
    o.tls.ca_file = s_.ca_file;
    o.tls.cert_file = s_.cert_file;
    o.tls.key_file = s_.key_file;
    return o;
  }

  uplink::Limits limits() const override {
    uplink::Limits l;
    if (s_.max_payload_bytes != 0) l.max_payload_bytes = s_.max_payload_bytes;
    l.max_inflight = 20;
    l.max_publishes_per_s = s_.max_publishes_per_s;
    l.max_bytes_per_s = s_.max_bytes_per_s;
    return l;
  }

  Result<uplink::Publish> shape(uplink::OutgoingBatch batch) const override {
    if (batch.topic.empty() || batch.topic.size() > 65535 || batch.topic.find_first_of("+#") != std::string::npos ||
        batch.topic.find('\0') != std::string::npos) {
      return invalid_argument("'" + batch.topic + "' is not a valid MQTT topic name");
    }
    uplink::Publish p;
    p.topic = std::move(batch.topic);
    p.payload = std::move(batch.payload);
    p.qos = 1;
    if (s_.mqtt_version >= 5) {
      // MQTT 5.0 §3.3.2.3.9 content type, §3.3.2.3.7 user properties.
      p.content_type = batch.metadata.content_type;
      p.user_properties = batch.metadata.as_properties();
    }
    return p;
  }

 private:
  bool uses_tls() const { return s_.tls || !s_.ca_file.empty() || !s_.cert_file.empty(); }

  Settings s_;
};

}  // namespace

Result<std::unique_ptr<uplink::CloudProfile>> make_profile(const Settings& s) {
  if (s.host.empty()) return invalid_argument("mqtt uplink: 'host' must not be empty");
  if (s.port == 0) return invalid_argument("mqtt uplink: 'port' must be 1..65535");
  if (s.client_id.empty()) return invalid_argument("mqtt uplink: 'client_id' must not be empty");
  if (s.mqtt_version != 4 && s.mqtt_version != 5) {
    return invalid_argument("mqtt uplink: 'mqtt_version' must be 4 (3.1.1) or 5, got " +
                            std::to_string(s.mqtt_version));
  }
  if (s.cert_file.empty() != s.key_file.empty()) {
    return invalid_argument("mqtt uplink: 'cert_file' and 'key_file' go together");
  }
  if (s.password.size() > 0 && s.username.empty() && s.mqtt_version < 5) {
    return invalid_argument("mqtt uplink: MQTT 3.1.1 needs a 'username' with a 'password'");
  }
  GW_RETURN_IF_ERROR(check_readable("mqtt uplink: ca_file", s.ca_file));
  GW_RETURN_IF_ERROR(check_readable("mqtt uplink: cert_file", s.cert_file));
  GW_RETURN_IF_ERROR(check_readable("mqtt uplink: key_file", s.key_file));
  return std::unique_ptr<uplink::CloudProfile>(std::make_unique<MqttProfile>(s));
}

Result<Settings> parse_settings(const uplink::SettingsMap& map) {
  Settings s;
  for (const auto& [key, value] : map) {
    if (key == "host") {
      s.host = value;
    } else if (key == "port") {
      auto v = parse_uint(key, value, 65535);
      if (!v) return v.status();
      s.port = static_cast<uint16_t>(*v);
    } else if (key == "client_id") {
      s.client_id = value;
    } else if (key == "username") {
      s.username = value;
    } else if (key == "password") {
      s.password = value;
    } else if (key == "ca_file") {
      s.ca_file = value;
    } else if (key == "cert_file") {
      s.cert_file = value;
    } else if (key == "key_file") {
      s.key_file = value;
    } else if (key == "tls") {
      auto b = parse_bool(key, value);
      if (!b.is_ok()) return b.status();
      s.tls = *b;
    } else if (key == "mqtt_version") {
      if (value == "5" || value == "5.0") {
        s.mqtt_version = 5;
      } else if (value == "4" || value == "3.1.1") {
        s.mqtt_version = 4;
      } else {
        return invalid_argument("'mqtt_version' must be 3.1.1 (4) or 5, got '" + value + "'");
      }
    } else if (key == "keepalive") {
      std::string_view v = value;
      if (!v.empty() && v.back() == 's') v.remove_suffix(1);
      auto n = parse_uint(key, v, 65535);
      if (!n) return n.status();
      s.keepalive = std::chrono::seconds(*n);
    } else if (key == "max_payload_bytes") {
      auto n = parse_uint(key, value, 268'435'455);
      if (!n) return n.status();
      s.max_payload_bytes = static_cast<size_t>(*n);
    } else if (key == "max_publishes_per_s" || key == "max_bytes_per_s") {
      auto n = parse_uint(key, value, 1ULL << 40);
      if (!n) return n.status();
      (key == "max_publishes_per_s" ? s.max_publishes_per_s : s.max_bytes_per_s) = static_cast<double>(*n);
    } else {
      return invalid_argument("unknown key '" + key + "' for uplink type mqtt");
    }
  }
  return s;
}

void register_profile(uplink::Registry& registry) {
  uplink::ProfileFactory f;
  f.type = std::string(kType);
  f.settings = {
      {"host", true, "broker host name or address"},
      {"port", false, "broker port (1883, or 8883 with TLS)"},
      {"client_id", true, "MQTT client id"},
      {"username", false, "MQTT user name"},
      {"password", false, "MQTT password"},
      {"ca_file", false, "PEM CA bundle; enables TLS"},
      {"cert_file", false, "client certificate (PEM); needs key_file"},
      {"key_file", false, "client private key (PEM)"},
      {"tls", false, "true to use TLS with the system CAs"},
      {"mqtt_version", false, "3.1.1 or 5 (default 5)"},
      {"keepalive", false, "keep-alive seconds (default 30)"},
      {"max_payload_bytes", false, "largest publish the broker accepts"},
      {"max_publishes_per_s", false, "publishes per second (default unlimited)"},
      {"max_bytes_per_s", false, "bytes per second (default unlimited)"},
  };
  f.create = uplink::parse_then_make(&parse_settings, &make_profile);
  registry.add(std::move(f));
}

}  // namespace gw::plugins::mqtt_generic
