// gw::config: the gateway's YAML file turned into a typed, validated tree.
//
// load_file() reads one YAML file, checks every key, type, unit, name and
// cross-reference, and returns either a Config or every problem it found, each
// with FILE:LINE:COL (1-based). It never throws and never stops at the first
// problem. Only this module sees YAML (yaml-cpp is a private dependency); the
// other modules get plain option structs that the app fills from this tree,
// except the route tree below, which gw_rules compiles directly.
//
// Every element that a later stage may want to blame (a listener, an uplink, a
// route, a condition, a template) carries the SourcePos it was written at.
//
// Values only: Config is copyable and has no thread affinity. load_file() is
// thread-safe (no globals) and blocks on reading the file.
//
// Defaults are written next to each field ("default: ...").
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/core/diagnostic.h"
#include "gateway/core/status.h"

namespace gw::config {

using Duration = std::chrono::milliseconds;

// ---------------------------------------------------------------- gateway
struct GatewayConfig {
  SourcePos pos;
  // Required. Stamped on every batch; letters, digits, '-', '_', '.' only
  // because it also appears in cloud topics.
  std::string id;
  // default: /var/lib/edge-gateway. Relative paths resolve against the folder
  // of the config file. Always absolute after loading.
  std::filesystem::path data_dir = "/var/lib/edge-gateway";
  // `cpu_affinity:` the CPUs (Linux numbers, each one this process may use)
  // the broker's io thread, the store's writer and every uplink's thread run
  // on. Empty (the default): not pinned, the kernel places them.
  struct CpuAffinity {
    std::vector<int> broker, store, uplinks;
  } cpu_affinity;
};

// ---------------------------------------------------------------- listeners
// Server-side TLS of a listener (issue 3). Paths resolve against the config
// file's folder.
struct ListenerTlsConfig {
  SourcePos pos;
  std::filesystem::path cert;       // required when tls is given
  std::filesystem::path key;        // required when tls is given
  std::filesystem::path client_ca;  // default: none (client certificates not checked)
  bool require_client_cert = false;  // default: false; needs client_ca
  bool cert_cn_as_username = false;  // default: false
};

struct ListenerConfig {
  SourcePos pos;
  std::string name;  // required, unique among listeners
  // From `bind: HOST:PORT` (required). IPv6 hosts are written in brackets
  // ("[::1]:1883") and stored without them. Port 0 asks the OS for a free port.
  std::string host;
  uint16_t port = 0;
  SourcePos bind_pos;
  std::optional<ListenerTlsConfig> tls;  // default: plain TCP
  uint32_t max_connections = 1000;       // default: 1000
};

// ---------------------------------------------------------------- broker limits
// `limits:` (issue 3): per connection / session, for every listener.
struct LimitsConfig {
  SourcePos pos;
  uint64_t max_packet_size = 256 * 1024;     // default: 256KiB, inbound (MQTT 5 0x95 above)
  std::chrono::seconds max_keepalive{60};    // default: 60s; more (or 0) is held to it
  uint32_t max_inflight = 20;                // default: 20 outbound QoS 1/2 awaiting ack
  uint32_t max_queued_messages = 1000;       // default: 1000 per session (also offline)
  uint32_t max_topic_levels = 16;            // default: 16
  uint32_t max_topic_length = 1024;          // default: 1024 bytes
  std::chrono::seconds connect_timeout{10};  // default: 10s from accept (TLS included) to CONNECT
};

// ---------------------------------------------------------------- auth
// `auth.allow_anonymous`: clients with neither a checked password nor a
// verified client certificate.
enum class AllowAnonymous {
  kLoopbackOnly,  // default, and `true`: only on listeners bound to 127.0.0.0/8 or ::1
  kNever,         // `false`
  kForce,         // `force`: on every listener
};

struct AuthConfig {
  SourcePos pos;
  AllowAnonymous allow_anonymous = AllowAnonymous::kLoopbackOnly;
  // default: none (usernames are not checked). Relative paths resolve against
  // the config file's folder. Written by `edge-gateway passwd FILE USER`.
  std::filesystem::path password_file;
};

// One `acl:` rule: {who: ..., allow|deny: [publish, subscribe], topics: [...]}.
struct AclRuleConfig {
  SourcePos pos;
  // `who: any`, or a map whose keys are ANDed: username / client_id / cert_cn
  // (globs) and anonymous (true|false).
  bool who_any = false;
  std::optional<bool> anonymous;
  std::optional<std::string> username;
  std::optional<std::string> client_id;
  std::optional<std::string> cert_cn;
  bool allow = true;  // `allow:` or `deny:`
  bool publish = false;
  bool subscribe = false;
  std::vector<std::string> topics;  // topic filters with %u (username) and %c (client id)
};

// ---------------------------------------------------------------- store
enum class Durability {
  kFsync,  // WAL, synchronous=FULL: an acked message survives power loss
  kOs,     // WAL, synchronous=NORMAL: survives a process crash
};
enum class FullPolicy { kReject, kEvict };
enum class ExpiryPolicy { kDeadLetter, kDrop };

struct StoreConfig {
  SourcePos pos;
  // default: queue.db. Relative paths resolve against gateway.data_dir.
  // Always absolute after loading.
  std::filesystem::path path;
  Durability durability = Durability::kFsync;  // default: fsync
  uint32_t group_max_messages = 1000;          // default: 1000 messages per transaction
  // default: 0 = commit as soon as the writer is free; what arrives during a
  // commit forms the next group (leveldb-style), so groups grow with load
  // without making a lone message wait. A window > 0 trades latency for
  // fewer commits at mid rates.
  Duration group_window{0};
  uint64_t max_bytes = 1024ull * 1024 * 1024;  // default: 1GiB; 0 = no cap
  uint64_t min_free_disk = 64ull * 1024 * 1024;  // default: 64MiB left free on the filesystem
  FullPolicy on_full = FullPolicy::kReject;      // default: reject
  ExpiryPolicy on_expiry = ExpiryPolicy::kDeadLetter;  // default: dead_letter
};

// ---------------------------------------------------------------- uplinks
enum class UplinkType { kMqtt, kAwsIotCore, kAzureIotHub };
enum class Compression { kGzip, kDeflate, kNone };
enum class MqttVersion : uint8_t { kV311 = 4, kV5 = 5 };
enum class Replay { kOldestFirst, kLiveFirst };

std::string_view to_string(UplinkType type);       // "mqtt", "aws_iot_core", "azure_iot_hub"
std::string_view to_string(Compression compression);  // "gzip", "deflate", "none"

struct BatchConfig {
  uint32_t max_messages = 1000;  // default: 1000
  uint64_t max_bytes = 65536;    // default: 64KiB (uncompressed envelope bytes)
  Duration linger{200};          // default: 200ms
  bool fill_billing_unit = true;  // default: true (issue 5; used by cloud profiles)
};

// Client-side TLS of an uplink. Paths resolve against the config file's folder.
// For aws_iot_core / azure_iot_hub the issue-5 keys `ca_file` and
// `auth: {cert, key}` fill the same fields.
struct UplinkTlsConfig {
  bool enabled = false;  // on when `tls: true` or any file below is set
  std::filesystem::path ca_file;  // default: system trust store
  std::filesystem::path cert;     // client certificate (mutual TLS); needs key
  std::filesystem::path key;
};

// Circuit breaker (issue 5): opens after `failures` consecutive failed
// connects or publishes, stays open `open_for`, then lets one probe through.
struct BreakerConfig {
  uint32_t failures = 5;     // default: 5
  Duration open_for{30000};  // default: 30s
};

struct BackoffConfig {
  Duration initial{1000};   // default: 1s
  Duration max{60000};      // default: 60s
  double multiplier = 2.0;  // default: 2.0; must be >= 1
};

// Cloud -> device (issue 5): cloud topic filter -> local topic template.
// `from` may use {gateway_id}; `to` may use {gateway_id}, {topic}, {topic[N]}
// (gateway/uplink/downlink.h). The first matching entry wins.
struct DownlinkConfig {
  SourcePos pos;
  std::string from;
  std::string to;
};

// `limits:` of an uplink (issue 5): its token buckets per connection, set
// below the cloud's own quota (AWS IoT Core: 100 publishes/s and 512KiB/s;
// Azure IoT Hub: 100 publishes/s by default, at most 6000). A value above the
// cloud's quota is an error the app reports at the value's position (the
// quota belongs to the cloud profile, which this module does not know).
struct UplinkLimitsConfig {
  uint32_t publishes_per_second = 0;  // default: 0 = the cloud profile's own rate
  SourcePos publishes_pos;
  uint64_t bytes_per_second = 0;      // default: 0 = the cloud profile's own rate; e.g. 256KiB
  SourcePos bytes_pos;
};

struct UplinkConfig {
  SourcePos pos;
  std::string name;  // required, unique among uplinks
  UplinkType type = UplinkType::kMqtt;  // default: mqtt
  std::string host;                     // required
  uint16_t port = 0;  // default: 8883 with TLS (and for the cloud types), 1883 without
  std::string client_id;  // default: gateway.id (azure: device_id)
  // Cloud topic template; placeholders {gateway_id}, {route}, {uplink}.
  // default: "gw/{gateway_id}/{route}"
  std::string topic = "gw/{gateway_id}/{route}";
  SourcePos topic_pos;
  BatchConfig batch;
  Compression compression = Compression::kGzip;  // default: gzip
  // Level for gzip/deflate, 1 (least CPU, most bytes) to 9, as zlib's (README: Performance).
  int compression_level = 6;  // default: 6
  MqttVersion mqtt_version = MqttVersion::kV5;   // default: 5 (azure_iot_hub: 3.1.1, only)
  std::string username;  // default: none
  std::string password;  // default: none; never logged
  UplinkTlsConfig tls;
  Duration keepalive{30000};  // default: 30s
  BackoffConfig backoff;
  BreakerConfig breaker;
  Duration publish_timeout{30000};  // default: 30s; no cloud ack by then: retry on a new connection
  Replay replay = Replay::kOldestFirst;  // default: oldest_first
  // Cloud-profile keys (issue 5).
  std::string device_id;  // azure_iot_hub: required
  std::string sas_key;    // azure_iot_hub: `auth: {sas_key}`; never logged
  Duration sas_token_ttl{3600 * 1000};  // default: 1h (`auth: {token_ttl}`)
  bool alpn = false;  // aws_iot_core on port 443: ALPN x-amzn-mqtt-ca; default false
  UplinkLimitsConfig limits;  // default: the cloud's quota (none for type mqtt)
  std::vector<DownlinkConfig> downlink;  // default: none (no cloud subscriptions)
};

// ---------------------------------------------------------------- routes
// One value test, as written under a property key, `client_id:`, `qos:`, ...
// A plain scalar means `equals`. Several operators in one map are ANDed, and
// for repeatable user properties one single value must satisfy all of them.
struct ValueCondition {
  SourcePos pos;
  std::optional<std::string> equals;  // `equals: v` or a plain scalar
  std::vector<std::string> in;        // `in: [a, b]`; empty = not used
  bool has_in = false;
  std::optional<std::string> glob;   // `glob: "line-*"` ('*' any run, '?' one char)
  std::optional<std::string> regex;  // `regex: "^E[0-9]{3}$"` (ECMAScript, searched)
  std::optional<bool> exists;        // `exists: true|false`
  std::optional<double> gt, gte, lt, lte;  // numeric comparisons

