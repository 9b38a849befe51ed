#include "gateway/app/wiring.h"

#include <algorithm>
#include <string>

#ifdef GW_PLUGIN_MQTT_GENERIC
#include "plugins/mqtt_generic/mqtt_generic.h"
#endif
#ifdef GW_PLUGIN_AWS_IOT_CORE
#include "plugins/aws_iot_core/aws_iot_core.h"
#endif
#ifdef GW_PLUGIN_AZURE_IOT_HUB
#include "plugins/azure_iot_hub/azure_iot_hub.h"
#endif

namespace gw::app {

store::StoreOptions store_options(const config::Config& cfg) {
  store::StoreOptions o;
  o.path = cfg.store.path.string();
  o.durability = cfg.store.durability == config::Durability::kFsync ? store::Durability::kFsync
                                                                    : store::Durability::kOs;
  o.group_max_messages = cfg.store.group_max_messages;
  o.group_window = cfg.store.group_window;
  o.max_bytes = cfg.store.max_bytes;
  o.min_free_disk = cfg.store.min_free_disk;
  o.cpus = cfg.gateway.cpu_affinity.store;
  o.on_full = cfg.store.on_full == config::FullPolicy::kEvict ? store::FullPolicy::kEvict
                                                              : store::FullPolicy::kReject;
  o.on_expiry = cfg.store.on_expiry == config::ExpiryPolicy::kDrop ? store::ExpiryPolicy::kDrop
                                                                   : store::ExpiryPolicy::kDeadLetter;
  for (const auto& up : cfg.uplinks) {
    o.replay[up.name] =
        up.replay == config::Replay::kLiveFirst ? store::Replay::kLiveFirst : store::Replay::kOldestFirst;
  }
  return o;
}

broker::BrokerOptions broker_options(const config::Config& cfg) {
  broker::BrokerOptions o;
  for (const auto& l : cfg.listeners) {
    broker::ListenerOptions lo;
    lo.name = l.name;
    lo.host = l.host;
    lo.port = l.port;
    lo.max_connections = l.max_connections;
    if (l.tls) {
      broker::TlsOptions t;
      t.cert = l.tls->cert.string();
      t.key = l.tls->key.string();
      t.client_ca = l.tls->client_ca.string();
      t.require_client_cert = l.tls->require_client_cert;
      t.cert_cn_as_username = l.tls->cert_cn_as_username;
      lo.tls = std::move(t);
    }
    o.listeners.push_back(std::move(lo));
  }
  const config::LimitsConfig& lim = cfg.limits;
  o.max_packet_size = lim.max_packet_size;
  o.max_keepalive = lim.max_keepalive;
  o.connect_timeout = lim.connect_timeout;
  o.max_inflight = lim.max_inflight;
  o.max_queued_messages = lim.max_queued_messages;
  o.max_topic_levels = lim.max_topic_levels;
  o.max_topic_length = lim.max_topic_length;
  o.cpus = cfg.gateway.cpu_affinity.broker;
  switch (cfg.auth.allow_anonymous) {
    case config::AllowAnonymous::kLoopbackOnly: o.auth.allow_anonymous = broker::AnonymousPolicy::kLoopbackOnly; break;
    case config::AllowAnonymous::kNever: o.auth.allow_anonymous = broker::AnonymousPolicy::kNever; break;
    case config::AllowAnonymous::kForce: o.auth.allow_anonymous = broker::AnonymousPolicy::kAlways; break;
  }
  o.auth.password_file = cfg.auth.password_file.string();
  if (cfg.acl) {
    std::vector<broker::AclRule> rules;
    for (const config::AclRuleConfig& r : *cfg.acl) {
      broker::AclRule a;
      a.who.any = r.who_any;
      a.who.anonymous = r.anonymous;
      a.who.username = r.username;
      a.who.client_id = r.client_id;
      a.who.cert_cn = r.cert_cn;
      a.allow = r.allow;
      a.publish = r.publish;
      a.subscribe = r.subscribe;
      a.topics = r.topics;
      rules.push_back(std::move(a));
    }
    o.acl = std::move(rules);
  }
  return o;
}

void register_builtin_profiles(uplink::Registry& registry) {
#ifdef GW_PLUGIN_MQTT_GENERIC
  plugins::mqtt_generic::register_profile(registry);
#endif
#ifdef GW_PLUGIN_AWS_IOT_CORE
  plugins::aws_iot_core::register_profile(registry);
#endif
#ifdef GW_PLUGIN_AZURE_IOT_HUB
  plugins::azure_iot_hub::register_profile(registry);
#endif
  (void)registry;
}

void check_uplink_limits(const config::Config& cfg, std::vector<Diagnostic>& out) {
  uplink::Registry registry;
  register_builtin_profiles(registry);
  auto fmt = [](double v) { return std::to_string(static_cast<uint64_t>(v)); };
  for (const auto& up : cfg.uplinks) {
    const uplink::ProfileFactory* f = registry.find(config::to_string(up.type));
    if (f == nullptr) continue;  // make_engine reports a type not built in
    const std::string who = "uplink '" + up.name + "' (" + f->type + ")";
    if (f->max_publishes_per_s > 0 && up.limits.publishes_per_second > f->max_publishes_per_s) {
      out.push_back({up.limits.publishes_pos,
                     "limits.publishes_per_second: " + std::to_string(up.limits.publishes_per_second) +
                         " is above the cloud's quota of " + fmt(f->max_publishes_per_s) + " per connection for " +
                         who + "; it can only be lowered"});
    }
    if (f->max_bytes_per_s > 0 && static_cast<double>(up.limits.bytes_per_second) > f->max_bytes_per_s) {
      out.push_back({up.limits.bytes_pos,
                     "limits.bytes_per_second: " + std::to_string(up.limits.bytes_per_second) +
                         " is above the cloud's quota of " + fmt(f->max_bytes_per_s) + " bytes per connection for " +
                         who + "; it can only be lowered"});
    }
  }
}

namespace {

uplink::SettingsMap profile_settings(const config::Config& cfg, const config::UplinkConfig& up) {
  uplink::SettingsMap s;
  auto put = [&s](const char* key, const std::string& value) {
    if (!value.empty()) s[key] = value;
  };
  put("host", up.host);
  s["port"] = std::to_string(up.port);
  put("client_id", up.client_id.empty() ? cfg.gateway.id : up.client_id);
  put("username", up.username);
  put("password", up.password);
  put("ca_file", up.tls.ca_file.string());
  put("cert_file", up.tls.cert.string());
  put("key_file", up.tls.key.string());
  if (up.tls.enabled) s["tls"] = "true";
  s["mqtt_version"] = up.mqtt_version == config::MqttVersion::kV5 ? "5" : "4";
  s["keepalive"] = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(up.keepalive).count());
  // The cloud types' own keys (issue 5); `mqtt` declares none of them.
  if (up.type == config::UplinkType::kAzureIotHub) {
    put("device_id", up.device_id);
    put("sas_key", up.sas_key);
    s["token_ttl"] = std::to_string(up.sas_token_ttl.count()) + "ms";
  }
  if (up.type == config::UplinkType::kAwsIotCore && up.alpn) s["alpn"] = "true";
  // `limits:` (every type declares these two keys; 0 keeps the profile's rate).
  if (up.limits.publishes_per_second != 0) s["max_publishes_per_s"] = std::to_string(up.limits.publishes_per_second);
  if (up.limits.bytes_per_second != 0) s["max_bytes_per_s"] = std::to_string(up.limits.bytes_per_second);
  return s;
}

uplink::Compression compression(config::Compression c) {
  switch (c) {
    case config::Compression::kGzip: return uplink::Compression::kGzip;
    case config::Compression::kDeflate: return uplink::Compression::kDeflate;
    case config::Compression::kNone: return uplink::Compression::kNone;
  }
  return uplink::Compression::kGzip;
}

}  // namespace

