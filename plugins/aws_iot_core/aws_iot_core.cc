#include "plugins/aws_iot_core/aws_iot_core.h"
#include "gateway/uplink/settings.h"

#include <algorithm>
#include <charconv>
#include <fstream>

namespace gw::plugins::aws_iot_core {
namespace {

using uplink::check_readable;
using uplink::parse_bool;
using uplink::parse_uint;

class AwsProfile final : public uplink::CloudProfile {
 public:
  explicit AwsProfile(Settings s) : s_(std::move(s)) {}

  // uplink::CloudProfile:
  std::string_view type() const override { return kType; }

  std::string describe() const override {
    return "AWS IoT Core mqtts://" + s_.host + ":" + std::to_string(s_.port) + (s_.alpn ? " (ALPN x-amzn-mqtt-ca)" : "") +
           " as '" + s_.client_id + "', MQTT " + (s_.mqtt_version >= 5 ? "5" : "3.1.1") + ", device certificate, " +
           std::to_string(static_cast<int>(s_.max_publishes_per_s)) + " publishes/s";
  }

  Result<uplink::ConnectOptions> connect_options(const Clock&) override {
    uplink::ConnectOptions o;
    o.host = s_.host;
    o.port = s_.port;
    o.client_id = s_.client_id;
    o.mqtt_version = s_.mqtt_version;
    o.keepalive = s_.keepalive;
    o.tls.enabled = true;
    o.tls.ca_file = s_.ca_file;
    o.tls.cert_file = s_.cert_file;
    o.tls.key_file = s_.key_file;
    o.tls.verify_server = true;
    if (s_.alpn) o.tls.alpn = {std::string(kAlpnProtocol)};
    return o;
  }

  uplink::Limits limits() const override {
    uplink::Limits l;
    l.max_payload_bytes = kMaxPayloadBytes;
    l.max_topic_bytes = kMaxTopicBytes;
    l.billing_unit_bytes = kBillingUnitBytes;
    l.max_inflight = kMaxInflight;
    l.max_publishes_per_s = s_.max_publishes_per_s;
    l.max_bytes_per_s = s_.max_bytes_per_s;
    l.min_connect_interval = std::chrono::seconds(1);
    return l;
  }

  Result<uplink::Publish> shape(uplink::OutgoingBatch batch) const override {
    GW_RETURN_IF_ERROR(check_topic(batch.topic));
    if (batch.payload.size() > kMaxPayloadBytes) {
      return invalid_argument("payload of " + std::to_string(batch.payload.size()) +
                              " bytes exceeds AWS IoT Core's 128 KB");
    }
    uplink::Publish p;
    p.topic = std::move(batch.topic);
    p.payload = std::move(batch.payload);
    p.qos = 1;
    p.retain = false;
    if (s_.mqtt_version >= 5) {
      p.content_type = batch.metadata.content_type;
      p.user_properties = batch.metadata.as_properties();
    }
    return p;
  }

  uplink::Attempt refine(uplink::Attempt a) const override {
    // MQTT 5.0 §3.4.2.1 0x97 quota exceeded: AWS's answer to going over the
    // per-connection or account rate. Slow down; resending later succeeds.
    if (a.reason_code == 0x97 || a.reason_code == 0x9F) {
      a.throttled = true;
      a.outcome = uplink::Outcome::kRetry;
    }
    return a;
  }

