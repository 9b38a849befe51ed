#include "gateway/config/config.h"
#include "gateway/core/cpu_affinity.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace gw::config {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

// The repository file `relative`: from GW_SOURCE_DIR when ctest sets it,
// else from the source dir this test was configured from.
std::filesystem::path repo_path(const std::string& relative) {
  if (std::getenv("GW_SOURCE_DIR") != nullptr) return testing::source_path(relative);
  return std::filesystem::path(GW_TEST_SOURCE_DIR) / relative;
}

std::vector<std::string> render(const std::vector<Diagnostic>& diags) {
  std::vector<std::string> out;
  for (const auto& d : diags) out.push_back(d.to_string());
  return out;
}

// The smallest valid config; cases below append or replace sections.
constexpr const char* kMinimal =
    "gateway: {id: gw1, data_dir: /data}\n"  // line 1
    "listeners:\n"                           // line 2
    "  - {name: local, bind: 127.0.0.1:1883}\n"  // line 3
    "uplinks:\n"                             // line 4
    "  - {name: cloud, host: broker.example}\n";  // line 5

TEST(ConfigLoad, Issue2ExampleLoadsWithTypedValues) {
  const fs::path file = repo_path("tests/fixtures/config/issue2.yaml");
  const LoadResult r = load_file(file.string());
  ASSERT_TRUE(r.config) << ::testing::PrintToString(render(r.diagnostics));
  EXPECT_TRUE(r.diagnostics.empty()) << ::testing::PrintToString(render(r.diagnostics));
  const Config& c = *r.config;
  const fs::path dir = fs::absolute(file).parent_path().lexically_normal();

  EXPECT_EQ(c.gateway.id, "demo-gw");
  EXPECT_EQ(c.gateway.data_dir, dir / "var");
  EXPECT_EQ(c.gateway.pos.line, 3);

  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].name, "local");
  EXPECT_EQ(c.listeners[0].host, "127.0.0.1");
  EXPECT_EQ(c.listeners[0].port, 1883);
  EXPECT_EQ(c.listeners[0].pos.line, 6);
  EXPECT_EQ(c.listeners[0].pos.column, 5);
  EXPECT_FALSE(c.listeners[0].tls);

  EXPECT_EQ(c.store.path, dir / "var" / "queue.db");
  EXPECT_EQ(c.store.durability, Durability::kFsync);
  EXPECT_EQ(c.store.group_window, milliseconds(0));

  ASSERT_EQ(c.uplinks.size(), 1u);
  const UplinkConfig& u = c.uplinks[0];
  EXPECT_EQ(u.name, "cloud");
  EXPECT_EQ(u.type, UplinkType::kMqtt);
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, 1884);
  EXPECT_EQ(u.client_id, "demo-gw");
  EXPECT_EQ(u.topic, "gw/{gateway_id}/{route}");
  EXPECT_EQ(u.batch.max_messages, 1000u);
  EXPECT_EQ(u.batch.max_bytes, 65536u);
  EXPECT_EQ(u.batch.linger, milliseconds(200));
  EXPECT_EQ(u.compression, Compression::kGzip);
  EXPECT_EQ(u.compression_level, 6);
  EXPECT_EQ(u.mqtt_version, MqttVersion::kV5);
  EXPECT_FALSE(u.tls.enabled);
  EXPECT_EQ(u.keepalive, seconds(30));
  EXPECT_EQ(u.backoff.initial, seconds(1));
  EXPECT_EQ(u.backoff.max, seconds(60));
  EXPECT_DOUBLE_EQ(u.backoff.multiplier, 2.0);
  EXPECT_EQ(u.breaker.failures, 5u);
  EXPECT_EQ(u.breaker.open_for, seconds(30));
  EXPECT_EQ(u.publish_timeout, seconds(30));

  ASSERT_EQ(c.routes.size(), 2u);
  const RouteConfig& alarms = c.routes[0];
  EXPECT_EQ(alarms.name, "alarms");
  ASSERT_EQ(alarms.match.topics.size(), 1u);
  EXPECT_EQ(alarms.match.topics[0].filter, "plant/+/alarm/#");
  EXPECT_EQ(alarms.match.topics[0].pos.line, 22);
  EXPECT_EQ(alarms.match.topics[0].pos.column, 15);
  ASSERT_EQ(alarms.match.properties.size(), 1u);
  EXPECT_EQ(alarms.match.properties[0].key, "severity");
  EXPECT_EQ(alarms.match.properties[0].test.equals, "high");
  ASSERT_EQ(alarms.to.size(), 1u);
  EXPECT_EQ(alarms.to[0].name, "cloud");
  EXPECT_EQ(alarms.priority, kDefaultPriority);
  EXPECT_EQ(alarms.ttl, seconds(0));
  EXPECT_FALSE(alarms.continue_matching);
  const RouteConfig& telemetry = c.routes[1];
  ASSERT_EQ(telemetry.match.topics.size(), 1u);
  EXPECT_EQ(telemetry.match.topics[0].filter, "plant/#");
  ASSERT_EQ(telemetry.to.size(), 1u);
  EXPECT_EQ(telemetry.to[0].name, "cloud");
  EXPECT_TRUE(c.default_route.drop);
}

