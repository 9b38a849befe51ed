// gw-counter: counts at the cloud stand-in what gw-loadgen sent.
//
// Subscribes (QoS 1, clean session, MQTT 5) on the cloud broker and takes
// every publish apart: a gateway batch (gateway/uplink/FORMAT.md, decoded
// with uplink::decode_batch) yields its lines' payloads; a raw publish (a
// mosquitto bridge forwards device messages one to one) is one payload.
// Payloads are gw-loadgen's JSON ({"client","seq","t_us",...}).
//
// Reports one JSON line: cloud publishes (batched and raw), payload and
// estimated wire bytes, billed units (AWS: 5 KB per publish or part of it;
// Azure: 4 KB), device messages received, distinct, duplicated, and
// end-to-end latency p50/p99 (receive time minus t_us, same host clock).
// With --acked FILE[,FILE...] (gw-loadgen's files) it also reports `lost`:
// acknowledged to the device but never received; and `missing`: any sequence
// number up to the highest sent that never arrived, acked or not.
//
// Stops on SIGINT/SIGTERM, after --timeout seconds, after --idle seconds
// without a new message (once one was seen and the acked files exist), or with --until-acked as soon as
// every acked message has arrived (the acked files are re-read until they
// exist). --per-client adds one line per client.
//
// Threads: Paho's receive thread does the counting under one mutex; the main
// thread waits and reports.
#include <MQTTAsync.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <charconv>
#include <optional>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "gateway/uplink/envelope.h"
#include "tests/tools/tool_util.h"

namespace gw::tools {
namespace {

using Clock = std::chrono::steady_clock;

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

struct PerClient {
  std::vector<uint16_t> count;  // index = seq
  uint64_t received = 0;
};

struct State {
  std::mutex mu;
  std::map<std::string, PerClient, std::less<>> clients;
  uint64_t publishes = 0, batch_publishes = 0, raw_publishes = 0, foreign = 0, decode_errors = 0;
  uint64_t payload_bytes = 0, wire_bytes = 0, aws_units = 0, azure_units = 0;
  uint64_t received = 0, distinct = 0;
  std::vector<uint32_t> e2e_us;
  int64_t first_rx_us = 0, last_new_rx_us = 0;
  std::atomic<bool> subscribed{false};
  std::atomic<bool> lost{false};
};

State g_state;

size_t varint_len(size_t n) { return n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4; }

// One device message as gw-loadgen wrote it.
struct DeviceMessage {
  std::string_view client;
  uint64_t seq = 0;
  std::optional<int64_t> t_us;
};

// gw-loadgen's payloads start {"client":"ID","seq":N,"t_us":N: read those
// three fields without building a JSON tree (the counter shares the cores
// with the gateway it measures). Anything else: nullopt, and the caller
// parses it whole.
std::optional<DeviceMessage> scan_loadgen_payload(std::string_view p) {
  auto take = [&p](std::string_view lit) {
    if (p.substr(0, lit.size()) != lit) return false;
    p.remove_prefix(lit.size());
    return true;
  };
  auto number = [&p](uint64_t& out) {
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), out);
    if (ec != std::errc()) return false;
    p.remove_prefix(static_cast<size_t>(end - p.data()));
    return true;
  };
  DeviceMessage m;
  if (!take("{\"client\":\"")) return std::nullopt;
  const size_t quote = p.find_first_of("\"\\");
  if (quote == std::string_view::npos || p[quote] != '"') return std::nullopt;
  m.client = p.substr(0, quote);
  p.remove_prefix(quote + 1);
  if (!take(",\"seq\":") || !number(m.seq)) return std::nullopt;
  uint64_t t = 0;
  if (take(",\"t_us\":") && number(t)) m.t_us = static_cast<int64_t>(t);
  return m;
}

// Any other payload: a JSON object with "client" and "seq" (and maybe "t_us").
std::optional<DeviceMessage> parse_payload(const nlohmann::json& p, std::string& client) {
  if (!p.is_object() || !p.contains("client") || !p.contains("seq")) return std::nullopt;
  const auto& c = p["client"];
  const auto& s = p["seq"];
  if (!c.is_string() || !s.is_number_unsigned()) return std::nullopt;
  client = c.get<std::string>();
  DeviceMessage m{client, s.get<uint64_t>(), std::nullopt};
  if (p.contains("t_us") && p["t_us"].is_number_integer()) m.t_us = p["t_us"].get<int64_t>();
  return m;
}

