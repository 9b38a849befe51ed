// Store throughput (issue 4 figures): durable ingest with group commit, and
// the uplink side (lease + ack). Real SQLite files under $TMPDIR.
//
//   gw_store_bench --benchmark_filter=Ingest
#include <benchmark/benchmark.h>

#include <atomic>
#include <string>

#include "gateway/store/store.h"
#include "tests/support/process.h"

namespace gw::store {
namespace {

NewRow telemetry_row(int i) {
  NewRow row;
  row.uplink = "cloud";
  row.route = "telemetry";
  row.priority = i % 3;
  row.message.topic = "plant/line-3/press/temperature";
  // ~200-byte JSON payload, as in the issue's reference load.
  row.message.payload =
      R"({"ts":1700000000000,"device":"press-17","seq":)" + std::to_string(i) +
      R"(,"temp_c":81.25,"pressure_bar":4.02,"rpm":1180,"status":"running","operator":"shift-b",)"
      R"("alarms":[],"fw":"2.4.1","site":"plant-north","line":"line-3"})";
  row.message.qos = 1;
  row.message.client_id = "press-17";
  row.message.protocol_version = 5;
  row.message.properties.user = {{"site", "north"}, {"line", "line-3"}, {"class", "telemetry"}};
  row.message.received_at_ms = 1'700'000'000'000 + i;
  return row;
}

// Appends `n` single-row messages as a broker would (one thread, one append per
// message), then waits until all are committed.
void append_all(Store& store, int n, int base) {
  for (int i = 0; i < n;) {
    std::vector<NewRow> rows;
    rows.push_back(telemetry_row(base + i));
    Status s = store.append(std::move(rows), [](const Status& st) {
      if (!st.is_ok()) std::abort();
    });
    if (s.is_ok()) {
      ++i;
    } else {
      store.flush();  // backpressure: a broker would pause reading here
    }
  }
  store.flush();
}

void BM_Ingest(benchmark::State& state) {
  gw::testing::TempDir dir;
  StoreOptions o;
  o.path = (dir / "queue.db").string();
  o.durability = state.range(0) == 0 ? Durability::kFsync : Durability::kOs;
  auto store = std::move(Store::open(o, SystemClock::instance())).value();
  constexpr int kPerIteration = 20'000;
  int base = 0;
  for (auto _ : state) {
    append_all(*store, kPerIteration, base);
    base += kPerIteration;
  }
  StoreStats st = store->stats();
  state.SetItemsProcessed(static_cast<int64_t>(st.appends));
  state.counters["commits"] = static_cast<double>(st.commits);
  state.counters["msgs_per_commit"] =
      st.commits ? static_cast<double>(st.appends) / static_cast<double>(st.commits) : 0;
  state.SetLabel(o.durability == Durability::kFsync ? "fsync" : "os");
}
BENCHMARK(BM_Ingest)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// Steady state: a backlog is drained by lease(1000 rows) + ack while nothing
// else writes.
void BM_LeaseAck(benchmark::State& state) {
  gw::testing::TempDir dir;
  StoreOptions o;
  o.path = (dir / "queue.db").string();
  o.durability = Durability::kFsync;
  auto store = std::move(Store::open(o, SystemClock::instance())).value();
  uint64_t batch = 0;
  int base = 0;
  int64_t rows = 0;
  for (auto _ : state) {
    state.PauseTiming();
    append_all(*store, 20'000, base);
    base += 20'000;
    state.ResumeTiming();
    for (;;) {
      auto leased = store->lease("cloud", 1000, 1 << 20);
      if (!leased.is_ok()) std::abort();
      if (leased->empty()) break;
      std::vector<int64_t> seqs;
      seqs.reserve(leased->size());
      for (const auto& r : *leased) seqs.push_back(r.seq);
      rows += static_cast<int64_t>(seqs.size());
      store->ack("cloud", std::move(seqs), ++batch);
    }
    store->flush();
  }
  state.SetItemsProcessed(rows);
}
BENCHMARK(BM_LeaseAck)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace gw::store

BENCHMARK_MAIN();