TEST(ConfigLoad, DefaultsOfAMinimalConfig) {
  const LoadResult r = load_string(kMinimal, "t.yaml", "/etc/gw");
  ASSERT_TRUE(r.config) << ::testing::PrintToString(render(r.diagnostics));
  const Config& c = *r.config;
  EXPECT_EQ(c.store.path, fs::path("/data/queue.db"));
  EXPECT_EQ(c.store.group_max_messages, 1000u);
  EXPECT_EQ(c.store.max_bytes, 1024ull * 1024 * 1024);
  EXPECT_EQ(c.store.on_full, FullPolicy::kReject);
  EXPECT_EQ(c.store.on_expiry, ExpiryPolicy::kDeadLetter);
  const UplinkConfig& u = c.uplinks[0];
  EXPECT_EQ(u.port, 1883);
  EXPECT_EQ(u.client_id, "gw1");
  EXPECT_EQ(u.topic, "gw/{gateway_id}/{route}");
  EXPECT_EQ(u.replay, Replay::kOldestFirst);
  EXPECT_TRUE(c.routes.empty());
  EXPECT_TRUE(c.default_route.drop);
  EXPECT_FALSE(c.telemetry.http);
  EXPECT_EQ(c.listeners[0].max_connections, 1000u);
}

// gateway.cpu_affinity: a CPU or a list per part; only CPUs this process may
// use (the test's own mask, so it holds on any machine).
TEST(ConfigLoad, CpuAffinityTakesUsableCpusAndRefusesOthersWithTheirPosition) {
  const std::vector<int> usable = usable_cpus();
  ASSERT_FALSE(usable.empty());
  const std::string first = std::to_string(usable.front()), last = std::to_string(usable.back());
  const std::string rest = std::string(kMinimal).substr(std::string(kMinimal).find('\n') + 1);
  const LoadResult ok = load_string(
      "gateway:\n  id: gw1\n  cpu_affinity: {broker: " + first + ", store: [" + first + ", " + last + "]}\n" + rest,
      "t.yaml", "/");
  ASSERT_TRUE(ok.config) << ::testing::PrintToString(render(ok.diagnostics));
  const auto& ca = ok.config->gateway.cpu_affinity;
  EXPECT_EQ(ca.broker, std::vector<int>{usable.front()});
  EXPECT_EQ(ca.store, (std::vector<int>{usable.front(), usable.back()}));
  EXPECT_TRUE(ca.uplinks.empty()) << "a part left out is not pinned";

  const LoadResult bad = load_string("gateway:\n  id: gw1\n  cpu_affinity:\n    broker: [" + first +
                                         ", 1023]\n    store: []\n    uplinks: -1\n    writer: 0\n" + rest,
                                     "t.yaml", "/");
  EXPECT_FALSE(bad.config);
  EXPECT_EQ(render(bad.diagnostics),
            (std::vector<std::string>{
                "t.yaml:4:" + std::to_string(16 + first.size()) +
                    ": error: cpu_affinity.broker: CPU 1023 is not one this process may run on (" +
                    cpu_list(usable) + ")",
                "t.yaml:5:12: error: cpu_affinity.store: the list of CPUs is empty (leave the key out not to pin)",
                "t.yaml:6:14: error: cpu_affinity.uplinks: expected an integer from 0 to 1023, got '-1'",
                "t.yaml:7:5: error: unknown key 'writer' in cpu_affinity; allowed keys: broker, store, uplinks"}));
}

