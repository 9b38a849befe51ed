#include "gateway/uplink/batcher.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "tests/support/fake_clock.h"

namespace gw::uplink {
namespace {

using std::chrono::milliseconds;

constexpr int64_t kWall = 1'700'000'000'000;

store::StoredRow row(int64_t seq, std::string route = "r", size_t payload_bytes = 40, int64_t received = kWall,
                     bool random_payload = false) {
  store::StoredRow r;
  r.seq = seq;
  r.uplink = "cloud";
  r.route = std::move(route);
  r.message.topic = "plant/1/temp";
  r.message.client_id = "dev";
  r.message.received_at_ms = received;
  static std::mt19937 rng(7);
  for (size_t i = 0; i < payload_bytes; ++i) {
    r.message.payload += random_payload ? static_cast<char>(rng() & 0xff) : static_cast<char>('a' + i % 3);
  }
  return r;
}

std::vector<store::StoredRow> rows(int64_t first, size_t n, size_t payload_bytes = 40, bool random = false) {
  std::vector<store::StoredRow> out;
  for (size_t i = 0; i < n; ++i) out.push_back(row(first + static_cast<int64_t>(i), "r", payload_bytes, kWall, random));
  return out;
}

BatcherOptions opts(size_t max_messages, size_t max_bytes, milliseconds linger = milliseconds(200),
                    Compression c = Compression::kGzip) {
  BatcherOptions o;
  o.uplink = "cloud";
  o.gateway_id = "gw1";
  o.max_messages = max_messages;
  o.max_bytes = max_bytes;
  o.linger = linger;
  o.compression = c;
  return o;
}

TEST(BatcherTest, TopicTemplate) {
  EXPECT_EQ(Batcher::render_topic("gw/{gateway_id}/{route}", "g", "u", "alarms"), "gw/g/alarms");
  EXPECT_EQ(Batcher::render_topic("{uplink}/{route}/{route}/x{", "g", "u", "r"), "u/r/r/x{");
  auto bad = opts(10, 1000);
  bad.topic_template = "gw/{gateway}/{route}";
  EXPECT_EQ(Batcher::create(bad).status().code(), StatusCode::kInvalidArgument);
  bad.topic_template = "gw/+/x";
  EXPECT_EQ(Batcher::create(bad).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(Batcher::create(opts(0, 1000)).is_ok());
  EXPECT_FALSE(Batcher::create(opts(10, 10)).is_ok());
}

TEST(BatcherTest, EffectiveLimitUsesHardLimitAndBillingUnits) {
  struct Case {
    size_t max_bytes, hard, unit, expected;
  };
  const std::vector<Case> cases = {
      {65536, 0, 0, 65536},
      {65536, 4000, 0, 4000},
      {65536, 0, 5000, 65000},        // 13 whole AWS units
      {65536, 0, 4096, 65536},        // exactly 16 Azure units
      {65536, 131072, 4096, 65536},
      {300000, 131072, 5000, 130000},  // AWS: 128 KiB hard limit, 26 units
      {3000, 0, 5000, 3000},           // below one unit: the limit itself
  };
  for (const auto& c : cases) {
    auto o = opts(1000, c.max_bytes);
    o.hard_limit_bytes = c.hard;
    o.billing_unit_bytes = c.unit;
    auto b = Batcher::create(o);
    ASSERT_TRUE(b.is_ok());
    EXPECT_EQ(b->effective_limit(), c.expected) << c.max_bytes << " " << c.hard << " " << c.unit;
  }
}

// Table: how many rows, how big, which limits -> how many batches come out
// at once (before linger) and after flushing.
TEST(BatcherTest, LimitsTable) {
  struct Case {
    const char* name;
    size_t max_messages, max_bytes, n_rows, payload;
    bool random;
    Compression compression;
  };
  const std::vector<Case> cases = {
      {"count", 10, 1 << 20, 35, 40, false, Compression::kGzip},
      {"count_one", 1, 1 << 20, 5, 40, false, Compression::kGzip},
      {"bytes_gzip", 100000, 2048, 300, 200, true, Compression::kGzip},
      {"bytes_deflate", 100000, 4096, 300, 100, true, Compression::kDeflate},
      {"bytes_none", 100000, 4096, 300, 40, false, Compression::kNone},
      {"compressible", 100000, 4096, 3000, 200, false, Compression::kGzip},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    testing::FakeClock clock;
    auto b = Batcher::create(opts(c.max_messages, c.max_bytes, milliseconds(200), c.compression));
    ASSERT_TRUE(b.is_ok());
    b->add(rows(1, c.n_rows, c.payload, c.random), clock.now(), clock.wall_ms());
    std::vector<RejectedRow> rejected;
    auto early = b->take_ready(clock.now(), false, rejected);
    clock.advance(milliseconds(200));
    auto late = b->take_ready(clock.now(), false, rejected);
    EXPECT_TRUE(rejected.empty());
    EXPECT_EQ(b->pending_rows(), 0u);
    std::vector<Batch> all = early;
    all.insert(all.end(), late.begin(), late.end());
    EXPECT_LE(late.size(), 1u) << "only the tail waits for linger";
    int64_t next = 1;
    for (const auto& batch : all) {
      EXPECT_LE(batch.seqs.size(), c.max_messages);
      EXPECT_LE(batch.payload.size(), c.max_bytes);
      auto lines = decode_batch(batch.payload);
      ASSERT_TRUE(lines.is_ok()) << lines.status().to_string() << " first byte " << int(uint8_t(batch.payload[0]));
      ASSERT_EQ(lines->size(), batch.seqs.size());
      for (size_t i = 0; i < lines->size(); ++i) {
        EXPECT_EQ(nlohmann::json::parse((*lines)[i])["seq"], next);
        EXPECT_EQ(batch.seqs[i], next);
        ++next;
      }
      EXPECT_EQ(batch.topic, "gw/gw1/r");
    }
    EXPECT_EQ(next, static_cast<int64_t>(c.n_rows) + 1) << "every row exactly once, in order";
    // Full batches (all but the tail) are well filled: by count or by bytes.
    for (size_t i = 0; i + 1 < all.size(); ++i) {
      const bool by_count = all[i].seqs.size() == c.max_messages;
      const bool by_bytes = all[i].payload.size() >= c.max_bytes * 85 / 100;
      EXPECT_TRUE(by_count || by_bytes) << i << ": " << all[i].seqs.size() << " msgs, " << all[i].payload.size() << " B";
    }
  }
}

TEST(BatcherTest, LingerHoldsAPartialBatch) {
  testing::FakeClock clock;
  auto b = Batcher::create(opts(100, 65536, milliseconds(200)));
  ASSERT_TRUE(b.is_ok());
  std::vector<RejectedRow> rejected;
  b->add(rows(1, 3), clock.now(), clock.wall_ms());
  EXPECT_TRUE(b->take_ready(clock.now(), false, rejected).empty());
  ASSERT_TRUE(b->next_deadline().has_value());
  EXPECT_EQ(*b->next_deadline(), clock.now() + milliseconds(200));
  clock.advance(milliseconds(150));
  b->add(rows(4, 2), clock.now(), clock.wall_ms());
  EXPECT_TRUE(b->take_ready(clock.now(), false, rejected).empty());
  clock.advance(milliseconds(50));  // the oldest row has now waited 200 ms
  auto out = b->take_ready(clock.now(), false, rejected);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seqs, (std::vector<int64_t>{1, 2, 3, 4, 5}));
  EXPECT_FALSE(b->next_deadline().has_value());
}

TEST(BatcherTest, OldRowsFromTheStoreDontLingerAgain) {
  testing::FakeClock clock;
  auto b = Batcher::create(opts(100, 65536, milliseconds(200)));
  ASSERT_TRUE(b.is_ok());
  std::vector<store::StoredRow> backlog = {row(1, "r", 10, clock.wall_ms() - 5000)};
  b->add(backlog, clock.now(), clock.wall_ms());
  std::vector<RejectedRow> rejected;
  EXPECT_EQ(b->take_ready(clock.now(), false, rejected).size(), 1u);
}

TEST(BatcherTest, FlushTakesEverything) {
  testing::FakeClock clock;
  auto b = Batcher::create(opts(100, 65536, milliseconds(10'000)));
  ASSERT_TRUE(b.is_ok());
  b->add(rows(1, 3), clock.now(), clock.wall_ms());
  std::vector<RejectedRow> rejected;
  EXPECT_EQ(b->take_ready(clock.now(), true, rejected).size(), 1u);
  EXPECT_EQ(b->pending_rows(), 0u);
}

// `compression_level` reaches the compressor: level 1 costs bytes, level 9 saves them,
// and both carry the same lines.
TEST(BatcherTest, CompressionLevelTradesBytesForCpu) {
  testing::FakeClock clock;
  std::vector<store::StoredRow> in;
  for (int64_t i = 1; i <= 200; ++i) {
    auto r = row(i);
    r.message.payload = "{\"ts\":" + std::to_string(1700000000000 + i * 997) + ",\"temp\":" +
                        std::to_string(20 + (i * 37) % 100 / 10.0) + ",\"seq\":" + std::to_string(i) + "}";
    in.push_back(std::move(r));
  }
  std::map<int, Batch> by_level;
  for (int level : {1, 9}) {
    auto o = opts(1000, 1 << 20);
    o.level = level;
    auto b = Batcher::create(o);
    ASSERT_TRUE(b.is_ok());
    b->add(in, clock.now(), clock.wall_ms());
    std::vector<RejectedRow> rejected;
    auto out = b->take_ready(clock.now(), true, rejected);
    ASSERT_EQ(out.size(), 1u);
    by_level[level] = std::move(out[0]);
  }
  EXPECT_GT(by_level[1].payload.size(), by_level[9].payload.size() * 11 / 10);
  auto fast = decode_batch(by_level[1].payload);
  auto small = decode_batch(by_level[9].payload);
  ASSERT_TRUE(fast.is_ok() && small.is_ok());
  EXPECT_EQ(fast->size(), 200u);
  EXPECT_EQ(*fast, *small);
}

TEST(BatcherTest, RoutesAndCloudTopicsGoToSeparateBatches) {
  testing::FakeClock clock;
  auto b = Batcher::create(opts(100, 65536));
  ASSERT_TRUE(b.is_ok());
  std::vector<store::StoredRow> in = {row(1, "alarms"), row(2, "telemetry"), row(3, "alarms"), row(4, "telemetry")};
  in.push_back(row(5, "alarms"));
  in.back().cloud_topic = "custom/topic";
  b->add(in, clock.now(), clock.wall_ms());
  std::vector<RejectedRow> rejected;
  auto out = b->take_ready(clock.now(), true, rejected);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].topic, "gw/gw1/alarms");
  EXPECT_EQ(out[0].seqs, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(out[0].route, "alarms");
  EXPECT_EQ(out[1].topic, "gw/gw1/telemetry");
  EXPECT_EQ(out[1].seqs, (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(out[2].topic, "custom/topic");
}

TEST(BatcherTest, OversizeMessageIsRejectedNotLoopedOn) {
  testing::FakeClock clock;
  auto b = Batcher::create(opts(100, 1024));
  ASSERT_TRUE(b.is_ok());
  std::vector<store::StoredRow> in = {row(1), row(2, "r", 5000, kWall, true), row(3)};
  b->add(in, clock.now(), clock.wall_ms());
  std::vector<RejectedRow> rejected;
  auto out = b->take_ready(clock.now(), true, rejected);
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].seq, 2);
  EXPECT_EQ(rejected[0].reason.code(), StatusCode::kResourceExhausted);
  size_t sent = 0;
  for (const auto& batch : out) sent += batch.seqs.size();
  EXPECT_EQ(sent, 2u);
  EXPECT_EQ(b->pending_rows(), 0u);
}

TEST(BatcherTest, MessageCapBisects) {
  testing::FakeClock clock;
  auto b = Batcher::create(opts(100, 65536));
  ASSERT_TRUE(b.is_ok());
  b->set_message_cap(4);
  b->add(rows(1, 10), clock.now(), clock.wall_ms());
  std::vector<RejectedRow> rejected;
  auto out = b->take_ready(clock.now(), true, rejected);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].seqs.size(), 4u);
  EXPECT_EQ(out[2].seqs.size(), 2u);
  EXPECT_EQ(b->take_all_seqs().size(), 0u);
}

// Issue 5: with billing-unit filling, a steady load costs close to the
// minimum number of units for its compressed size.
TEST(BatcherTest, BillingUnitsNearMinimum) {
  for (size_t unit : {size_t{5000}, size_t{4096}}) {
    testing::FakeClock clock;
    auto o = opts(100000, 65536);
    o.billing_unit_bytes = unit;
    o.hard_limit_bytes = unit == 5000 ? 131072 : 262144;
    auto b = Batcher::create(o);
    ASSERT_TRUE(b.is_ok());
    std::mt19937 rng(3);
    std::vector<store::StoredRow> in;
    for (int i = 0; i < 20000; ++i) {
      auto r = row(i + 1, "r", 0);
      r.message.payload = "{\"temp\":" + std::to_string(rng() % 1000) + ",\"id\":" + std::to_string(rng() % 50) + "}";
      in.push_back(std::move(r));
    }
    b->add(in, clock.now(), clock.wall_ms());
    std::vector<RejectedRow> rejected;
    auto out = b->take_ready(clock.now(), true, rejected);
    size_t units = 0, bytes = 0;
    for (const auto& batch : out) {
      EXPECT_LE(batch.payload.size(), o.hard_limit_bytes);
      units += (batch.payload.size() + unit - 1) / unit;
      bytes += batch.payload.size();
    }
    const size_t minimum = (bytes + unit - 1) / unit;
    EXPECT_LE(units, minimum * 11 / 10 + 1) << "unit " << unit << ": " << units << " vs " << minimum;
  }
}

}  // namespace
}  // namespace gw::uplink
