// Engine against a scripted transport (no network) and a real Store.
#include "gateway/uplink/engine.h"

#include <gtest/gtest.h>

#include <mutex>
#include <random>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/support/process.h"

namespace gw::uplink {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class TestProfile final : public CloudProfile {
 public:
  explicit TestProfile(int64_t credentials_expire_at_ms = 0, Limits limits = {})
      : expire_at_ms_(credentials_expire_at_ms), limits_(limits) {}
  // Like Azure IoT Hub: a close while a publish awaits its PUBACK is
  // throttling; with a token bucket to slow.
  TestProfile(double publishes_per_s, bool close_means_throttled) : close_means_throttled_(close_means_throttled) {
    limits_.max_publishes_per_s = publishes_per_s;
  }
  std::string_view type() const override { return "test"; }
  std::string describe() const override { return "test profile"; }
  Result<ConnectOptions> connect_options(const Clock&) override {
    ConnectOptions o;
    o.host = "fake";
    o.client_id = "c";
    o.credentials_expire_at_ms = expire_at_ms_;
    return o;
  }
  Limits limits() const override { return limits_; }
  Attempt read_connection_loss(Attempt a, const ConnectionLoss& loss) const override {
    if (close_means_throttled_ && loss.unacknowledged > 0) a.throttled = true;
    return a;
  }
  Result<Publish> shape(OutgoingBatch b) const override {
    Publish p;
    p.topic = std::move(b.topic);
    p.payload = std::move(b.payload);
    p.user_properties = b.metadata.as_properties();
    return p;
  }

 private:
  int64_t expire_at_ms_ = 0;
  Limits limits_;
  bool close_means_throttled_ = false;
};

// Scripted cloud: decides each publish's fate with `policy`, answers
// asynchronously from its own thread like Paho would.
class FakeTransport final : public Transport {
 public:
  struct Shared {
    std::mutex mu;
    std::function<Outcome(const std::vector<int64_t>& seqs, int attempt)> policy;
    std::vector<std::vector<int64_t>> delivered;  // seqs per delivered batch
    std::set<uint64_t> batch_seqs;
    int publishes = 0;
    int connects = 0;
    bool refuse_connect = false;
    // Publish number -> close the connection instead of answering (the
    // cloud may have taken the message: it counts in `received`).
    std::function<bool(int attempt)> close_after;
    std::multiset<int64_t> received;  // every seq the cloud saw, acked or not
  };

  FakeTransport(TransportEventSink sink, std::shared_ptr<Shared> shared) : sink_(std::move(sink)), s_(std::move(shared)) {}
  ~FakeTransport() override { disconnect(milliseconds(0)); }

  Status start_connect(const ConnectOptions&) override {
    bool refuse;
    {
      std::lock_guard lock(s_->mu);
      ++s_->connects;
      refuse = s_->refuse_connect;
    }
    later([this, refuse] {
      TransportEvent e;
      e.kind = refuse ? TransportEvent::Kind::kConnectFailed : TransportEvent::Kind::kConnected;
      e.attempt.outcome = refuse ? Outcome::kRetry : Outcome::kDelivered;
      sink_(e);
    });
    return Status::ok();
  }

  Status publish(uint64_t id, const Publish& p) override {
    auto lines = decode_batch(p.payload);
    EXPECT_TRUE(lines.is_ok());
    std::vector<int64_t> seqs;
    for (const auto& l : *lines) seqs.push_back(nlohmann::json::parse(l)["seq"].get<int64_t>());
    Outcome o;
    {
      std::lock_guard lock(s_->mu);
      s_->received.insert(seqs.begin(), seqs.end());
      if (s_->close_after && s_->close_after(s_->publishes)) {
        ++s_->publishes;
        later([this] {
          TransportEvent e;
          e.kind = TransportEvent::Kind::kConnectionLost;
          e.attempt.connection_lost = true;
          e.attempt.detail = "connection lost";
          sink_(e);
        });
        return Status::ok();
      }
      o = s_->policy ? s_->policy(seqs, s_->publishes) : Outcome::kDelivered;
      ++s_->publishes;
      if (o == Outcome::kDelivered) {
        s_->delivered.push_back(seqs);
        s_->batch_seqs.insert(std::stoull(p.user_properties[2].second));
      }
    }
    later([this, id, o] {
      TransportEvent e;
      e.kind = TransportEvent::Kind::kPublishDone;
      e.id = id;
      e.attempt.outcome = o;
      e.attempt.throttled = false;
      sink_(e);
    });
    return Status::ok();
  }