TEST(ConfigLoad, RelativePathsAndTls) {
  const std::string yaml =
      "gateway: {id: gw1, data_dir: state}\n"
      "listeners: [{name: l, bind: '[::1]:0'}]\n"
      "store: {path: q/queue.db, durability: os, max_bytes: 2GiB, on_full: evict}\n"
      "uplinks:\n"
      "  - name: c\n"
      "    host: h\n"
      "    tls: {ca_file: certs/ca.pem, cert: /abs/c.pem, key: k.pem}\n"
      "    mqtt_version: 3.1.1\n"
      "    backoff: {initial: 500ms, max: 2m, multiplier: 1.5}\n"
      "    breaker: {failures: 3, open_for: 5s}\n"
      "    publish_timeout: 10s\n"
      "    keepalive: 1m\n"
      "  - {name: d, host: h, tls: true, mqtt_version: 3}\n";
  const LoadResult r = load_string(yaml, "t.yaml", "/etc/gw");
  ASSERT_TRUE(r.config) << ::testing::PrintToString(render(r.diagnostics));
  const Config& c = *r.config;
  EXPECT_EQ(c.gateway.data_dir, fs::path("/etc/gw/state"));
  EXPECT_EQ(c.store.path, fs::path("/etc/gw/state/q/queue.db"));
  EXPECT_EQ(c.store.durability, Durability::kOs);
  EXPECT_EQ(c.store.max_bytes, 2ull << 30);
  EXPECT_EQ(c.store.on_full, FullPolicy::kEvict);
  EXPECT_EQ(c.listeners[0].host, "::1");
  EXPECT_EQ(c.listeners[0].port, 0);
  const UplinkConfig& u = c.uplinks[0];
  EXPECT_TRUE(u.tls.enabled);
  EXPECT_EQ(u.tls.ca_file, fs::path("/etc/gw/certs/ca.pem"));
  EXPECT_EQ(u.tls.cert, fs::path("/abs/c.pem"));
  EXPECT_EQ(u.tls.key, fs::path("/etc/gw/k.pem"));
  EXPECT_EQ(u.port, 8883);
  EXPECT_EQ(u.mqtt_version, MqttVersion::kV311);
  EXPECT_EQ(u.backoff.initial, milliseconds(500));
  EXPECT_EQ(u.backoff.max, seconds(120));
  EXPECT_DOUBLE_EQ(u.backoff.multiplier, 1.5);
  EXPECT_EQ(u.breaker.failures, 3u);
  EXPECT_EQ(u.breaker.open_for, seconds(5));
  EXPECT_EQ(u.publish_timeout, seconds(10));
  EXPECT_EQ(u.keepalive, seconds(60));
  EXPECT_TRUE(c.uplinks[1].tls.enabled);
  EXPECT_EQ(c.uplinks[1].port, 8883);
  EXPECT_EQ(c.uplinks[1].mqtt_version, MqttVersion::kV311);
}

TEST(ConfigLoad, Issue3BrokerSections) {
  const std::string yaml =
      "gateway: {id: gw1}\n"
      "listeners:\n"
      "  - {name: local, bind: 127.0.0.1:1883}\n"
      "  - name: plant\n"
      "    bind: 0.0.0.0:8883\n"
      "    tls: {cert: server.crt, key: server.key, client_ca: ca.crt, require_client_cert: true, "
      "cert_cn_as_username: true}\n"
      "    max_connections: 2000\n"
      "limits:\n"
      "  max_packet_size: 256KiB\n"
      "  max_keepalive: 60s\n"
      "  max_inflight: 20\n"
      "  max_queued_messages: 1000\n"
      "  max_topic_levels: 16\n"
      "  max_topic_length: 512\n"
      "  connect_timeout: 5s\n"
      "auth:\n"
      "  allow_anonymous: true\n"
      "  password_file: passwd\n"
      "acl:\n"
      "  - {who: {username: \"line-*\"}, allow: [publish], topics: [\"plant/%u/#\"]}\n"
      "  - {who: {anonymous: true}, deny: [subscribe], topics: [\"test/nosubscribe\"]}\n"
      "  - {who: any, allow: [publish, subscribe], topics: [\"#\"]}\n";
  const LoadResult r = load_string(yaml, "t.yaml", "/etc/gw");
  ASSERT_TRUE(r.config) << ::testing::PrintToString(render(r.diagnostics));
  // allow_anonymous: true does not reach the 0.0.0.0 listener: a warning says so.
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(render(r.diagnostics)[0],
            "t.yaml:17:20: warning: allow_anonymous: true applies to loopback listeners only; listener 'plant' "
            "still needs credentials (write 'force' to allow anonymous clients there)");
  const Config& c = *r.config;
  EXPECT_EQ(c.listeners[1].tls->cert, fs::path("/etc/gw/server.crt"));
  EXPECT_TRUE(c.listeners[1].tls->cert_cn_as_username);
  EXPECT_EQ(c.limits.max_packet_size, 256u * 1024);
  EXPECT_EQ(c.limits.max_keepalive, seconds(60));
  EXPECT_EQ(c.limits.max_topic_levels, 16u);
  EXPECT_EQ(c.limits.max_topic_length, 512u);
  EXPECT_EQ(c.limits.connect_timeout, seconds(5));
  EXPECT_EQ(c.auth.allow_anonymous, AllowAnonymous::kLoopbackOnly);
  EXPECT_EQ(c.auth.password_file, fs::path("/etc/gw/passwd"));
  ASSERT_TRUE(c.acl);
  ASSERT_EQ(c.acl->size(), 3u);
  EXPECT_EQ(*(*c.acl)[0].username, "line-*");
  EXPECT_TRUE((*c.acl)[0].allow && (*c.acl)[0].publish && !(*c.acl)[0].subscribe);
  EXPECT_EQ((*c.acl)[0].topics, std::vector<std::string>{"plant/%u/#"});
  EXPECT_TRUE(*(*c.acl)[1].anonymous);
  EXPECT_FALSE((*c.acl)[1].allow);
  EXPECT_TRUE((*c.acl)[2].who_any);
}

