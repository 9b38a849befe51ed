// Route evaluation figures (issue 6): ns and heap allocations per message for
// route tables of 10, 100 and 1,000 routes. The routes mix topic filters
// (literal, '+', '#', captures), user-property conditions (equals, in, glob,
// exists, numeric), client_id and QoS; the messages carry 3-5 user
// properties and hit a mix of routes and the default route.
//
//   gw_rules_bench                                   all figures
//   gw_rules_bench --benchmark_filter=TopicAndProperty
//
// Counters: allocs/msg (from the replaced operator new below; 0 is the aim
// for topic- and property-only routes), matched/msg (routes matched per
// message, to show the work is real) and items_per_second (= evaluations/s).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/config/config.h"
#include "gateway/rules/route_table.h"

// The replacement operator new below pairs with free(); GCC cannot see that
// through inlining and warns.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace gw::rules {
namespace {

constexpr int kSites = 8;
constexpr int kLines = 16;

// Concatenation by append: `"literal" + std::string` at -O3 trips GCC 12's
// -Wrestrict false positive (GCC bug 105329).
template <typename... Parts>
std::string cat(const Parts&... parts) {
  std::string s;
  (s.append(std::string_view(parts)), ...);
  return s;
}
std::string num(int i) { return std::to_string(i); }

// Route i of a table, in a repeating pattern of four kinds. With
// `templates`, every other route also rewrites the cloud topic and sets a
// property (the allocating path, for comparison).
std::string route_yaml(int i, bool templates) {
  const std::string n = num(i);
  const std::string site = cat("s", num(i % kSites));
  const std::string line = cat("line-", num((i / kSites) % kLines));
  std::string r = cat("  - name: r", n, "\n    match:\n");
  switch (i % 4) {
    case 0:  // alarms of one site and line, by severity
      r += cat("      topic: \"plant/", site, "/", line, "/alarm/#\"\n",
               "      properties: {severity: {in: [high, critical]}, shift: {exists: true}}\n");
      break;
    case 1:  // telemetry of one line at any site, with a capture and a glob
      r += cat("      topic: [\"plant/{site}/", line, "/temp\", \"plant/{site}/", line, "/pressure\"]\n",
               "      properties: {class: telemetry, device: {glob: \"press-*\"}}\n");
      break;
    case 2:  // devices of one site by client id, QoS 1 only, numeric threshold
      r += cat("      topic: \"dev/", site, "/+/", n, "\"\n", "      client_id: {glob: \"dev-*\"}\n",
               "      qos: 1\n", "      properties: {temp: {gte: 80}}\n");
      break;
    default:  // property-only: a line's class
      r += cat("      properties: {line: ", line, ", class: {in: [\"audit-", n, "\", \"trace-", n, "\"]}}\n");
      break;
  }
  r += cat("    to: [aws]\n    priority: ", num(i % 10), "\n");
  if (templates && i % 2 == 1) {
    r += "    topic: \"dt/{gateway_id}/{topic[1]}/{route}\"\n"
         "    set_properties: {origin: \"{client_id}\"}\n";
  }
  return r;
}

std::shared_ptr<const RouteTable> build_table(int routes, bool templates) {
  std::string yaml =
      "gateway: {id: bench-gw, data_dir: /tmp}\n"
      "listeners: [{name: l, bind: 127.0.0.1:1883}]\n"
      "uplinks: [{name: aws, host: h}]\n"
      "routes:\n";
  for (int i = 0; i < routes; ++i) yaml += route_yaml(i, templates);
  yaml += "default_route: {to: [aws], priority: 1}\n";
  const config::LoadResult loaded = config::load_string(yaml, "bench.yaml", "/");
  if (!loaded.config) std::abort();
  std::vector<Diagnostic> diags;
  auto table = RouteTable::compile(*loaded.config, &diags);
  if (!table.is_ok()) std::abort();
  return *table;
}

// 64 messages over the topic spaces above, each with 3-5 user properties.
std::vector<Message> messages() {
  std::vector<Message> out;
  const char* kinds[] = {"alarm/overheat", "temp", "pressure", "status"};
  for (int i = 0; i < 64; ++i) {
    Message m;
    const std::string site = cat("s", num(i % kSites));
    const std::string line = cat("line-", num((i / 3) % kLines));
    if (i % 5 == 4) {
      m.topic = cat("dev/", site, "/gw/", num(i * 7 % 1000));
    } else {
      m.topic = cat("plant/", site, "/", line, "/", kinds[i % 4]);
    }
    m.client_id = cat(i % 2 ? "dev-" : "plc-", num(i));
    m.qos = static_cast<uint8_t>(i % 3 == 0 ? 0 : 1);
    m.protocol_version = 5;
    m.properties.user = {{"class", i % 3 ? std::string("telemetry") : cat("audit-", num(i))},
                         {"line", line},
                         {"device", cat("press-", num(i % 13))}};
    if (i % 2 == 0) m.properties.user.emplace_back("severity", i % 4 ? "high" : "low");
    if (i % 3 == 0) m.properties.user.emplace_back("shift", "b");
    if (i % 5 == 4) m.properties.user.emplace_back("temp", num(60 + i));
    m.payload = R"({"v":1})";
    out.push_back(std::move(m));
  }
  return out;
}

void run(benchmark::State& state, bool templates) {
  const auto table = build_table(static_cast<int>(state.range(0)), templates);
  const std::vector<Message> msgs = messages();
  Decision decision;
  for (const auto& m : msgs) table->evaluate(m, decision);  // grow the Decision once
  size_t i = 0;
  long matched = 0;
  const long allocs_before = g_allocations.load(std::memory_order_relaxed);
  for (auto _ : state) {
    table->evaluate(msgs[i], decision);
    matched += static_cast<long>(decision.matched.size());
    benchmark::DoNotOptimize(decision.deliveries.data());
    i = (i + 1) % msgs.size();
  }
  const long allocs = g_allocations.load(std::memory_order_relaxed) - allocs_before;
  state.SetItemsProcessed(state.iterations());
  state.counters["allocs/msg"] = benchmark::Counter(static_cast<double>(allocs), benchmark::Counter::kAvgIterations);
  state.counters["matched/msg"] =
      benchmark::Counter(static_cast<double>(matched), benchmark::Counter::kAvgIterations);
}

void BM_TopicAndPropertyRoutes(benchmark::State& state) { run(state, false); }
void BM_WithTemplates(benchmark::State& state) { run(state, true); }

BENCHMARK(BM_TopicAndPropertyRoutes)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_WithTemplates)->Arg(10)->Arg(100)->Arg(1000);

}  // namespace
}  // namespace gw::rules

BENCHMARK_MAIN();