  bool has_value_test() const {
    return equals || has_in || glob || regex || gt || gte || lt || lte;
  }
};

struct PropertyCondition {
  SourcePos pos;  // of the key
  std::string key;
  ValueCondition test;
};

// `payload: {"$.a.b": {...}}`: a JSON field by path ($ then .name or [index]).
struct PayloadCondition {
  SourcePos pos;
  std::string path;
  ValueCondition test;
};

struct TopicFilterConfig {
  SourcePos pos;
  // As written: may contain captures `{name}` (one level, like '+').
  std::string filter;
};

// One `match:` map: its keys are ANDed. An empty MatchConfig matches every
// message. `all` / `any` / `not` nest further matches.
struct MatchConfig {
  SourcePos pos;
  std::vector<TopicFilterConfig> topics;      // ORed; empty = any topic
  std::vector<PropertyCondition> properties;  // ANDed, in written order
  std::optional<ValueCondition> client_id;
  std::optional<ValueCondition> username;     // anonymous clients have no username
  std::optional<ValueCondition> cert_cn;
  std::optional<ValueCondition> qos;             // compared as "0", "1", "2"
  std::optional<ValueCondition> retain;          // compared as "true" / "false"
  std::optional<ValueCondition> content_type;
  std::optional<ValueCondition> payload_format;  // compared as "0" / "1"
  std::vector<PayloadCondition> payload;
  std::vector<MatchConfig> all;   // every one must match
  std::vector<MatchConfig> any;   // at least one must match (when non-empty)
  std::vector<MatchConfig> none;  // `not:` (a match or a list): none may match