// A level without compression is no error (the file stays valid), but the
// operator learns it does nothing.
TEST(ConfigLoad, CompressionLevelWithoutCompressionIsAWarning) {
  const LoadResult r =
      load_string(std::string(kMinimal) + "  - {name: c2, host: h, compression: none, compression_level: 9}\n",
                  "t.yaml", "/etc/gw");
  ASSERT_TRUE(r.config);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(render(r.diagnostics)[0], "t.yaml:6:63: warning: compression_level: has no effect with compression: none");
  const LoadResult gzip =
      load_string(std::string(kMinimal) + "  - {name: c2, host: h, compression: gzip, compression_level: 9}\n",
                  "t.yaml", "/etc/gw");
  ASSERT_TRUE(gzip.config);
  EXPECT_TRUE(gzip.diagnostics.empty()) << ::testing::PrintToString(render(gzip.diagnostics));
}

TEST(ConfigLoad, BrokerDefaults) {
  const LoadResult r = load_string(kMinimal, "t.yaml", "/etc/gw");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->auth.allow_anonymous, AllowAnonymous::kLoopbackOnly);
  EXPECT_TRUE(r.config->auth.password_file.empty());
  EXPECT_FALSE(r.config->acl);  // no acl: authenticated clients may do anything
  EXPECT_EQ(r.config->limits.max_topic_levels, 16u);
  EXPECT_EQ(r.config->limits.connect_timeout, seconds(10));
  const LoadResult force = load_string(kMinimal + std::string("auth: {allow_anonymous: force}\n"), "t.yaml");
  ASSERT_TRUE(force.config);
  EXPECT_EQ(force.config->auth.allow_anonymous, AllowAnonymous::kForce);
}

TEST(ConfigLoad, RoutesOfIssue6Syntax) {
  const std::string yaml = std::string(kMinimal) +
                           "routes:\n"
                           "  - name: critical\n"
                           "    match:\n"
                           "      topic: [\"plant/{site}/+/alarm/#\", \"x/{site}\"]\n"
                           "      properties:\n"
                           "        severity: {in: [high, critical]}\n"
                           "        line: {glob: \"line-*\"}\n"
                           "        shift: {exists: true}\n"
                           "        temp: {gte: 80, lt: 200}\n"
                           "        source: plc\n"
                           "      not: {client_id: {glob: \"test-*\"}}\n"
                           "      any: [{qos: 1}, {retain: yes}]\n"
                           "      payload: {\"$.status\": [alarm, fault]}\n"
                           "    to: [cloud]\n"
                           "    priority: 9\n"
                           "    ttl: 7d\n"
                           "    topic: \"alarms/{gateway_id}/{site}\"\n"
                           "    set_properties: {gateway: \"{gateway_id}\"}\n"
                           "    remove_properties: [debug]\n"
                           "    continue: true\n"
                           "  - {name: mirror, match: {topic: \"plant/+/cmd/#\"}, republish: \"local/{topic[1]}\"}\n"
                           "default_route: {to: [cloud], priority: 1, ttl: 1d}\n";
  const LoadResult r = load_string(yaml, "t.yaml", "/");
  ASSERT_TRUE(r.config) << ::testing::PrintToString(render(r.diagnostics));
  const RouteConfig& c = r.config->routes[0];
  ASSERT_EQ(c.match.topics.size(), 2u);
  ASSERT_EQ(c.match.properties.size(), 5u);
  EXPECT_EQ(c.match.properties[0].test.in, (std::vector<std::string>{"high", "critical"}));
  EXPECT_EQ(c.match.properties[1].test.glob, "line-*");
  EXPECT_EQ(c.match.properties[2].test.exists, true);
  EXPECT_EQ(c.match.properties[3].test.gte, 80.0);
  EXPECT_EQ(c.match.properties[3].test.lt, 200.0);
  EXPECT_EQ(c.match.properties[4].test.equals, "plc");
  ASSERT_EQ(c.match.none.size(), 1u);
  EXPECT_EQ(c.match.none[0].client_id->glob, "test-*");
  ASSERT_EQ(c.match.any.size(), 2u);
  EXPECT_EQ(c.match.any[0].qos->equals, "1");
  EXPECT_EQ(c.match.any[1].retain->equals, "true");
  ASSERT_EQ(c.match.payload.size(), 1u);
  EXPECT_EQ(c.match.payload[0].path, "$.status");
  EXPECT_EQ(c.match.payload[0].test.in, (std::vector<std::string>{"alarm", "fault"}));
  EXPECT_EQ(c.priority, 9);
  EXPECT_EQ(c.ttl, seconds(7 * 86400));
  EXPECT_EQ(c.topic->text, "alarms/{gateway_id}/{site}");
  ASSERT_EQ(c.set_properties.size(), 1u);
  EXPECT_EQ(c.set_properties[0].first, "gateway");
  EXPECT_EQ(c.remove_properties, (std::vector<std::string>{"debug"}));
  EXPECT_TRUE(c.continue_matching);
  EXPECT_EQ(r.config->routes[1].republish->text, "local/{topic[1]}");
  const DefaultRouteConfig& d = r.config->default_route;
  EXPECT_FALSE(d.drop);
  ASSERT_EQ(d.to.size(), 1u);
  EXPECT_EQ(d.priority, 1);
  EXPECT_EQ(d.ttl, seconds(86400));
}