// Counts one device message payload (its JSON text); returns false when it is not ours.
bool count_payload(std::string_view text, int64_t rx_us) {
  std::string client;
  auto m = scan_loadgen_payload(text);
  if (!m) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) return false;
    m = parse_payload(j, client);
    if (!m) return false;
  }
  auto it = g_state.clients.find(m->client);
  if (it == g_state.clients.end()) it = g_state.clients.emplace(std::string(m->client), PerClient{}).first;
  auto& pc = it->second;
  if (pc.count.size() <= m->seq) pc.count.resize(m->seq + 1, 0);
  if (pc.count[m->seq]++ == 0) {
    ++g_state.distinct;
    g_state.last_new_rx_us = rx_us;
    if (m->t_us) {
      const int64_t lat = rx_us - *m->t_us;
      g_state.e2e_us.push_back(static_cast<uint32_t>(std::clamp<int64_t>(lat, 0, UINT32_MAX)));
    }
  }
  ++pc.received;
  ++g_state.received;
  return true;
}

// The device payload's JSON text in one envelope line: the "payload" member,
// which the envelope writes last (FORMAT.md). Inside a JSON string a quote is
// always escaped, so `,"payload":` can only be the member itself.
std::optional<std::string_view> envelope_payload(std::string_view line) {
  constexpr std::string_view kKey = ",\"payload\":";
  const size_t at = line.find(kKey);
  if (at == std::string_view::npos || line.empty() || line.back() != '}') return std::nullopt;
  return line.substr(at + kKey.size(), line.size() - 1 - at - kKey.size());
}

int on_message(void*, char* topic, int topic_len, MQTTAsync_message* m) {
  const int64_t rx = now_us_wall();
  const std::string_view body(static_cast<const char*>(m->payload), static_cast<size_t>(m->payloadlen));
  const size_t tlen = topic_len > 0 ? static_cast<size_t>(topic_len) : std::strlen(topic);
  {
    std::lock_guard lock(g_state.mu);
    if (g_state.first_rx_us == 0) g_state.first_rx_us = rx;
    ++g_state.publishes;
    g_state.payload_bytes += body.size();
    // PUBLISH as the publisher's broker sent it (QoS 1: packet id), plus its PUBACK.
    const size_t props = static_cast<size_t>(m->properties.length);
    const size_t rem = 2 + tlen + 2 + body.size() + (props ? props : 0);
    g_state.wire_bytes += 1 + varint_len(rem) + rem + 4;
    g_state.aws_units += std::max<uint64_t>(1, (body.size() + 5119) / 5120);
    g_state.azure_units += std::max<uint64_t>(1, (body.size() + 4095) / 4096);
    bool ours = false;
    if (count_payload(body, rx)) {
      ours = true;
      ++g_state.raw_publishes;
    } else if (auto lines = uplink::decode_batch(body, {.check_json = false}); lines.is_ok()) {
      // Not checked line by line as JSON: that cost the counter more CPU than
      // all its counting, taken from the gateway it measures. The format has
      // its own tests.
      ++g_state.batch_publishes;
      for (const auto& line : lines.value()) {
        if (auto payload = envelope_payload(line)) ours = count_payload(*payload, rx) || ours;
      }
    } else {
      ++g_state.decode_errors;
    }
    if (!ours) ++g_state.foreign;
  }
  MQTTAsync_freeMessage(&m);
  MQTTAsync_free(topic);
  return 1;
}

void on_lost(void*, char*) { g_state.lost = true; }
void on_sub_ok(void*, MQTTAsync_successData5*) { g_state.subscribed = true; }
void on_sub_fail(void*, MQTTAsync_failureData5* d) {
  std::fprintf(stderr, "gw-counter: subscribe failed: %d\n", d ? d->code : 0);
}

struct Ctx {
  MQTTAsync handle;
  std::string filter;
};

void subscribe(Ctx* ctx) {
  MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
  ro.onSuccess5 = on_sub_ok;
  ro.onFailure5 = on_sub_fail;
  ro.context = ctx;
  MQTTAsync_subscribe(ctx->handle, ctx->filter.c_str(), 1, &ro);
}
void on_connected(void* c, char*) { subscribe(static_cast<Ctx*>(c)); }