  void disconnect(milliseconds) override {
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  void later(std::function<void()> f) { threads_.emplace_back(std::move(f)); }

  TransportEventSink sink_;
  std::shared_ptr<Shared> s_;
  std::vector<std::thread> threads_;
};

// The engine publishes its breaker state on its own thread, a moment after the
// event that changes it (the queue may be drained before it says closed):
// waits up to `timeout` for `want` and returns the state it last saw.
BreakerState breaker_becomes(const Engine& e, BreakerState want, seconds timeout = seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline && e.stats().breaker != want) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  return e.stats().breaker;
}

struct Fixture {
  gw::testing::TempDir dir;
  std::unique_ptr<store::Store> store;
  std::shared_ptr<FakeTransport::Shared> cloud = std::make_shared<FakeTransport::Shared>();

  Fixture() {
    store::StoreOptions so;
    so.path = (dir / "q.db").string();
    so.durability = store::Durability::kOs;
    auto st = store::Store::open(so, SystemClock::instance());
    EXPECT_TRUE(st.is_ok()) << st.status().to_string();
    store = std::move(*st);
  }

  void append(int n, size_t payload_bytes = 20) {
    for (int i = 0; i < n; ++i) {
      store::NewRow r;
      r.uplink = "cloud";
      r.route = "r";
      r.message.topic = "t";
      r.message.received_at_ms = SystemClock::instance().wall_ms();
      r.message.payload = std::string(payload_bytes, 'x');
      EXPECT_TRUE(store->append({r}, {}).is_ok());
    }
    store->flush();
  }

  std::unique_ptr<Engine> engine(UplinkOptions o, int64_t credentials_expire_at_ms = 0, Limits limits = {}) {
    return engine(std::move(o), std::make_unique<TestProfile>(credentials_expire_at_ms, limits));
  }
  std::unique_ptr<Engine> engine(UplinkOptions o, std::unique_ptr<TestProfile> profile) {
    o.name = "cloud";
    o.gateway_id = "g";
    o.linger = milliseconds(5);
    o.backoff.initial = milliseconds(5);
    o.backoff.max = milliseconds(20);
    o.backoff.seed = 9;
    auto e = Engine::create(o, std::move(profile), *store, SystemClock::instance(),
                            [c = cloud](TransportEventSink sink) { return std::make_unique<FakeTransport>(sink, c); });
    EXPECT_TRUE(e.is_ok()) << e.status().to_string();
    return std::move(*e);
  }

  bool drained(seconds timeout = seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      store->flush();
      if (*store->count("cloud") == 0) return true;
      std::this_thread::sleep_for(milliseconds(5));
    }
    return false;
  }

  std::multiset<int64_t> delivered() {
    std::lock_guard lock(cloud->mu);
    std::multiset<int64_t> out;
    for (const auto& b : cloud->delivered) out.insert(b.begin(), b.end());
    return out;
  }
};