struct ErrorCase {
  const char* name;
  std::string yaml;
  std::string expected;  // the one diagnostic, rendered
};

class ConfigErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ConfigErrors, ReportsExactPositionAndMessage) {
  const ErrorCase& c = GetParam();
  const LoadResult r = load_string(c.yaml, "t.yaml", "/");
  EXPECT_FALSE(r.config);
  EXPECT_EQ(render(r.diagnostics), std::vector<std::string>{c.expected});
}

const std::string kBase = kMinimal;

INSTANTIATE_TEST_SUITE_P(
    Table, ConfigErrors,
    ::testing::Values(
        ErrorCase{"YamlSyntax", kBase + "routes: [\n",
                  "t.yaml:7:1: error: YAML syntax error: end of sequence flow not found"},
        ErrorCase{"UnknownTopLevelKey", kBase + "rotues: []\n",
                  "t.yaml:6:1: error: unknown key 'rotues' in the top level (did you mean 'routes'?); allowed keys: "
                  "gateway, listeners, limits, auth, acl, store, uplinks, routes, default_route, telemetry, log"},
        ErrorCase{"UnknownMatchKey", kBase + "routes:\n  - {name: r, to: cloud, match: {tpoic: a}}\n",
                  "t.yaml:7:34: error: unknown key 'tpoic' in match (did you mean 'topic'?); allowed keys: topic, "
                  "properties, client_id, username, cert_cn, qos, retain, content_type, payload_format, payload, all, "
                  "any, not"},
        ErrorCase{"LogUnknownModule", kBase + "log:\n  modules: {broker: debug, uplnk: warn}\n",
                  "t.yaml:7:28: error: modules: unknown module 'uplnk' (did you mean 'uplink'?); modules: app, broker, "
                  "rules, store, uplink, telemetry"},
        ErrorCase{"LogBadModuleLevel", kBase + "log:\n  modules:\n    store: verbose\n",
                  "t.yaml:8:12: error: store: expected a log level (trace, debug, info, warn, error, critical, off), "
                  "got 'verbose'"},
        ErrorCase{"LogBadLevel", kBase + "log: {level: dbug}\n",
                  "t.yaml:6:14: error: level: expected a log level (trace, debug, info, warn, error, critical, off), "
                  "got 'dbug' (did you mean 'debug'?)"},
        ErrorCase{"LogUnknownKey", kBase + "log: {level: info, max_file: 3}\n",
                  "t.yaml:6:20: error: unknown key 'max_file' in log (did you mean 'max_files'?); allowed keys: "
                  "level, file, max_size, max_files, modules, repeats"},
        ErrorCase{"LogTinyMaxSize", kBase + "log: {file: g.log, max_size: 100}\n",
                  "t.yaml:6:30: error: max_size: invalid size '100' (must be at least 4096 bytes): expected bytes or "
                  "a whole number with KiB, MiB or GiB, e.g. 65536, 64KiB"},
        ErrorCase{"AclRuleNeedsAllowOrDeny", kBase + "acl:\n  - {who: any, topics: '#'}\n",
                  "t.yaml:7:5: error: acl rule: give exactly one of allow: or deny:"},
        ErrorCase{"AclBadAction", kBase + "acl: [{who: any, allow: [publish, read], topics: '#'}]\n",
                  "t.yaml:6:35: error: allow: expected publish or subscribe, got 'read'"},
        ErrorCase{"AclBadTopic", kBase + "acl: [{who: any, deny: publish, topics: ['a/#/b']}]\n",
                  "t.yaml:6:42: error: topics: 'a/#/b' is not a topic filter: '#' must be the whole last level"},
        ErrorCase{"AclEmptyWho", kBase + "acl: [{who: {}, deny: publish, topics: '#'}]\n",
                  "t.yaml:6:13: error: who: name at least one of username, client_id, cert_cn, anonymous (or write "
                  "who: any)"},
        ErrorCase{"AllowAnonymousValue", kBase + "auth: {allow_anonymous: maybe}\n",
                  "t.yaml:6:25: error: allow_anonymous: expected true, false or force, got 'maybe'"},
        ErrorCase{"LimitsKeepalive", kBase + "limits: {max_keepalive: 0s}\n",
                  "t.yaml:6:25: error: max_keepalive: expected 1s to 65535s, got '0s'"},
        ErrorCase{"DuplicateKey", kBase + "store: {path: a.db, path: b.db}\n",
                  "t.yaml:6:21: error: duplicate key 'path' (first at line 6)"},
        ErrorCase{"WrongTypeInteger", kBase + "store: {group_max_messages: many}\n",
                  "t.yaml:6:29: error: group_max_messages: expected an integer from 1 to 1000000, got 'many'"},
        ErrorCase{"WrongTypeMap", kBase + "store: [a]\n", "t.yaml:6:8: error: store: expected a map, got a list"},
        ErrorCase{"WrongTypeBool", kBase + "routes: [{name: r, to: cloud, continue: maybe}]\n",
                  "t.yaml:6:41: error: continue: expected true or false, got 'maybe'"},
        ErrorCase{"BadEnum", kBase + "store: {durability: fsnyc}\n",
                  "t.yaml:6:21: error: durability: expected one of fsync, os, got 'fsnyc' (did you mean 'fsync'?)"},
        ErrorCase{"BadDuration", kBase + "store: {group_window: 5 parsecs}\n",
                  "t.yaml:6:23: error: group_window: invalid duration '5 parsecs' (unknown unit 'parsecs'): expected "
                  "a whole number with a unit ms, s, m, h or d, e.g. 200ms, 5s, 1h30m"},
        ErrorCase{"DurationWithoutUnit", kBase + "store: {group_window: 5}\n",
                  "t.yaml:6:23: error: group_window: invalid duration '5' (missing unit): expected a whole number "
                  "with a unit ms, s, m, h or d, e.g. 200ms, 5s, 1h30m"},
        ErrorCase{"BadSize", kBase + "store: {max_bytes: 64KB}\n",
                  "t.yaml:6:20: error: max_bytes: invalid size '64KB' (unknown unit 'KB' (did you mean 'KiB'?)): "
                  "expected bytes or a whole number with KiB, MiB or GiB, e.g. 65536, 64KiB"},
        ErrorCase{"BadBindNoPort",
                  "gateway: {id: gw1}\nlisteners:\n  - name: l\n    bind: 127.0.0.1\n",
                  "t.yaml:4:11: error: bind: invalid address '127.0.0.1': missing ':PORT' (expected HOST:PORT, e.g. "
                  "127.0.0.1:1883 or [::1]:1883)"},
        ErrorCase{"BadBindPort", "gateway: {id: gw1}\nlisteners: [{name: l, bind: 'h:99999'}]\n",
                  "t.yaml:2:29: error: bind: invalid address 'h:99999': port must be a number from 0 to 65535 "
                  "(expected HOST:PORT, e.g. 127.0.0.1:1883 or [::1]:1883)"},
        ErrorCase{"MissingRequiredKey", "gateway: {id: gw1}\nlisteners: [{name: l}]\n",
                  "t.yaml:2:13: error: missing required key 'bind' in listener"},
        ErrorCase{"MissingSection", "gateway: {id: gw1}\n",
                  "t.yaml:1:1: error: missing required key 'listeners' in the top level"},
        ErrorCase{"DuplicateUplinkName", kBase + "  - {name: cloud, host: other}\n",
                  "t.yaml:6:12: error: duplicate uplink name 'cloud' (first at line 5)"},
        ErrorCase{"DuplicateRouteName", kBase + "routes:\n  - {name: r, to: cloud}\n  - {name: r, to: cloud}\n",
                  "t.yaml:8:12: error: duplicate route name 'r' (first at line 7)"},
        ErrorCase{"UnknownUplink", kBase + "routes:\n  - name: r\n    to: [cloud, clod]\n",
                  "t.yaml:8:17: error: route 'r' sends to unknown uplink 'clod' (did you mean 'cloud'?); uplinks: "
                  "cloud"},
        ErrorCase{"UnknownUplinkInDefault", kBase + "default_route: {to: [aws]}\n",
                  "t.yaml:6:22: error: default_route sends to unknown uplink 'aws'; uplinks: cloud"},
        ErrorCase{"BadDefaultRoute", kBase + "default_route: forward\n",
                  "t.yaml:6:16: error: default_route: expected 'drop' or a map {to: [...], priority, ttl}, got "
                  "'forward'"},
        ErrorCase{"PriorityOutOfRange", kBase + "routes: [{name: r, to: cloud, priority: 10}]\n",
                  "t.yaml:6:41: error: priority: expected an integer from 0 to 9, got '10'"},
        ErrorCase{"RouteWithoutAction", kBase + "routes:\n  - name: r\n    match: {topic: a}\n",
                  "t.yaml:7:5: error: route 'r' has no action: give to: [uplink, ...], republish: TOPIC or drop: "
                  "true"},
        ErrorCase{"DropWithTo", kBase + "routes: [{name: r, drop: true, to: cloud}]\n",
                  "t.yaml:6:20: error: route 'r': drop: true cannot be combined with to, topic, republish or "
                  "properties"},
        ErrorCase{"BadName", kBase + "routes: [{name: 'a b', to: cloud}]\n",
                  "t.yaml:6:17: error: name: 'a b' is not a valid name (letters, digits, '-', '_', '.'; not empty)"},
        ErrorCase{"UnknownUplinkKeyForType", kBase + "  - {name: c2, host: h, device_id: x}\n",
                  "t.yaml:6:25: error: unknown key 'device_id' in uplink (type mqtt); allowed keys: name, type, "
                  "host, port, topic, batch, compression, compression_level, mqtt_version, tls, keepalive, backoff, breaker, "
                  "publish_timeout, replay, downlink, limits, client_id, username, password"},
        ErrorCase{"CompressionLevel", kBase + "  - {name: c2, host: h, compression_level: 0}\n",
                  "t.yaml:6:44: error: compression_level: expected an integer from 1 to 9, got '0'"},
        ErrorCase{"BreakerFailures", kBase + "  - {name: c2, host: h, breaker: {failures: 0}}\n",
                  "t.yaml:6:45: error: failures: must be a whole number from 1 to 1000, got '0'"},
        ErrorCase{"PublishTimeoutTooShort", kBase + "  - {name: c2, host: h, publish_timeout: 10ms}\n",
                  "t.yaml:6:25: error: publish_timeout: must be at least 1s"},
        ErrorCase{"UplinkTopicPlaceholder", kBase + "  - {name: c2, host: h, topic: 'gw/{gw}'}\n",
                  "t.yaml:6:32: error: topic: unknown placeholder '{gw}' in uplink topic; allowed: {gateway_id}, "
                  "{route}, {uplink}"},
        ErrorCase{"UplinkLimitsZero", kBase + "  - {name: c2, host: h, limits: {publishes_per_second: 0}}\n",
                  "t.yaml:6:56: error: publishes_per_second: expected an integer from 1 to 1000000, got '0'"},
        ErrorCase{"UplinkLimitsUnknownKey", kBase + "  - {name: c2, host: h, limits: {publishes_per_sec: 5}}\n",
                  "t.yaml:6:34: error: unknown key 'publishes_per_sec' in limits (did you mean "
                  "'publishes_per_second'?); allowed keys: publishes_per_second, bytes_per_second"},
        ErrorCase{"BackoffOrder", kBase + "  - {name: c2, host: h, backoff: {initial: 2m, max: 1m}}\n",
                  "t.yaml:6:34: error: backoff: initial must not exceed max"},
        ErrorCase{"QosDomain", kBase + "routes: [{name: r, to: cloud, match: {qos: 3}}]\n",
                  "t.yaml:6:44: error: qos: QoS is 0, 1 or 2, got '3'"},
        ErrorCase{"TtlNotWholeSeconds", kBase + "routes: [{name: r, to: cloud, ttl: 1500ms}]\n",
                  "t.yaml:6:36: error: ttl: must be a whole number of seconds, got '1500ms'"}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) { return std::string(info.param.name); });

