#include "plugins/azure_iot_hub/azure_iot_hub.h"
#include "gateway/uplink/settings.h"

#include <charconv>
#include <fstream>

#include "plugins/azure_iot_hub/sas_token.h"

namespace gw::plugins::azure_iot_hub {
namespace {

using std::chrono::milliseconds;
using uplink::check_readable;
using uplink::parse_duration;
using uplink::parse_uint;

class AzureProfile final : public uplink::CloudProfile {
 public:
  explicit AzureProfile(Settings s)
      : s_(std::move(s)),
        events_prefix_("devices/" + s_.device_id + "/messages/events/"),
        c2d_prefix_("devices/" + s_.device_id + "/messages/devicebound") {}

  // uplink::CloudProfile:
  std::string_view type() const override { return kType; }

  std::string describe() const override {
    return "Azure IoT Hub mqtts://" + s_.host + ":" + std::to_string(s_.port) + " as device '" + s_.device_id +
           "', MQTT 3.1.1, " +
           (s_.sas_key.empty() ? std::string("X.509 device certificate")
                               : "SAS token (lifetime " + std::to_string(s_.token_ttl.count() / 1000) + " s)");
  }

  Result<uplink::ConnectOptions> connect_options(const Clock& clock) override {
    uplink::ConnectOptions o;
    o.host = s_.host;
    o.port = s_.port;
    o.client_id = s_.device_id;
    o.username = username(s_.host, s_.device_id);
    o.mqtt_version = 4;
    o.keepalive = s_.keepalive;
    // IoT Hub keeps no MQTT session state worth resuming for telemetry, but
    // C2D messages wait in the hub's own queue either way.
    o.clean_start = true;
    o.tls.enabled = true;
    o.tls.ca_file = s_.ca_file;
    o.tls.cert_file = s_.cert_file;
    o.tls.key_file = s_.key_file;
    if (!s_.sas_key.empty()) {
      // Rounded up to the next whole second (se is in seconds): truncating
      // cut up to a second off the lifetime, which with a short token_ttl
      // left the 80% renewal too little time before the hub drops the session.
      const int64_t expiry_s = (clock.wall_ms() + s_.token_ttl.count() + 999) / 1000;
      auto token = make_sas_token(s_.host + "/devices/" + s_.device_id, s_.sas_key, expiry_s);
      if (!token) return token.status();
      o.password = std::move(*token);
      o.credentials_expire_at_ms = expiry_s * 1000;
    }
    return o;
  }

  uplink::Limits limits() const override {
    uplink::Limits l;
    l.max_payload_bytes = kMaxMessageBytes - kPropertyBagReserve;
    l.max_topic_bytes = 65'535;
    l.billing_unit_bytes = kBillingUnitBytes;
    l.max_inflight = 10;
    l.max_publishes_per_s = s_.max_publishes_per_s;
    l.max_bytes_per_s = s_.max_bytes_per_s;
    return l;
  }

  Result<uplink::Publish> shape(uplink::OutgoingBatch batch) const override {
    const auto& m = batch.metadata;
    std::vector<UserProperty> props = {
        {"$.ct", m.content_type},
        {"$.ce", m.as_properties().front().second},  // content-encoding
        {"$.mid", m.gateway_id + "-" + std::to_string(m.batch_seq)},
        {"gateway-id", m.gateway_id},
        {"batch-seq", std::to_string(m.batch_seq)},
        {"count", std::to_string(m.count)},
    };
    if (!batch.topic.empty()) props.emplace_back("topic", batch.topic);
    const std::string bag = property_bag(props);
    if (bag.size() > kPropertyBagReserve) {
      return invalid_argument("Azure property bag of " + std::to_string(bag.size()) + " bytes exceeds " +
                              std::to_string(kPropertyBagReserve) + " (shorten the uplink topic)");
    }
    if (batch.payload.size() + bag.size() > kMaxMessageBytes) {
      return invalid_argument("message of " + std::to_string(batch.payload.size() + bag.size()) +
                              " bytes exceeds IoT Hub's 256 KB");
    }
    uplink::Publish p;
    p.topic = events_prefix_ + bag;
    p.payload = std::move(batch.payload);
    p.qos = 1;
    p.retain = false;  // IoT Hub refuses retained messages
    return p;
  }