 private:
  Settings s_;
};

}  // namespace

Status check_topic(std::string_view topic) {
  if (topic.empty()) return invalid_argument("AWS IoT topic is empty");
  if (topic.find_first_of("+#") != std::string_view::npos || topic.find('\0') != std::string_view::npos) {
    return invalid_argument("AWS IoT topic '" + std::string(topic) + "' contains a wildcard or NUL");
  }
  std::string_view rest = topic;
  constexpr std::string_view kIngest = "$aws/rules/";
  if (rest.starts_with(kIngest)) {
    // Basic Ingest: "$aws/rules/<rule>/<topic>"; the prefix counts for neither limit.
    const size_t end = rest.find('/', kIngest.size());
    if (end == std::string_view::npos || end == kIngest.size() || end + 1 == rest.size()) {
      return invalid_argument("Basic Ingest topic '" + std::string(topic) + "' needs $aws/rules/<rule>/<topic>");
    }
    rest.remove_prefix(end + 1);
  }
  if (rest.size() > kMaxTopicBytes) {
    return invalid_argument("AWS IoT topic '" + std::string(topic) + "' is " + std::to_string(rest.size()) +
                            " bytes; the limit is 256");
  }
  const auto slashes = static_cast<size_t>(std::count(rest.begin(), rest.end(), '/'));
  if (slashes > kMaxTopicSlashes) {
    return invalid_argument("AWS IoT topic '" + std::string(topic) + "' has " + std::to_string(slashes) +
                            " slashes; the limit is 7");
  }
  return Status::ok();
}

Result<std::unique_ptr<uplink::CloudProfile>> make_profile(const Settings& s) {
  if (s.host.empty()) return invalid_argument("aws_iot_core uplink: 'host' must not be empty");
  if (s.port == 0) return invalid_argument("aws_iot_core uplink: 'port' must be 1..65535");
  if (s.client_id.empty()) return invalid_argument("aws_iot_core uplink: 'client_id' must not be empty");
  if (s.client_id.size() > 128) return invalid_argument("aws_iot_core uplink: 'client_id' is over 128 bytes");
  if (s.mqtt_version != 4 && s.mqtt_version != 5) {
    return invalid_argument("aws_iot_core uplink: 'mqtt_version' must be 3.1.1 or 5");
  }
  if (s.cert_file.empty() || s.key_file.empty()) {
    return invalid_argument("aws_iot_core uplink: needs auth: {cert: ..., key: ...} (mutual TLS)");
  }
  if (s.port == 443 && !s.alpn) {
    return invalid_argument("aws_iot_core uplink: port 443 needs alpn: true (ALPN x-amzn-mqtt-ca)");
  }
  if (!(s.max_publishes_per_s > 0 && s.max_publishes_per_s <= kMaxPublishesPerSecond)) {
    return invalid_argument("aws_iot_core uplink: publish rate must be 1..100 per second");
  }
  if (!(s.max_bytes_per_s > 0 && s.max_bytes_per_s <= kMaxBytesPerSecond)) {
    return invalid_argument("aws_iot_core uplink: byte rate must be up to 512 KiB per second");
  }
  GW_RETURN_IF_ERROR(check_readable("aws_iot_core uplink: ca_file", s.ca_file));
  GW_RETURN_IF_ERROR(check_readable("aws_iot_core uplink: auth.cert", s.cert_file));
  GW_RETURN_IF_ERROR(check_readable("aws_iot_core uplink: auth.key", s.key_file));
  return std::unique_ptr<uplink::CloudProfile>(std::make_unique<AwsProfile>(s));
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
    } else if (key == "ca_file") {
      s.ca_file = value;
    } else if (key == "cert_file") {
      s.cert_file = value;
    } else if (key == "key_file") {
      s.key_file = value;
    } else if (key == "alpn") {
      auto b = parse_bool(key, value);
      if (!b) return b.status();
      s.alpn = *b;
    } else if (key == "tls") {
      auto b = parse_bool(key, value);
      if (!b) return b.status();
      if (!*b) return invalid_argument("aws_iot_core uplink: TLS cannot be turned off");
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
      auto n = parse_uint(key, v, 1200);  // AWS IoT Core allows 30..1200 s
      if (!n) return n.status();
      s.keepalive = std::chrono::seconds(*n);
    } else if (key == "max_publishes_per_s") {
      auto n = parse_uint(key, value, static_cast<uint64_t>(kMaxPublishesPerSecond));
      if (!n) return n.status();
      s.max_publishes_per_s = static_cast<double>(*n);
    } else if (key == "max_bytes_per_s") {
      auto n = parse_uint(key, value, static_cast<uint64_t>(kMaxBytesPerSecond));
      if (!n) return n.status();
      s.max_bytes_per_s = static_cast<double>(*n);
    } else {
      return invalid_argument("unknown key '" + key + "' for uplink type aws_iot_core");
    }
  }
  return s;
}

void register_profile(uplink::Registry& registry) {
  uplink::ProfileFactory f;
  f.type = std::string(kType);
  f.settings = {
      {"host", true, "<prefix>-ats.iot.<region>.amazonaws.com"},
      {"port", false, "8883, or 443 with alpn"},
      {"client_id", true, "MQTT client id (the thing name, usually)"},
      {"ca_file", false, "Amazon root CA (PEM)"},
      {"cert_file", true, "device certificate (PEM)"},
      {"key_file", true, "device private key (PEM)"},
      {"alpn", false, "true: ALPN x-amzn-mqtt-ca (port 443)"},
      {"tls", false, "always true"},
      {"mqtt_version", false, "3.1.1 or 5 (default 5)"},
      {"keepalive", false, "keep-alive seconds (default 30)"},
      {"max_publishes_per_s", false, "publish rate per connection, at most 100"},
      {"max_bytes_per_s", false, "bytes per second per connection, at most 524288"},
  };
  f.max_publishes_per_s = kMaxPublishesPerSecond;
  f.max_bytes_per_s = kMaxBytesPerSecond;
  f.create = uplink::parse_then_make(&parse_settings, &make_profile);
  registry.add(std::move(f));
}

}  // namespace gw::plugins::aws_iot_core