TEST(ConfigLoad, UplinkLimitsKeepTheirPositionsForTheAppsQuotaCheck) {
  const std::string yaml = kBase +
                           "  - name: hub\n"                                   // line 6
                           "    type: azure_iot_hub\n"                         // line 7
                           "    host: h.azure-devices.net\n"                   // line 8
                           "    device_id: d1\n"                               // line 9
                           "    auth: {sas_key: a2V5}\n"                       // line 10
                           "    limits: {publishes_per_second: 20, bytes_per_second: 64KiB}\n";  // line 11
  const LoadResult r = load_string(yaml, "t.yaml", "/");
  ASSERT_TRUE(r.config) << render(r.diagnostics).front();
  EXPECT_EQ(r.config->uplinks[0].limits.publishes_per_second, 0u) << "default: the profile's own rate";
  const UplinkLimitsConfig& l = r.config->uplinks[1].limits;
  EXPECT_EQ(l.publishes_per_second, 20u);
  EXPECT_EQ(l.bytes_per_second, 64u * 1024);
  EXPECT_EQ(l.publishes_pos.to_string(), "t.yaml:11:36");
  EXPECT_EQ(l.bytes_pos.to_string(), "t.yaml:11:58");
}

TEST(ConfigLoad, ReportsEveryProblemInOnePassInFileOrder) {
  const LoadResult r = load_file(repo_path("tests/fixtures/config/many_errors.yaml").string());
  EXPECT_FALSE(r.config);
  std::vector<std::string> got;
  for (const auto& d : r.diagnostics) {
    got.push_back(std::to_string(d.pos.line) + ":" + std::to_string(d.pos.column) + " " +
                  d.message.substr(0, d.message.find(':')));
  }
  EXPECT_EQ(got, (std::vector<std::string>{
                     "6:11 bind",                                             // no port
                     "7:11 duplicate listener name 'local' (first at line 5)",  // repeated name
                     "10:15 durability",                                      // fsnyc
                     "11:17 group_window",                                    // 5 msec
                     "15:11 port",                                            // http
                     "16:24 max_bytes",                                       // 64KB
                     "16:30 unknown key 'lingr' in batch (did you mean 'linger'?); allowed keys",
                     "19:13 unknown key 'tpoic' in match (did you mean 'topic'?); allowed keys",
                     "20:10 route 'alarms' sends to unknown uplink 'clod' (did you mean 'cloud'?); uplinks",
                 }));
  for (const auto& d : r.diagnostics) EXPECT_EQ(d.pos.file, r.diagnostics[0].pos.file);
}