int usage() {
  std::fprintf(stderr,
               "usage: gw-counter [--host H] [--port P] [--topic FILTER] [--acked FILE[,FILE]...]\n"
               "  [--until-acked] [--expect N] [--idle S] [--timeout S] [--per-client] [--label TEXT]\n"
               "  [--ready-file PATH] [--client-id ID] [--persistent]\n");
  return 2;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const auto pos = s.find(sep, start);
    const auto piece = s.substr(start, pos == std::string::npos ? std::string::npos : pos - start);
    if (!piece.empty()) out.push_back(piece);
    if (pos == std::string::npos) break;
    start = pos + 1;
  }
  return out;
}

int run(int argc, char** argv) {
  Flags f(argc, argv,
          {"host", "port", "topic", "acked", "until-acked", "expect", "idle", "timeout", "per-client", "label",
           "ready-file", "client-id", "persistent", "help"});
  if (f.has("help") || !f.positional().empty()) return usage();
  const std::string uri = "tcp://" + f.str("host", "127.0.0.1") + ":" + std::to_string(static_cast<int>(f.num("port", 1884)));
  const std::vector<std::string> acked_files = split(f.str("acked"), ',');
  const bool until_acked = f.has("until-acked");
  const uint64_t expect = static_cast<uint64_t>(f.num("expect", 0));
  const double idle_s = f.num("idle", 0);
  const double timeout_s = f.num("timeout", 0);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);

  Ctx ctx{nullptr, f.str("topic", "#")};
  MQTTAsync_createOptions copts = MQTTAsync_createOptions_initializer5;
  // --persistent: a fixed client id and a session that outlives disconnects
  // (and a cloud restart, with mosquitto persistence on), so nothing the
  // cloud accepts while the counter is reconnecting escapes the count.
  const bool persistent = f.has("persistent");
  const std::string id = f.str("client-id", "gw-counter-" + std::to_string(getpid()));
  if (MQTTAsync_createWithOptions(&ctx.handle, uri.c_str(), id.c_str(), MQTTCLIENT_PERSISTENCE_NONE, nullptr,
                                  &copts) != MQTTASYNC_SUCCESS) {
    return 1;
  }
  MQTTAsync_setCallbacks(ctx.handle, &ctx, on_lost, on_message, nullptr);
  MQTTAsync_setConnected(ctx.handle, &ctx, on_connected);
  MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer5;
  co.cleanstart = persistent ? 0 : 1;
  MQTTProperties cprops = MQTTProperties_initializer;
  if (persistent) {
    MQTTProperty expiry;
    std::memset(&expiry, 0, sizeof expiry);
    expiry.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
    expiry.value.integer4 = 0xFFFFFFFF;
    MQTTProperties_add(&cprops, &expiry);
    co.connectProperties = &cprops;
  }
  co.keepAliveInterval = 30;
  co.automaticReconnect = 1;
  co.minRetryInterval = 1;
  co.maxRetryInterval = 2;
  co.context = &ctx;
  if (MQTTAsync_connect(ctx.handle, &co) != MQTTASYNC_SUCCESS) return 1;

  const auto start = Clock::now();
  while (!g_state.subscribed && !g_stop && Clock::now() - start < std::chrono::seconds(15)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!g_state.subscribed) {
    std::fprintf(stderr, "gw-counter: could not subscribe at %s\n", uri.c_str());
    return 1;
  }
  if (f.has("ready-file")) {
    std::ofstream(f.str("ready-file")) << "ready\n";
  }

  AckedMap acked;
  bool acked_loaded = false;
  auto load_acked = [&] {
    if (acked_loaded || acked_files.empty()) return acked_loaded;
    for (const auto& file : acked_files) {
      if (!std::filesystem::exists(file)) return false;
    }
    acked.clear();
    for (const auto& file : acked_files) read_acked_file(file, acked);
    acked_loaded = true;
    return true;
  };
  auto all_acked_seen = [&] {
    std::lock_guard lock(g_state.mu);
    for (const auto& [client, bits] : acked) {
      auto it = g_state.clients.find(client);
      for (size_t s = 1; s < bits.size(); ++s) {
        if (!bits[s]) continue;
        if (it == g_state.clients.end() || it->second.count.size() <= s || it->second.count[s] == 0) return false;
      }
    }
    return true;
  };

  const char* reason = "signal";
  uint64_t last_distinct = 0;
  auto last_change = Clock::now();
  while (!g_stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const auto now = Clock::now();
    uint64_t distinct;
    {
      std::lock_guard lock(g_state.mu);
      distinct = g_state.distinct;
    }
    if (distinct != last_distinct) {
      last_distinct = distinct;
      last_change = now;
    }
    if (timeout_s > 0 && now - start > std::chrono::duration<double>(timeout_s)) {
      reason = "timeout";
      break;
    }
    // With acked files, idleness only counts once they are there (the load
    // is over), measured from whichever came last.
    if (!acked_files.empty() && !acked_loaded && load_acked()) last_change = std::max(last_change, now);
    if (idle_s > 0 && distinct > 0 && (acked_files.empty() || acked_loaded) &&
        now - last_change > std::chrono::duration<double>(idle_s)) {
      reason = "idle";
      break;
    }
    if (expect > 0 && distinct >= expect) {
      reason = "expect";
      break;
    }
    if (until_acked && load_acked() && all_acked_seen()) {
      reason = "all-acked";
      break;
    }
  }
  load_acked();

  MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer5;
  d.timeout = 500;
  MQTTAsync_disconnect(ctx.handle, &d);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));

  std::lock_guard lock(g_state.mu);
  uint64_t duplicates = 0, lost = 0, missing = 0, acked_total = 0;
  std::vector<std::string> per_client;
  std::set<std::string> names;
  for (const auto& [c, _] : g_state.clients) names.insert(c);
  for (const auto& [c, _] : acked) names.insert(c);
  for (const auto& name : names) {
    const PerClient empty;
    auto it = g_state.clients.find(name);
    const PerClient& pc = it == g_state.clients.end() ? empty : it->second;
    const std::vector<bool> none;
    auto ai = acked.find(name);
    const std::vector<bool>& bits = ai == acked.end() ? none : ai->second;
    uint64_t c_dup = 0, c_lost = 0, c_missing = 0, c_acked = 0, c_distinct = 0;
    const size_t top = std::max(pc.count.size(), bits.size());
    for (size_t s = 1; s < top; ++s) {
      const uint16_t n = s < pc.count.size() ? pc.count[s] : 0;
      const bool a = s < bits.size() && bits[s];
      c_acked += a;
      c_distinct += n > 0;
      c_dup += n > 1 ? n - 1 : 0;
      c_lost += (a && n == 0);
      c_missing += n == 0;
    }
    duplicates += c_dup;
    lost += c_lost;
    missing += c_missing;
    acked_total += c_acked;
    if (f.has("per-client")) {
      JsonLine l;
      l.add("client", name).add("received", pc.received).add("distinct", c_distinct).add("duplicates", c_dup);
      l.add("acked", c_acked).add("lost", c_lost).add("missing", c_missing);
      per_client.push_back(l.json());
    }
  }
  auto lat = g_state.e2e_us;
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  JsonLine out;
  out.add("tool", "counter");
  if (f.has("label")) out.add("label", f.str("label"));
  out.add("stop", reason)
      .add("cloud_publishes", g_state.publishes)
      .add("batch_publishes", g_state.batch_publishes)
      .add("raw_publishes", g_state.raw_publishes)
      .add("foreign_publishes", g_state.foreign)
      .add("decode_errors", g_state.decode_errors)
      .add("cloud_payload_bytes", g_state.payload_bytes)
      .add("cloud_wire_bytes_est", g_state.wire_bytes)
      .add("aws_units", g_state.aws_units)
      .add("azure_units", g_state.azure_units)
      .add("received", g_state.received)
      .add("distinct", g_state.distinct)
      .add("duplicates", duplicates)
      .add("acked_files", acked_loaded ? "loaded" : (acked_files.empty() ? "none" : "missing"))
      .add("acked", acked_total)
      .add("lost", lost)
      .add("missing", missing)
      .add("e2e_p50_ms", percentile(lat, 50) / 1000.0)
      .add("e2e_p99_ms", percentile(lat, 99) / 1000.0)
      .add("first_rx_us", g_state.first_rx_us)
      .add("last_new_rx_us", g_state.last_new_rx_us)
      .add("elapsed_s", elapsed);
  for (const auto& l : per_client) std::printf("%s\n", l.c_str());
  std::printf("%s\n", out.json().c_str());
  std::fflush(stdout);
  MQTTAsync_destroy(&ctx.handle);
  return 0;
}

}  // namespace
}  // namespace gw::tools

int main(int argc, char** argv) { return gw::tools::run(argc, argv); }