  // IoT Hub answers a device that sends too fast by closing the connection
  // (MQTT 3.1.1 has no negative PUBACK), so a close while a publish awaits
  // its PUBACK is read as throttling. A network failure at that moment reads
  // the same; the engine counts it as a failure once the rate is at its floor.
  uplink::Attempt read_connection_loss(uplink::Attempt a, const uplink::ConnectionLoss& loss) const override {
    if (loss.unacknowledged > 0) {
      a.throttled = true;
      a.detail += " (IoT Hub closed it right after a publish: throttling)";
    }
    return a;
  }

  std::vector<std::string> downlink_subscriptions(const std::vector<std::string>& filters) const override {
    if (filters.empty()) return {};
    return {c2d_prefix_ + "/#"};
  }

  uplink::Publish downlink_message(uplink::Publish in) const override {
    if (in.topic.starts_with(c2d_prefix_ + "/")) {
      auto props = parse_property_bag(std::string_view(in.topic).substr(c2d_prefix_.size() + 1));
      if (props) {
        for (auto& [k, v] : *props) {
          if (k == "$.ct") in.content_type = v;
          in.user_properties.emplace_back(std::move(k), std::move(v));
        }
      }
      in.topic = c2d_prefix_;
    }
    return in;
  }

 private:
  Settings s_;
  std::string events_prefix_;
  std::string c2d_prefix_;
};

}  // namespace

std::string username(std::string_view host, std::string_view device_id) {
  return std::string(host) + "/" + std::string(device_id) + "/?api-version=" + std::string(kApiVersion);
}

std::string property_bag(const std::vector<UserProperty>& properties) {
  std::string out;
  for (const auto& [k, v] : properties) {
    if (!out.empty()) out += '&';
    // '$' and '.' of system property names stay literal ($.ct), as IoT Hub expects.
    out += k.starts_with("$.") ? "$." + url_encode(k.substr(2)) : url_encode(k);
    out += '=';
    out += url_encode(v);
  }
  return out;
}

Result<std::vector<UserProperty>> parse_property_bag(std::string_view bag) {
  std::vector<UserProperty> out;
  while (!bag.empty()) {
    const size_t amp = bag.find('&');
    const std::string_view part = bag.substr(0, amp);
    if (!part.empty()) {
      const size_t eq = part.find('=');
      auto k = url_decode(part.substr(0, eq));
      if (!k) return k.status();
      auto v = url_decode(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1));
      if (!v) return v.status();
      out.emplace_back(std::move(*k), std::move(*v));
    }
    if (amp == std::string_view::npos) break;
    bag.remove_prefix(amp + 1);
  }
  return out;
}

Result<std::unique_ptr<uplink::CloudProfile>> make_profile(const Settings& s) {
  if (s.host.empty()) return invalid_argument("azure_iot_hub uplink: 'host' must not be empty");
  if (s.port == 0) return invalid_argument("azure_iot_hub uplink: 'port' must be 1..65535");
  if (s.device_id.empty()) return invalid_argument("azure_iot_hub uplink: 'device_id' must not be empty");
  if (s.device_id.find_first_of("/+#") != std::string::npos) {
    return invalid_argument("azure_iot_hub uplink: 'device_id' must not contain '/', '+' or '#'");
  }
  const bool cert = !s.cert_file.empty() || !s.key_file.empty();
  if (s.sas_key.empty() == !cert) {
    return invalid_argument("azure_iot_hub uplink: give either auth.sas_key or auth.cert and auth.key");
  }
  if (s.cert_file.empty() != s.key_file.empty()) {
    return invalid_argument("azure_iot_hub uplink: auth.cert and auth.key go together");
  }
  if (!s.sas_key.empty()) {
    auto key = base64_decode(s.sas_key);
    if (!key || key->empty()) {
      return invalid_argument("azure_iot_hub uplink: auth.sas_key must be the device's base64 key");
    }
    if (s.token_ttl < std::chrono::seconds(2)) {
      return invalid_argument("azure_iot_hub uplink: auth.token_ttl must be at least 2s");
    }
  }
  if (!(s.max_publishes_per_s >= 1 && s.max_publishes_per_s <= kMaxPublishesPerSecond)) {
    return invalid_argument("azure_iot_hub uplink: publish rate must be 1..6000 per second");
  }
  if (s.max_bytes_per_s < 0) return invalid_argument("azure_iot_hub uplink: byte rate must not be negative");
  GW_RETURN_IF_ERROR(check_readable("azure_iot_hub uplink: ca_file", s.ca_file));
  GW_RETURN_IF_ERROR(check_readable("azure_iot_hub uplink: auth.cert", s.cert_file));
  GW_RETURN_IF_ERROR(check_readable("azure_iot_hub uplink: auth.key", s.key_file));
  return std::unique_ptr<uplink::CloudProfile>(std::make_unique<AzureProfile>(s));
}