TEST(ConfigLoad, LogSection) {
  const LoadResult defaults = load_string(kMinimal, "t.yaml", "/etc/gw");
  ASSERT_TRUE(defaults.config);
  const LogConfig& d = defaults.config->log;
  EXPECT_EQ(d.level, "info");
  EXPECT_TRUE(d.file.empty());  // stderr
  EXPECT_EQ(d.max_size, 10u * 1024 * 1024);
  EXPECT_EQ(d.max_files, 5u);
  EXPECT_TRUE(d.modules.empty());
  EXPECT_EQ(d.repeat_max_lines, 10u);
  EXPECT_EQ(d.repeat_window, milliseconds(60000));

  const LoadResult r = load_string(kMinimal + std::string("log:\n"
                                                          "  level: warn\n"
                                                          "  file: logs/gateway.log\n"
                                                          "  max_size: 1MiB\n"
                                                          "  max_files: 3\n"
                                                          "  modules: {broker: debug, uplink: error}\n"
                                                          "  repeats: {max_lines: 0, window: 30s}\n"),
                                   "t.yaml", "/etc/gw");
  ASSERT_TRUE(r.config) << ::testing::PrintToString(render(r.diagnostics));
  const LogConfig& l = r.config->log;
  EXPECT_EQ(l.level, "warn");
  EXPECT_EQ(l.file, fs::path("/etc/gw/logs/gateway.log"));
  EXPECT_EQ(l.max_size, 1024u * 1024);
  EXPECT_EQ(l.max_files, 3u);
  EXPECT_EQ(l.modules, (std::vector<std::pair<std::string, std::string>>{{"broker", "debug"}, {"uplink", "error"}}));
  EXPECT_EQ(l.repeat_max_lines, 0u);
  EXPECT_EQ(l.repeat_window, milliseconds(30000));
  EXPECT_EQ(l.pos.line, 7);
}