TEST(EngineTest, RejectsBadOptions) {
  Fixture f;
  UplinkOptions o;
  EXPECT_FALSE(Engine::create(o, std::make_unique<TestProfile>(), *f.store, SystemClock::instance()).is_ok());
  o.name = "x";
  o.topic_template = "gw/{nope}";
  EXPECT_EQ(Engine::create(o, std::make_unique<TestProfile>(), *f.store, SystemClock::instance()).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(EngineTest, RetriesUntilDeliveredAndBatchSeqsIncrease) {
  Fixture f;
  f.append(300);
  // Every third publish fails transiently.
  f.cloud->policy = [](const std::vector<int64_t>&, int attempt) {
    return attempt % 3 == 1 ? Outcome::kRetry : Outcome::kDelivered;
  };
  UplinkOptions o;
  o.max_messages = 25;
  o.breaker.failure_threshold = 0;
  auto e = f.engine(o);
  e->start();
  ASSERT_TRUE(f.drained());
  e->stop(seconds(1));
  const auto got = f.delivered();
  EXPECT_EQ(std::set<int64_t>(got.begin(), got.end()).size(), 300u);
  EXPECT_EQ(got.size(), 300u) << "a failed attempt is not counted as delivered";
  const auto s = e->stats();
  EXPECT_GT(s.publish_retries, 0u);
  EXPECT_EQ(s.messages_sent, 300u);
  EXPECT_EQ(f.store->last_batch_seq("cloud"), s.last_batch_seq);
  EXPECT_EQ(f.cloud->batch_seqs.size(), s.batches_sent) << "batch-seq never reused";
}

TEST(EngineTest, BisectsARefusedBatchAndDropsOnlyThePoisonMessage) {
  Fixture f;
  f.append(40);
  // The cloud refuses any batch holding seq 17.
  f.cloud->policy = [](const std::vector<int64_t>& seqs, int) {
    return std::find(seqs.begin(), seqs.end(), 17) != seqs.end() ? Outcome::kReject : Outcome::kDelivered;
  };
  UplinkOptions o;
  o.max_messages = 40;
  auto e = f.engine(o);
  e->start();
  ASSERT_TRUE(f.drained());
  e->stop(seconds(1));
  const auto got = f.delivered();
  EXPECT_EQ(got.size(), 39u);
  EXPECT_EQ(got.count(17), 0u);
  EXPECT_EQ(e->stats().dropped_messages, 1u);
  EXPECT_GE(e->stats().rejected_batches, 2u);
}

TEST(EngineTest, OversizeMessageIsDroppedAndCounted) {
  Fixture f;
  f.append(3, 20);
  {
    store::NewRow r;
    r.uplink = "cloud";
    r.route = "r";
    r.message.received_at_ms = SystemClock::instance().wall_ms();
    std::mt19937 rng(5);  // incompressible: too big for 4 KiB even alone
    for (int i = 0; i < 20000; ++i) r.message.payload += static_cast<char>(rng() & 0xff);
    ASSERT_TRUE(f.store->append({r}, {}).is_ok());
    f.store->flush();
  }
  UplinkOptions o;
  o.max_bytes = 4096;
  auto e = f.engine(o);
  e->start();
  ASSERT_TRUE(f.drained());
  e->stop(seconds(1));
  EXPECT_EQ(f.delivered().size(), 3u);
  EXPECT_EQ(e->stats().dropped_messages, 1u);
}

TEST(EngineTest, CloudDownKeepsRowsAndBreakerOpens) {
  Fixture f;
  f.append(10);
  f.cloud->refuse_connect = true;
  UplinkOptions o;
  o.breaker.failure_threshold = 3;
  o.breaker.open_for = milliseconds(100);
  auto e = f.engine(o);
  e->start();
  EXPECT_EQ(breaker_becomes(*e, BreakerState::kOpen), BreakerState::kOpen);
  EXPECT_EQ(*f.store->count("cloud"), 10);
  {
    std::lock_guard lock(f.cloud->mu);
    f.cloud->refuse_connect = false;
  }
  ASSERT_TRUE(f.drained());
  EXPECT_EQ(breaker_becomes(*e, BreakerState::kClosed), BreakerState::kClosed);
  EXPECT_GE(e->stats().connect_failures, 3u);
  e->stop(seconds(1));
}

// Issue 5: "an IoT Hub disconnect right after publishing slows the token
// bucket instead of tripping the breaker".
TEST(EngineTest, ACloseRightAfterAPublishReadAsThrottlingSlowsTheRateNotTheBreaker) {
  Fixture f;
  f.append(300);
  f.cloud->close_after = [](int attempt) { return attempt < 3; };  // the first three publishes
  UplinkOptions o;
  o.max_messages = 50;
  o.max_inflight = 1;
  o.breaker.failure_threshold = 2;  // two failures would open it
  auto e = f.engine(o, std::make_unique<TestProfile>(1000, true));
  e->start();
  ASSERT_TRUE(f.drained());
  e->stop(seconds(1));
  const auto s = e->stats();
  EXPECT_EQ(s.breaker_transitions, 0u);
  EXPECT_EQ(s.throttled, 3u);
  EXPECT_LT(s.rate_factor, 1.0) << "halved three times (1/8), recovering 1/16 per acknowledged batch";
  EXPECT_EQ(s.connects, 4u);
  const auto got = f.delivered();
  EXPECT_EQ(std::set<int64_t>(got.begin(), got.end()).size(), 300u) << "nothing lost";
  EXPECT_EQ(got.size(), 300u) << "each acknowledged exactly once";
  // At-least-once: only the batches the cloud closed on were seen twice.
  std::lock_guard lock(f.cloud->mu);
  EXPECT_LE(f.cloud->received.size() - 300, 3u * 50u);
}

TEST(EngineTest, ClosesThatGoOnAtTheLowestRateTripTheBreaker) {
  Fixture f;
  f.append(20);
  f.cloud->close_after = [](int) { return true; };
  UplinkOptions o;
  o.max_inflight = 1;
  // Each reconnect succeeds (a breaker success), so the consecutive rule
  // never fires here; the rate rule sees success, failure, success, ...
  o.breaker.failure_threshold = 0;
  o.breaker.failure_rate = 0.5;
  o.breaker.rate_window = 6;
  o.breaker.rate_min_calls = 6;
  o.breaker.open_for = seconds(30);
  auto e = f.engine(o, std::make_unique<TestProfile>(1000, true));
  e->start();
  breaker_becomes(*e, BreakerState::kOpen, seconds(10));
  e->stop(seconds(1));
  const auto s = e->stats();
  EXPECT_EQ(s.breaker, BreakerState::kOpen);
  EXPECT_EQ(s.throttled, 4u) << "1 -> 1/2 -> 1/4 -> 1/8 -> 1/16, then failures";
  EXPECT_EQ(*f.store->count("cloud"), 20) << "rows stay queued";
}

TEST(EngineTest, AProfileThatDoesNotReadClosesCountsThemAsFailures) {
  Fixture f;
  f.append(20);
  f.cloud->close_after = [](int attempt) { return attempt == 0; };
  UplinkOptions o;
  o.breaker.failure_threshold = 1;
  o.breaker.open_for = milliseconds(50);
  auto e = f.engine(o, std::make_unique<TestProfile>(1000, false));
  e->start();
  ASSERT_TRUE(f.drained());
  e->stop(seconds(1));
  EXPECT_EQ(e->stats().throttled, 0u);
  EXPECT_GE(e->stats().breaker_transitions, 1u) << "opened by the close";
}

TEST(EngineTest, StopReleasesUnsentRows) {
  Fixture f;
  f.append(50);
  // The cloud never answers: in-flight batches are abandoned at stop.
  f.cloud->policy = [](const std::vector<int64_t>&, int) { return Outcome::kRetry; };
  UplinkOptions o;
  o.max_messages = 10;
  o.breaker.failure_threshold = 0;
  auto e = f.engine(o);
  e->start();
  std::this_thread::sleep_for(milliseconds(100));
  e->stop(milliseconds(50));
  f.store->flush();
  EXPECT_EQ(*f.store->count("cloud"), 50);
  // Everything is leasable again.
  auto rows = f.store->lease("cloud", 100, 1 << 20);
  ASSERT_TRUE(rows.is_ok());
  EXPECT_EQ(rows->size(), 50u);
}

// The watchdog's view (issue 7): the loop beats while connected and idle,
// and also while the cloud refuses every connect and the breaker holds it.
TEST(EngineTest, HeartbeatAdvancesWhileIdleAndWhileTheCloudIsDown) {
  Fixture f;
  f.cloud->refuse_connect = true;
  UplinkOptions o;
  o.breaker.failure_threshold = 2;
  o.breaker.open_for = seconds(30);  // held open for the whole test
  auto e = f.engine(o);
  EXPECT_FALSE(e->heartbeat()) << "not running before start()";
  e->start();
  auto beats_within = [&](milliseconds d) {
    const auto deadline = std::chrono::steady_clock::now() + seconds(5);
    std::optional<uint64_t> first;
    while (std::chrono::steady_clock::now() < deadline && !(first = e->heartbeat())) {
      std::this_thread::sleep_for(milliseconds(1));
    }
    if (!first) return uint64_t{0};
    std::this_thread::sleep_for(d);
    return e->heartbeat().value_or(0) - *first;
  };
  ASSERT_EQ(breaker_becomes(*e, BreakerState::kOpen), BreakerState::kOpen);
  EXPECT_GE(beats_within(milliseconds(700)), 2u) << "the loop wakes at least every 250 ms";
  e->stop(seconds(0));
  EXPECT_FALSE(e->heartbeat()) << "not running after stop()";
}

TEST(EngineTest, HeartbeatAdvancesWhileConnectedAndIdle) {
  Fixture f;
  auto e = f.engine(UplinkOptions{});
  e->start();
  const auto deadline = std::chrono::steady_clock::now() + seconds(5);
  while (std::chrono::steady_clock::now() < deadline && !e->stats().connected) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  ASSERT_TRUE(e->stats().connected);
  const uint64_t before = e->heartbeat().value_or(0);
  std::this_thread::sleep_for(milliseconds(700));
  EXPECT_GE(e->heartbeat().value_or(0) - before, 2u);
  e->stop(seconds(0));
}

TEST(EngineTest, PublishLatencyIsReportedOncePerDeliveredBatch) {
  Fixture f;
  f.append(100);
  f.cloud->policy = [](const std::vector<int64_t>&, int attempt) {
    return attempt == 0 ? Outcome::kRetry : Outcome::kDelivered;  // a retried batch is not observed
  };
  std::mutex mu;
  std::vector<std::chrono::nanoseconds> seen;
  UplinkOptions o;
  o.max_messages = 10;
  o.breaker.failure_threshold = 0;
  o.on_publish_acked = [&](std::chrono::nanoseconds d) {
    std::lock_guard lock(mu);
    seen.push_back(d);
  };
  auto e = f.engine(o);
  e->start();
  ASSERT_TRUE(f.drained());
  e->stop(seconds(1));
  std::lock_guard lock(mu);
  EXPECT_EQ(seen.size(), e->stats().batches_sent);
  for (auto d : seen) {
    EXPECT_GE(d.count(), 0);
    EXPECT_LT(d, seconds(10));
  }
}

TEST(EngineTest, BatchesWaitingForTheTokenBucketAreCounted) {
  Fixture f;
  f.append(30);
  UplinkOptions o;
  o.max_messages = 1;  // 30 batches at 20/s: the bucket (one second of burst) runs dry
  Limits limits;
  limits.max_publishes_per_s = 20;
  auto e = f.engine(o, 0, limits);
  e->start();
  ASSERT_TRUE(f.drained());
  e->stop(seconds(1));
  EXPECT_GE(e->stats().rate_limit_waits, 1u);
  EXPECT_EQ(e->stats().messages_sent, 30u);
}

TEST(EngineTest, StatsCarryWhenTheCredentialsExpire) {
  Fixture f;
  const int64_t expires = SystemClock::instance().wall_ms() + 3'600'000;
  auto e = f.engine(UplinkOptions{}, expires);
  EXPECT_EQ(e->stats().credentials_expire_at_ms, 0);
  e->start();
  const auto deadline = std::chrono::steady_clock::now() + seconds(5);
  while (std::chrono::steady_clock::now() < deadline && !e->stats().connected) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_EQ(e->stats().credentials_expire_at_ms, expires);
  e->stop(seconds(0));
}

}  // namespace
}  // namespace gw::uplink