Result<std::unique_ptr<uplink::Engine>> make_engine(const config::Config& cfg, const config::UplinkConfig& up,
                                                    store::Store& store, const Clock& clock,
                                                    uplink::DownlinkHandler on_downlink,
                                                    std::function<void(std::chrono::nanoseconds)> on_publish_acked) {
  uplink::Registry registry;
  register_builtin_profiles(registry);
  auto profile = registry.create(config::to_string(up.type), profile_settings(cfg, up));
  if (!profile.is_ok()) return profile.status();

  uplink::UplinkOptions o;
  o.name = up.name;
  o.gateway_id = cfg.gateway.id;
  o.topic_template = up.topic;
  o.max_messages = up.batch.max_messages;
  o.max_bytes = up.batch.max_bytes;
  o.linger = up.batch.linger;
  o.compression = compression(up.compression);
  o.compression_level = up.compression_level;
  o.backoff.initial = up.backoff.initial;
  o.backoff.max = up.backoff.max;
  o.backoff.multiplier = up.backoff.multiplier;
  o.breaker.failure_threshold = up.breaker.failures;
  o.breaker.open_for = up.breaker.open_for;
  o.publish_timeout = up.publish_timeout;
  o.cpus = cfg.gateway.cpu_affinity.uplinks;
  for (const auto& d : up.downlink) o.downlink.push_back({d.from, d.to});
  o.on_downlink = std::move(on_downlink);
  o.on_publish_acked = std::move(on_publish_acked);
  return uplink::Engine::create(std::move(o), std::move(profile).value(), store, clock);
}

int64_t expiry_ms(const Message& msg, std::chrono::seconds route_ttl) {
  int64_t ttl_ms = 0;
  if (route_ttl.count() > 0) ttl_ms = route_ttl.count() * 1000;
  if (msg.properties.message_expiry_s) {
    const int64_t m = int64_t{*msg.properties.message_expiry_s} * 1000;
    ttl_ms = ttl_ms == 0 ? m : std::min(ttl_ms, m);
  }
  return ttl_ms == 0 ? 0 : msg.received_at_ms + ttl_ms;
}

}  // namespace gw::app