  bool empty() const {
    return topics.empty() && properties.empty() && !client_id && !username && !cert_cn && !qos &&
           !retain && !content_type && !payload_format && payload.empty() && all.empty() &&
           any.empty() && none.empty();
  }
};

struct UplinkRef {
  SourcePos pos;
  std::string name;  // names an uplink in Config::uplinks (checked at load)
};

struct TemplateConfig {
  SourcePos pos;
  std::string text;  // "alarms/{gateway_id}/{site}/{topic[3]}"
};

// Default priority: 5, the middle of 0-9, so that a route can be marked more
// or less urgent than routes that don't say.
inline constexpr int kDefaultPriority = 5;

struct RouteConfig {
  SourcePos pos;
  std::string name;  // required, unique among routes
  MatchConfig match;  // default: matches every message
  std::vector<UplinkRef> to;  // `to: cloud` or `to: [a, b]`; no duplicates
  bool drop = false;          // `drop: true`
  int priority = kDefaultPriority;  // 0-9, higher first
  std::chrono::seconds ttl{0};      // default: 0 = none (the MQTT expiry still applies)
  std::optional<TemplateConfig> topic;      // cloud topic rewrite; default: keep
  std::vector<std::pair<std::string, TemplateConfig>> set_properties;  // in written order
  std::vector<std::string> remove_properties;
  std::optional<TemplateConfig> republish;  // local topic template
  bool continue_matching = false;           // `continue: true`
};

struct DefaultRouteConfig {
  SourcePos pos;
  bool drop = true;  // default: drop (nothing leaves the gateway unless a route says so)
  std::vector<UplinkRef> to;
  int priority = kDefaultPriority;
  std::chrono::seconds ttl{0};
};

// ---------------------------------------------------------------- telemetry
struct TelemetryConfig {
  // `http: HOST:PORT` serves /metrics and /healthz; default: off.
  std::optional<std::pair<std::string, uint16_t>> http;
};

// ---------------------------------------------------------------- log
// `log:` (issue 7). Level names are gw::log::kLevelNames, module names
// gw::log::kModuleNames (core/log.h); the app copies this into
// telemetry::LoggingOptions.
struct LogConfig {
  SourcePos pos;
  std::string level = "info";  // default: info, for every module not in `modules`
  // default: none = stderr (the journal under systemd). Relative paths
  // resolve against the config file's folder. Always absolute when set.
  std::filesystem::path file;
  uint64_t max_size = 10ull * 1024 * 1024;  // default: 10MiB, then the file rotates
  uint32_t max_files = 5;                   // default: 5 rotated files kept (FILE.1 ... FILE.5)
  std::vector<std::pair<std::string, std::string>> modules;  // (module, level), in written order
  // `repeats: {max_lines, window}`: similar warnings and errors beyond
  // max_lines per window are suppressed and counted in one later line;
  // max_lines 0 = off.
  uint32_t repeat_max_lines = 10;  // default: 10
  Duration repeat_window{60'000};  // default: 1m
};

// ---------------------------------------------------------------- root
struct Config {
  std::filesystem::path file;  // the file it came from, as given
  GatewayConfig gateway;
  std::vector<ListenerConfig> listeners;  // at least one
  LimitsConfig limits;
  AuthConfig auth;
  // default: unset = every authenticated client may publish and subscribe
  // anywhere; set (even empty): first matching rule decides, none = deny.
  std::optional<std::vector<AclRuleConfig>> acl;
  StoreConfig store;
  std::vector<UplinkConfig> uplinks;  // default: none
  std::vector<RouteConfig> routes;    // default: none; evaluated in order
  DefaultRouteConfig default_route;
  TelemetryConfig telemetry;
  LogConfig log;

