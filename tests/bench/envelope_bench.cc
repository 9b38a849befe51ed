// Envelope figures: ns per stored row turned into one JSON line
// (encode_line), which the uplink thread pays for every message it drains,
// and the JSON check on its own (is_inline_json).
//
//   gw_uplink_bench
//   gw_uplink_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// Rows: a typical telemetry message (~200-byte JSON payload, no MQTT 5
// properties), the same with a binary payload (goes as base64), and one with
// user properties and MQTT 5 fields. bytes_per_second counts output bytes.
//
// Compression: one full batch (1,000 telemetry lines, ~250 KB) compressed as
// the uplink does (compress(): libdeflate), and the same batch through zlib's
// deflate as the peer, at levels 1 and 6. `ratio` is raw/compressed size.
#include <benchmark/benchmark.h>
#include <zlib.h>

#include <cstdio>
#include <string>

#include "gateway/store/store.h"
#include "gateway/uplink/envelope.h"

namespace gw::uplink {
namespace {

store::StoredRow telemetry_row() {
  store::StoredRow r;
  r.seq = 123456789;
  r.uplink = "cloud";
  r.route = "telemetry";
  r.message.topic = "plant/line1/press-07/telemetry";
  r.message.payload =
      R"({"ts":1700000000123,"device":"press-07","temp":71.3,"pressure":2.41,"status":"ok",)"
      R"("rpm":1180,"operator":"shift-b","alarms":[],"fw":"2.4.1","site":"plant-north",)"
      R"("line":"line-1","vibration":[0.012,0.015,0.011]})";
  r.message.qos = 1;
  r.message.client_id = "press-07";
  r.message.received_at_ms = 1700000000123;
  return r;
}

store::StoredRow binary_row() {
  store::StoredRow r = telemetry_row();
  r.message.payload.clear();
  // A packed sensor frame: not UTF-8 text, so it goes as payload_b64.
  for (int i = 0; i < 200; ++i) r.message.payload += static_cast<char>((i * 151 + 7) & 0xff);
  return r;
}

store::StoredRow properties_row() {
  store::StoredRow r = telemetry_row();
  r.cloud_topic = "dt/gw1/telemetry";
  r.message.username = "line1";
  r.message.properties.user = {{"site", "north"}, {"line", "line-1"}, {"class", "telemetry"}};
  r.message.properties.content_type = "application/json";
  r.message.properties.payload_format = 1;
  r.message.properties.message_expiry_s = 3600;
  return r;
}

void run_encode(benchmark::State& state, const store::StoredRow& row) {
  size_t bytes = 0;
  for (auto _ : state) {
    std::string line = encode_line(row);
    bytes += line.size();
    benchmark::DoNotOptimize(line.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

void BM_EncodeTelemetryJson(benchmark::State& state) { run_encode(state, telemetry_row()); }
void BM_EncodeBinaryPayload(benchmark::State& state) { run_encode(state, binary_row()); }
void BM_EncodeWithProperties(benchmark::State& state) { run_encode(state, properties_row()); }

void BM_IsInlineJson(benchmark::State& state) {
  const std::string payload = telemetry_row().message.payload;
  for (auto _ : state) {
    benchmark::DoNotOptimize(is_inline_json(payload));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * payload.size()));
}

// 1,000 telemetry lines whose values change from line to line, as a batch's do.
std::string telemetry_batch() {
  std::string text;
  store::StoredRow r = telemetry_row();
  for (int i = 0; i < 1000; ++i) {
    char payload[256];
    std::snprintf(payload, sizeof payload,
                  R"({"ts":%lld,"device":"press-%02d","temp":%.1f,"pressure":%.2f,"status":"ok","rpm":%d,)"
                  R"("fw":"2.4.1","site":"plant-north","line":"line-%d","vibration":[%.3f,%.3f,%.3f]})",
                  1700000000123LL + i * 7, i % 16, 60 + (i * 37 % 200) / 10.0, 2 + (i * 13 % 100) / 100.0,
                  1100 + i * 7 % 160, i % 4 + 1, (i * 7 % 30) / 1000.0, (i * 11 % 30) / 1000.0,
                  (i * 17 % 30) / 1000.0);
    r.seq = 123456789 + i;
    r.message.payload = payload;
    r.message.received_at_ms = 1700000000123 + i * 7;
    text += encode_line(r);
    text += '\n';
  }
  return text;
}

void BM_CompressBatch(benchmark::State& state) {
  const std::string text = telemetry_batch();
  const int level = static_cast<int>(state.range(0));
  size_t out = 0;
  for (auto _ : state) {
    auto packed = compress(text, Compression::kGzip, level);
    if (!packed) state.SkipWithError("compress failed");
    out = packed->size();
    benchmark::DoNotOptimize(packed->data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["ratio"] = static_cast<double>(text.size()) / static_cast<double>(out);
}

// The peer: zlib's deflate, gzip wrapper, same level (what compress() used before libdeflate).
void BM_CompressBatchZlib(benchmark::State& state) {
  const std::string text = telemetry_batch();
  const int level = static_cast<int>(state.range(0));
  size_t out = 0;
  for (auto _ : state) {
    z_stream zs{};
    deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    std::string packed(deflateBound(&zs, static_cast<uLong>(text.size())), '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    zs.avail_in = static_cast<uInt>(text.size());
    zs.next_out = reinterpret_cast<Bytef*>(packed.data());
    zs.avail_out = static_cast<uInt>(packed.size());
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) state.SkipWithError("deflate failed");
    out = zs.total_out;
    deflateEnd(&zs);
    benchmark::DoNotOptimize(packed.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["ratio"] = static_cast<double>(text.size()) / static_cast<double>(out);
}

BENCHMARK(BM_EncodeTelemetryJson);
BENCHMARK(BM_EncodeBinaryPayload);
BENCHMARK(BM_EncodeWithProperties);
BENCHMARK(BM_IsInlineJson);
BENCHMARK(BM_CompressBatch)->Arg(1)->Arg(6)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CompressBatchZlib)->Arg(1)->Arg(6)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace gw::uplink

BENCHMARK_MAIN();