TEST(ConfigLoad, MissingFileIsOneDiagnostic) {
  const LoadResult r = load_file("/nonexistent/gateway.yaml");
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].to_string(),
            "/nonexistent/gateway.yaml:0:0: error: cannot read the config file: No such file or directory");
}

TEST(ConfigLoad, EmptyFile) {
  const LoadResult r = load_string("", "t.yaml");
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].pos.line, 1);
}

struct DurationCase {
  const char* text;
  int64_t ms;  // -1 = invalid
};

TEST(ConfigParse, Durations) {
  const DurationCase cases[] = {
      {"200ms", 200},     {"5s", 5000},    {"2m", 120000}, {"1h", 3600000}, {"7d", 604800000},
      {"1h30m", 5400000}, {"0s", 0},       {"5 s", 5000},  {"5", -1},       {"", -1},
      {"ms", -1},         {"1.5s", -1},    {"5sec", -1},   {"-1s", -1},     {"1w", -1},
      {"99999999999999999999s", -1},
  };
  for (const auto& c : cases) {
    const auto d = parse_duration(c.text);
    if (c.ms < 0) {
      EXPECT_FALSE(d.is_ok()) << c.text;
    } else {
      ASSERT_TRUE(d.is_ok()) << c.text << ": " << d.status().to_string();
      EXPECT_EQ(d->count(), c.ms) << c.text;
    }
  }
}

struct SizeCase {
  const char* text;
  int64_t bytes;  // -1 = invalid
};

TEST(ConfigParse, Sizes) {
  const SizeCase cases[] = {
      {"0", 0},          {"65536", 65536},     {"64KiB", 65536}, {"1 MiB", 1048576}, {"2GiB", 2147483648},
      {"10B", 10},       {"64KB", -1},         {"1MB", -1},      {"KiB", -1},        {"1.5MiB", -1},
      {"-1", -1},        {"1TiB", -1},         {"", -1},
  };
  for (const auto& c : cases) {
    const auto s = parse_size(c.text);
    if (c.bytes < 0) {
      EXPECT_FALSE(s.is_ok()) << c.text;
    } else {
      ASSERT_TRUE(s.is_ok()) << c.text << ": " << s.status().to_string();
      EXPECT_EQ(*s, static_cast<uint64_t>(c.bytes)) << c.text;
    }
  }
}

TEST(ConfigParse, HostPort) {
  EXPECT_EQ(*parse_host_port("127.0.0.1:1883"), std::make_pair(std::string("127.0.0.1"), uint16_t{1883}));
  EXPECT_EQ(*parse_host_port("[::1]:8883"), std::make_pair(std::string("::1"), uint16_t{8883}));
  EXPECT_EQ(*parse_host_port("localhost:0"), std::make_pair(std::string("localhost"), uint16_t{0}));
  for (const char* bad : {"127.0.0.1", ":1883", "h:", "h:x", "h:65536", "::1:1883", "[::1]", "[h]:1", "a b:1"}) {
    EXPECT_FALSE(parse_host_port(bad).is_ok()) << bad;
  }
}

}  // namespace
}  // namespace gw::config
