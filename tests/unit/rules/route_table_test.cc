#include "gateway/rules/route_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <new>
#include <string>
#include <vector>

#include "tests/support/process.h"

// The replacement operator new below pairs with free(); GCC cannot see that
// through inlining and warns.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

// Counts heap allocations so tests can assert the hot path makes none.
// AddressSanitizer owns operator new itself, so the count is off there.
namespace {
std::atomic<long> g_allocations{0};
}  // namespace
#ifndef __SANITIZE_ADDRESS__
#define GW_COUNT_ALLOCATIONS 1
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif

namespace gw::rules {
namespace {

using std::chrono::seconds;

// The repository file `relative`: from GW_SOURCE_DIR when ctest sets it,
// else from the source dir this test was configured from.
std::filesystem::path repo_path(const std::string& relative) {
  if (std::getenv("GW_SOURCE_DIR") != nullptr) return testing::source_path(relative);
  return std::filesystem::path(GW_TEST_SOURCE_DIR) / relative;
}

std::string render(const std::vector<Diagnostic>& diags) {
  std::string out;
  for (const auto& d : diags) out += d.to_string() + "\n";
  return out;
}

constexpr const char* kHeader =
    "gateway: {id: gw1, data_dir: /data}\n"            // 1
    "listeners: [{name: l, bind: 127.0.0.1:1883}]\n"   // 2
    "uplinks:\n"                                       // 3
    "  - {name: cloud, host: h}\n"                     // 4
    "  - {name: aws, host: h}\n"                       // 5
    "  - {name: azure, host: h}\n";                    // 6

std::shared_ptr<const RouteTable> compile_yaml(const std::string& routes, std::vector<Diagnostic>* diags = nullptr) {
  const config::LoadResult r = config::load_string(std::string(kHeader) + routes, "t.yaml", "/");
  EXPECT_TRUE(r.config) << render(r.diagnostics);
  if (!r.config) return nullptr;
  std::vector<Diagnostic> local;
  auto table = RouteTable::compile(*r.config, diags != nullptr ? diags : &local);
  EXPECT_TRUE(table.is_ok()) << render(diags != nullptr ? *diags : local);
  return table.is_ok() ? *table : nullptr;
}

Message message(std::string topic, std::vector<UserProperty> props = {}) {
  Message m;
  m.topic = std::move(topic);
  m.properties.user = std::move(props);
  m.qos = 1;
  m.client_id = "dev-1";
  m.protocol_version = 5;
  return m;
}

// "route>uplink p=N ttl=N" per delivery.
std::vector<std::string> deliveries(const Decision& d) {
  std::vector<std::string> out;
  for (const auto& x : d.deliveries) {
    out.push_back(std::string(x.route) + ">" + std::string(x.uplink) + " p=" + std::to_string(x.priority) +
                  " ttl=" + std::to_string(x.ttl.count()));
  }
  return out;
}
std::vector<std::string> matched(const Decision& d) {
  return {d.matched_names.begin(), d.matched_names.end()};
}

// ------------------------------------------------------------ issue 2 table

constexpr const char* kIssue2Routes =
    "routes:\n"
    "  - name: debug-noise\n"
    "    match: {properties: {class: debug}}\n"
    "    drop: true\n"
    "  - name: alarms\n"
    "    match:\n"
    "      topic: [\"plant/+/alarm/#\", \"legacy/alarm\"]\n"
    "      properties: {severity: high}\n"
    "    to: [cloud, aws]\n"
    "    priority: 9\n"
    "    ttl: 7d\n"
    "  - name: audit\n"
    "    match: {topic: \"plant/+/audit/#\"}\n"
    "    to: azure\n"
    "    continue: true\n"
    "  - name: telemetry\n"
    "    match: {topic: \"plant/#\"}\n"
    "    to: cloud\n"
    "    priority: 2\n"
    "default_route: {to: [aws], priority: 1, ttl: 1d}\n";

struct RouteCase {
  const char* name;
  Message msg;
  std::vector<std::string> matched;
  std::vector<std::string> deliveries;
  bool dropped = false;
  bool used_default = false;
};

TEST(RouteTable, Issue2RouteMatchingTable) {
  auto table = compile_yaml(kIssue2Routes);
  ASSERT_TRUE(table);
  const std::vector<RouteCase> cases = {
      {"filter and property", message("plant/a/alarm/x", {{"severity", "high"}}), {"alarms"},
       {"alarms>cloud p=9 ttl=604800", "alarms>aws p=9 ttl=604800"}},
      {"property differs: first match is the next route", message("plant/a/alarm/x", {{"severity", "low"}}),
       {"telemetry"}, {"telemetry>cloud p=2 ttl=0"}},
      {"property missing", message("plant/a/alarm/x"), {"telemetry"}, {"telemetry>cloud p=2 ttl=0"}},
      {"repeated key: any value may match", message("plant/a/alarm/x", {{"severity", "low"}, {"severity", "high"}}),
       {"alarms"}, {"alarms>cloud p=9 ttl=604800", "alarms>aws p=9 ttl=604800"}},
      {"property value is case sensitive", message("plant/a/alarm/x", {{"severity", "HIGH"}}), {"telemetry"},
       {"telemetry>cloud p=2 ttl=0"}},
      {"second filter of the list", message("legacy/alarm", {{"severity", "high"}}), {"alarms"},
       {"alarms>cloud p=9 ttl=604800", "alarms>aws p=9 ttl=604800"}},
      {"continue lets later routes see it", message("plant/b/audit/1"), {"audit", "telemetry"},
       {"audit>azure p=5 ttl=0", "telemetry>cloud p=2 ttl=0"}},
      {"# matches the parent level", message("plant"), {"telemetry"}, {"telemetry>cloud p=2 ttl=0"}},
      {"no route: default forwards", message("other/topic"), {}, {"default_route>aws p=1 ttl=86400"}, false, true},
      {"wildcards skip $ topics", message("$SYS/plant"), {}, {"default_route>aws p=1 ttl=86400"}, false, true},
      {"drop route wins first", message("plant/a/alarm/x", {{"class", "debug"}, {"severity", "high"}}),
       {"debug-noise"}, {}, true},
  };
  Decision d;
  for (const auto& c : cases) {
    table->evaluate(c.msg, d);
    EXPECT_EQ(matched(d), c.matched) << c.name;
    EXPECT_EQ(deliveries(d), c.deliveries) << c.name;
    EXPECT_EQ(d.dropped, c.dropped) << c.name;
    EXPECT_EQ(d.used_default, c.used_default) << c.name;
    for (const auto& x : d.deliveries) {
      EXPECT_TRUE(x.cloud_topic.empty()) << c.name;
      EXPECT_FALSE(x.properties_rewritten) << c.name;
      EXPECT_EQ(&Decision::properties_of(x, c.msg), &c.msg.properties.user) << c.name;
    }
  }
}

TEST(RouteTable, DefaultDropAndDropAfterContinue) {
  auto table = compile_yaml(
      "routes:\n"
      "  - {name: tap, match: {topic: \"a/#\"}, to: [cloud, aws], continue: true}\n"
      "  - {name: stop, match: {topic: \"a/b\"}, drop: true}\n"
      "  - {name: also, match: {topic: \"a/#\"}, to: azure}\n"
      "default_route: drop\n");
  ASSERT_TRUE(table);
  Decision d;
  table->evaluate(message("x/y"), d);
  EXPECT_TRUE(d.dropped);
  EXPECT_TRUE(d.used_default);
  EXPECT_TRUE(d.deliveries.empty());
  EXPECT_TRUE(d.matched.empty());

  // A drop ends evaluation; what earlier continue routes produced stays.
  table->evaluate(message("a/b"), d);
  EXPECT_EQ(matched(d), (std::vector<std::string>{"tap", "stop"}));
  EXPECT_EQ(deliveries(d), (std::vector<std::string>{"tap>cloud p=5 ttl=0", "tap>aws p=5 ttl=0"}));
  EXPECT_TRUE(d.dropped);
  EXPECT_FALSE(d.used_default);

  // Two routes to one uplink: one delivery per (route, uplink).
  table->evaluate(message("a/c"), d);
  EXPECT_EQ(matched(d), (std::vector<std::string>{"tap", "also"}));
  EXPECT_EQ(deliveries(d),
            (std::vector<std::string>{"tap>cloud p=5 ttl=0", "tap>aws p=5 ttl=0", "also>azure p=5 ttl=0"}));
  EXPECT_FALSE(d.dropped);
  EXPECT_EQ(d.matched, (std::vector<uint32_t>{0, 2}));
  EXPECT_EQ(table->route_count(), 3u);
  EXPECT_EQ(table->route_name(1), "stop");
}

TEST(RouteTable, RouteWithoutMatchCatchesEverything) {
  auto table = compile_yaml("routes: [{name: all, to: cloud}]\ndefault_route: {to: [aws]}\n");
  ASSERT_TRUE(table);
  Decision d;
  table->evaluate(message("$SYS/x"), d);
  EXPECT_EQ(deliveries(d), (std::vector<std::string>{"all>cloud p=5 ttl=0"}));
}

TEST(RouteTable, TrieKeepsFileOrderAcrossTopicAndTopiclessRoutes) {
  auto table = compile_yaml(
      "routes:\n"
      "  - {name: t0, match: {topic: \"a/#\"}, to: cloud, continue: true}\n"
      "  - {name: t1, match: {properties: {k: v}}, to: cloud, continue: true}\n"
      "  - {name: t2, match: {topic: [x/y, \"a/+\"]}, to: cloud, continue: true}\n"
      "  - {name: t3, match: {topic: \"+/b\", any: [{topic: \"a/#\"}]}, to: cloud, continue: true}\n"
      "  - {name: t4, to: cloud, continue: true}\n"
      "  - {name: t5, match: {topic: [\"{s}/b\", \"a/{s}\"]}, to: aws, topic: \"s/{s}\"}\n");
  ASSERT_TRUE(table);
  Decision d;
  table->evaluate(message("a/b", {{"k", "v"}}), d);
  EXPECT_EQ(matched(d), (std::vector<std::string>{"t0", "t1", "t2", "t3", "t4", "t5"}));
  // Both filters of t5 match; the captures come from the first one.
  EXPECT_EQ(d.deliveries.back().cloud_topic, "s/a");
  table->evaluate(message("a/c"), d);
  EXPECT_EQ(matched(d), (std::vector<std::string>{"t0", "t2", "t4", "t5"}));
  EXPECT_EQ(d.deliveries.back().cloud_topic, "s/c");
  table->evaluate(message("z/b"), d);  // t3's nested topic condition fails
  EXPECT_EQ(matched(d), (std::vector<std::string>{"t4", "t5"}));
  EXPECT_EQ(d.deliveries.back().cloud_topic, "s/z");
}

// ------------------------------------------------------------ issue 6 conditions

struct ConditionCase {
  const char* match;  // YAML flow map for `match:`
  Message msg;
  bool expected;
};

Message with(Message m, auto&& f) {
  f(m);
  return m;
}

TEST(RouteTable, ConditionTable) {
  const Message alarm = message("plant/s1/l2/alarm/hot", {{"severity", "critical"}, {"line", "line-3"}});
  const std::vector<ConditionCase> cases = {
      {"{properties: {severity: {in: [high, critical]}}}", alarm, true},
      {"{properties: {severity: [high, critical]}}", alarm, true},
      {"{properties: {severity: {in: [high]}}}", alarm, false},
      {"{properties: {severity: {equals: critical}}}", alarm, true},
      {"{properties: {line: {glob: \"line-*\"}}}", alarm, true},
      {"{properties: {line: {glob: \"Line-*\"}}}", alarm, false},
      {"{properties: {line: {glob: \"line-?\"}}}", alarm, true},
      {"{properties: {line: {glob: \"l*-*3\"}}}", alarm, true},
      {"{properties: {shift: {exists: true}}}", alarm, false},
      {"{properties: {shift: {exists: false}}}", alarm, true},
      {"{properties: {severity: {exists: false}}}", alarm, false},
      {"{properties: {temp: {gte: 80}}}", message("t", {{"temp", "80"}}), true},
      {"{properties: {temp: {gte: 80}}}", message("t", {{"temp", "79.5"}}), false},
      {"{properties: {temp: {gt: 80}}}", message("t", {{"temp", "80"}}), false},
      {"{properties: {temp: {lt: 0}}}", message("t", {{"temp", "-3.5"}}), true},
      {"{properties: {temp: {lte: 10, gte: 5}}}", message("t", {{"temp", "11"}, {"temp", "7"}}), true},
      {"{properties: {temp: {gte: 80}}}", message("t", {{"temp", "hot"}}), false},
      {"{properties: {code: {regex: \"^E[0-9]{3}$\"}}}", message("t", {{"code", "E123"}}), true},
      {"{properties: {code: {regex: \"^E[0-9]{3}$\"}}}", message("t", {{"code", "E1234"}}), false},
      {"{properties: {code: {regex: \"[0-9]\"}}}", message("t", {{"code", "xx7xx"}}), true},
      {"{client_id: dev-1}", alarm, true},
      {"{client_id: {glob: \"test-*\"}}", alarm, false},
      {"{not: {client_id: {glob: \"test-*\"}}}", alarm, true},
      {"{not: [{qos: 0}, {client_id: dev-1}]}", alarm, false},
      {"{username: {exists: false}}", alarm, true},
      {"{cert_cn: {glob: \"plc-*.plant.local\"}}", alarm, false},
      {"{cert_cn: {glob: \"plc-*.plant.local\"}}",
       with(alarm, [](Message& m) { m.cert_cn = "plc-07.plant.local"; }), true},
      {"{cert_cn: {glob: \"plc-*.plant.local\"}}", with(alarm, [](Message& m) { m.cert_cn = "hmi-1.plant.local"; }),
       false},
      {"{cert_cn: {exists: false}}", alarm, true},
      {"{cert_cn: {exists: true}}", with(alarm, [](Message& m) { m.cert_cn = "x"; }), true},
      {"{username: ops}", with(alarm, [](Message& m) { m.username = "ops"; }), true},
      {"{qos: 1}", alarm, true},
      {"{qos: [0, 2]}", alarm, false},
      {"{retain: true}", alarm, false},
      {"{retain: true}", with(alarm, [](Message& m) { m.retain = true; }), true},
      {"{any: [{qos: 2}, {retain: true}]}", alarm, false},
      {"{any: [{qos: 1}, {retain: true}]}", alarm, true},
      {"{all: [{topic: \"plant/#\"}, {properties: {line: line-3}}]}", alarm, true},
      {"{all: [{topic: \"plant/#\"}, {properties: {line: line-4}}]}", alarm, false},
      {"{content_type: application/json}", alarm, false},
      {"{content_type: application/json}",
       with(alarm, [](Message& m) { m.properties.content_type = "application/json"; }), true},
      {"{content_type: {exists: false}}", alarm, true},
      {"{payload_format: 0}", alarm, true},
      {"{payload_format: 1}", with(alarm, [](Message& m) { m.properties.payload_format = 1; }), true},
      {"{payload: {\"$.status\": {in: [alarm, fault]}}}",
       with(alarm, [](Message& m) { m.payload = R"({"status":"fault"})"; }), true},
      {"{payload: {\"$.status\": {in: [alarm, fault]}}}",
       with(alarm, [](Message& m) { m.payload = R"({"status":"ok"})"; }), false},
      {"{payload: {\"$.status\": alarm}}", with(alarm, [](Message& m) { m.payload = "not json"; }), false},
      {"{payload: {\"$.a.b[1]\": {gte: 3}}}", with(alarm, [](Message& m) { m.payload = R"({"a":{"b":[9,3]}})"; }),
       true},
      {"{payload: {\"$.a.b[2]\": {exists: false}}}",
       with(alarm, [](Message& m) { m.payload = R"({"a":{"b":[9,3]}})"; }), true},
      {"{payload: {\"$.on\": true}}", with(alarm, [](Message& m) { m.payload = R"({"on":true})"; }), true},
      {"{topic: \"plant/{site}/+/alarm/#\"}", alarm, true},
      {"{topic: \"plant/{site}/+/cmd/#\"}", alarm, false},
  };
  for (const auto& c : cases) {
    auto table = compile_yaml(std::string("routes: [{name: r, to: cloud, match: ") + c.match + "}]\n");
    ASSERT_TRUE(table) << c.match;
    Decision d;
    table->evaluate(c.msg, d);
    EXPECT_EQ(!d.matched.empty(), c.expected) << c.match << " on " << c.msg.topic;
  }
}

TEST(RouteTable, TemplatesAndPropertyRewrites) {
  auto table = compile_yaml(
      "routes:\n"
      "  - name: critical\n"
      "    match: {topic: [\"plant/{site}/+/alarm/#\", \"site/{site}/alarm\"]}\n"
      "    to: [aws, azure]\n"
      "    topic: \"alarms/{gateway_id}/{site}/{topic[3]}/{property.line}/{client_id}/{route}\"\n"
      "    set_properties: {gateway: \"{gateway_id}\", origin: \"{client_id}\", line: \"L-{property.line}\"}\n"
      "    remove_properties: [debug]\n"
      "    republish: \"local/mirror/{site}\"\n");
  ASSERT_TRUE(table);
  const Message m = message("plant/s1/l2/alarm/hot",
                            {{"debug", "1"}, {"line", "7"}, {"origin", "x"}, {"line", "8"}, {"debug", "2"}});
  Decision d;
  table->evaluate(m, d);
  ASSERT_EQ(d.deliveries.size(), 2u);
  for (const auto& x : d.deliveries) {
    EXPECT_EQ(x.cloud_topic, "alarms/gw1/s1/alarm/7/dev-1/critical");
    ASSERT_TRUE(x.properties_rewritten);
    EXPECT_EQ(x.properties, (std::vector<UserProperty>{{"line", "L-7"}, {"origin", "dev-1"}, {"gateway", "gw1"}}));
  }
  ASSERT_EQ(d.republish.size(), 1u);
  EXPECT_EQ(d.republish[0].topic, "local/mirror/s1");
  EXPECT_EQ(d.republish[0].route, "critical");

  // The capture sits at another level in the second filter.
  table->evaluate(message("site/s9/alarm", {{"line", "1"}}), d);
  ASSERT_EQ(d.deliveries.size(), 2u);
  EXPECT_EQ(d.deliveries[0].cloud_topic, "alarms/gw1/s9//1/dev-1/critical");

  // A property value with a wildcard cannot make a topic: no rewrite.
  table->evaluate(message("site/s9/alarm", {{"line", "#"}}), d);
  EXPECT_EQ(d.deliveries[0].cloud_topic, "");
}

TEST(RouteTable, DryRunJson) {
  auto table = compile_yaml(
      "routes:\n"
      "  - {name: a, match: {topic: \"p/{x}\"}, to: [cloud], topic: \"c/{x}\", ttl: 1h, priority: 7,"
      " set_properties: {k: v}, continue: true}\n"
      "  - {name: b, match: {topic: \"p/#\"}, to: aws, republish: \"m/{topic[1]}\"}\n");
  ASSERT_TRUE(table);
  Decision d;
  const Message m = message("p/q", {{"s", "1"}});
  table->evaluate(m, d);
  EXPECT_EQ(decision_to_json(d, m, -1),
            R"({"matched":["a","b"],"deliveries":[)"
            R"({"route":"a","uplink":"cloud","priority":7,"ttl_s":3600,"topic":"c/q","properties":[["s","1"],["k","v"]]},)"
            R"({"route":"b","uplink":"aws","priority":5,"ttl_s":0,"topic":null,"properties":[["s","1"]]}],)"
            R"("republish":[{"route":"b","topic":"m/q"}],"dropped":false})");
}

TEST(RouteTable, EvaluateDoesNotAllocateForTopicAndPropertyRoutes) {
#ifndef GW_COUNT_ALLOCATIONS
  GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
#endif
  std::string routes = "routes:\n";
  for (int i = 0; i < 50; ++i) {
    routes += "  - {name: r" + std::to_string(i) + ", match: {topic: [\"site/" + std::to_string(i) +
              "/+/alarm/#\"], properties: {severity: {in: [high, critical]}, line: {glob: \"line-*\"}}}, to: [cloud, aws]," +
              " continue: true}\n";
  }
  routes += "  - {name: last, match: {topic: \"site/#\", client_id: {glob: \"dev-*\"}, qos: [1, 2]}, to: azure}\n";
  routes += "default_route: {to: [cloud]}\n";
  auto table = compile_yaml(routes);
  ASSERT_TRUE(table);
  const Message m = message("site/7/l1/alarm/x", {{"severity", "high"}, {"line", "line-1"}, {"a", "b"}});
  const Message other = message("nowhere");
  Decision d;
  table->evaluate(m, d);  // grows the vectors once
  table->evaluate(other, d);
  const long before = g_allocations.load();
  for (int i = 0; i < 100; ++i) {
    table->evaluate(m, d);
    table->evaluate(other, d);
  }
  EXPECT_EQ(g_allocations.load() - before, 0);
  table->evaluate(m, d);
  EXPECT_EQ(matched(d), (std::vector<std::string>{"r7", "last"}));
}

// ------------------------------------------------------------ compile errors

struct CompileErrorCase {
  const char* name;
  std::string routes;
  std::string expected;  // every diagnostic, rendered, one per line
};

class CompileErrors : public ::testing::TestWithParam<CompileErrorCase> {};

TEST_P(CompileErrors, ReportsPosition) {
  const auto& c = GetParam();
  const config::LoadResult r = config::load_string(std::string(kHeader) + c.routes, "t.yaml", "/");
  ASSERT_TRUE(r.config) << render(r.diagnostics);
  std::vector<Diagnostic> diags;
  auto table = RouteTable::compile(*r.config, &diags);
  EXPECT_EQ(render(diags), c.expected);
  EXPECT_EQ(table.is_ok(), !has_errors(diags));
}

INSTANTIATE_TEST_SUITE_P(
    Table, CompileErrors,
    ::testing::Values(
        CompileErrorCase{"BadFilter", "routes:\n  - name: r\n    to: cloud\n    match: {topic: [a/b, \"a/#/c\"]}\n",
                         "t.yaml:10:26: error: invalid topic filter 'a/#/c': '#' must be the last level of the "
                         "filter\n"},
        CompileErrorCase{"PartialPlus", "routes: [{name: r, to: cloud, match: {topic: \"a+/b\"}}]\n",
                         "t.yaml:7:46: error: invalid topic filter 'a+/b': '+' must occupy a whole topic level\n"},
        CompileErrorCase{"BadCapture", "routes: [{name: r, to: cloud, match: {topic: \"a/x{site}\"}}]\n",
                         "t.yaml:7:46: error: invalid topic filter 'a/x{site}': a capture is a whole level "
                         "'{name}'\n"},
        CompileErrorCase{"UnknownCapture",
                         "routes: [{name: r, to: cloud, match: {topic: \"a/{site}\"}, topic: \"x/{line}\"}]\n",
                         "t.yaml:7:66: error: topic: template names unknown capture or placeholder '{line}' "
                         "(captures: {site}); placeholders: {gateway_id}, {route}, {client_id}, {username}, "
                         "{topic}, {topic[N]}, {property.NAME}\n"},
        CompileErrorCase{"CaptureMissingInOneFilter",
                         "routes: [{name: r, to: cloud, match: {topic: [\"a/{site}\", b]}, republish: \"x/{site}\"}]\n",
                         "t.yaml:7:75: error: republish: template names unknown capture or placeholder '{site}' "
                         "(captures: {site}); placeholders: {gateway_id}, {route}, {client_id}, {username}, "
                         "{topic}, {topic[N]}, {property.NAME}\n"},
        CompileErrorCase{"BadRegex", "routes: [{name: r, to: cloud, match: {properties: {c: {regex: \"(a\"}}}}]\n",
                         "t.yaml:7:55: error: property 'c': invalid regex '(a': Mismatched '(' and ')' in regular "
                         "expression\n"},
        CompileErrorCase{"PathologicalRegex",
                         "routes: [{name: r, to: cloud, match: {properties: {c: {regex: \"^(a+)+$\"}}}}]\n",
                         "t.yaml:7:55: error: property 'c': regex '^(a+)+$' rejected: nested quantifiers can take "
                         "exponential time\n"},
        CompileErrorCase{"WildcardInTopicTemplate", "routes: [{name: r, to: cloud, topic: \"a/#\"}]\n",
                         "t.yaml:7:38: error: topic: a topic template must not contain '+' or '#'\n"},
        CompileErrorCase{"UnreachableRoute",
                         "routes:\n"
                         "  - {name: all-plant, match: {topic: \"plant/#\"}, to: cloud}\n"
                         "  - {name: alarms, match: {topic: \"plant/{site}/alarm\", properties: {s: h}}, to: aws}\n"
                         "  - {name: other, match: {topic: \"other/#\"}, to: aws}\n",
                         "t.yaml:9:5: warning: route 'alarms' can never match: route 'all-plant' (line 8) catches "
                         "every message it would first\n"}),
    [](const ::testing::TestParamInfo<CompileErrorCase>& info) { return std::string(info.param.name); });

// ------------------------------------------------------------ examples

TEST(ConfigExamples, EveryExampleLoadsAndCompilesWithoutDiagnostics) {
  namespace fs = std::filesystem;
  const fs::path dir = repo_path("config/examples");
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  int n = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    ++n;
    const config::LoadResult r = config::load_file(entry.path().string());
    ASSERT_TRUE(r.config) << render(r.diagnostics);
    EXPECT_TRUE(r.diagnostics.empty()) << render(r.diagnostics);
    std::vector<Diagnostic> diags;
    auto table = RouteTable::compile(*r.config, &diags);
    EXPECT_TRUE(table.is_ok()) << entry.path();
    EXPECT_TRUE(diags.empty()) << render(diags);
  }
  EXPECT_GT(n, 0);
}

}  // namespace
}  // namespace gw::rules