Result<Settings> parse_settings(const uplink::SettingsMap& map) {
  Settings s;
  std::string client_id;
  for (const auto& [key, value] : map) {
    if (key == "host") {
      s.host = value;
    } else if (key == "port") {
      auto v = parse_uint(key, value, 65535);
      if (!v) return v.status();
      s.port = static_cast<uint16_t>(*v);
    } else if (key == "device_id") {
      s.device_id = value;
    } else if (key == "client_id") {
      client_id = value;
    } else if (key == "sas_key") {
      s.sas_key = value;
    } else if (key == "token_ttl") {
      auto d = parse_duration(key, value);
      if (!d) return d.status();
      s.token_ttl = *d;
    } else if (key == "ca_file") {
      s.ca_file = value;
    } else if (key == "cert_file") {
      s.cert_file = value;
    } else if (key == "key_file") {
      s.key_file = value;
    } else if (key == "keepalive") {
      auto d = parse_duration(key, value);
      if (!d) return d.status();
      s.keepalive = std::chrono::duration_cast<std::chrono::seconds>(*d);
    } else if (key == "max_publishes_per_s") {
      auto n = parse_uint(key, value, static_cast<uint64_t>(kMaxPublishesPerSecond));
      if (!n) return n.status();
      s.max_publishes_per_s = static_cast<double>(*n);
    } else if (key == "max_bytes_per_s") {
      auto n = parse_uint(key, value, 1ULL << 40);
      if (!n) return n.status();
      s.max_bytes_per_s = static_cast<double>(*n);
    } else if (key == "tls") {
      if (value != "true") return invalid_argument("azure_iot_hub uplink: TLS cannot be turned off");
    } else if (key == "mqtt_version") {
      if (value != "4" && value != "3.1.1") {
        return invalid_argument("azure_iot_hub uplink: IoT Hub speaks MQTT 3.1.1 only, got '" + value + "'");
      }
    } else {
      return invalid_argument("unknown key '" + key + "' for uplink type azure_iot_hub");
    }
  }
  if (!client_id.empty() && client_id != s.device_id) {
    return invalid_argument("azure_iot_hub uplink: the client id is the device id ('" + s.device_id + "')");
  }
  return s;
}

void register_profile(uplink::Registry& registry) {
  uplink::ProfileFactory f;
  f.type = std::string(kType);
  f.settings = {
      {"host", true, "<hub>.azure-devices.net"},
      {"port", false, "8883"},
      {"device_id", true, "the device identity registered in the hub"},
      {"client_id", false, "must equal device_id"},
      {"sas_key", false, "the device's primary key (base64); or cert_file/key_file"},
      {"token_ttl", false, "SAS token lifetime (default 1h); renewed at 80%"},
      {"ca_file", false, "PEM trust store (e.g. DigiCert Global Root G2)"},
      {"cert_file", false, "X.509 device certificate (PEM)"},
      {"key_file", false, "its private key (PEM)"},
      {"keepalive", false, "keep-alive (default 30s)"},
      {"tls", false, "always true"},
      {"mqtt_version", false, "always 3.1.1"},
      {"max_publishes_per_s", false, "device-to-cloud sends per second (default 100, at most 6000)"},
      {"max_bytes_per_s", false, "bytes per second (default unlimited)"},
  };
  f.max_publishes_per_s = kMaxPublishesPerSecond;
  f.create = uplink::parse_then_make(&parse_settings, &make_profile);
  registry.add(std::move(f));
}

}  // namespace gw::plugins::azure_iot_hub