  const UplinkConfig* find_uplink(std::string_view name) const;
};

struct LoadResult {
  std::optional<Config> config;  // set only when diagnostics has no error
  std::vector<Diagnostic> diagnostics;  // errors and warnings, in file order
  // When there are errors but the YAML parsed: the tree as far as it could be
  // read, so later stages (the route compiler) can report their own problems
  // in the same run. Never run a gateway from it.
  std::optional<Config> partial;
};

// Reads and validates `path`. Relative paths inside resolve against the
// file's folder. Never throws; a missing file is one diagnostic at FILE:0:0.
LoadResult load_file(const std::string& path);

// The same for text already in memory: `file_name` is used in diagnostics and
// `base_dir` resolves relative paths (default: the current directory).
LoadResult load_string(std::string_view yaml, const std::string& file_name,
                       const std::filesystem::path& base_dir = {});

// Parsing helpers, exposed for tests and for the rules and app modules.
// "200ms", "5s", "1h30m", "7d" (integers, units ms s m h d, combinable).
Result<Duration> parse_duration(std::string_view text);
// "65536", "64KiB", "1 MiB", "2GiB" (integers; plain numbers are bytes).
Result<uint64_t> parse_size(std::string_view text);
// "127.0.0.1:1883", "[::1]:8883", "localhost:0" -> host (brackets removed), port.
Result<std::pair<std::string, uint16_t>> parse_host_port(std::string_view text);

}  // namespace gw::config
