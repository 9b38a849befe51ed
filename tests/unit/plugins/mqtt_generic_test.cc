#include "plugins/mqtt_generic/mqtt_generic.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "gateway/store/store.h"
#include "gateway/uplink/engine.h"
#include "gateway/uplink/envelope.h"
#include "tests/support/process.h"

namespace gw::plugins::mqtt_generic {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

Settings basic() {
  Settings s;
  s.host = "127.0.0.1";
  s.port = 1884;
  s.client_id = "gw-test";
  return s;
}

TEST(MqttGenericTest, ValidatesSettings) {
  EXPECT_TRUE(make_profile(basic()).is_ok());
  auto s = basic();
  s.host.clear();
  EXPECT_EQ(make_profile(s).status().code(), StatusCode::kInvalidArgument);
  s = basic();
  s.mqtt_version = 3;
  EXPECT_FALSE(make_profile(s).is_ok());
  s = basic();
  s.cert_file = "/etc/hostname";
  EXPECT_NE(make_profile(s).status().message().find("key_file"), std::string::npos);
  s = basic();
  s.ca_file = "/nonexistent/ca.pem";
  EXPECT_NE(make_profile(s).status().message().find("ca_file"), std::string::npos);
}

TEST(MqttGenericTest, RegistryChecksKeys) {
  uplink::Registry reg;
  register_profile(reg);
  EXPECT_EQ(reg.types(), std::vector<std::string>{"mqtt"});
  auto ok = reg.create("mqtt", {{"host", "h"}, {"client_id", "c"}, {"port", "8883"}, {"mqtt_version", "3.1.1"},
                                {"keepalive", "10s"}, {"tls", "true"}});
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_EQ((*ok)->type(), "mqtt");
  EXPECT_NE((*ok)->describe().find("mqtts://h:8883"), std::string::npos);
  auto typo = reg.create("mqtt", {{"host", "h"}, {"client_id", "c"}, {"hots", "x"}});
  EXPECT_EQ(typo.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(typo.status().message().find("'hots'"), std::string::npos);
  EXPECT_EQ(reg.create("mqtt", {{"client_id", "c"}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(reg.create("mqtt", {{"host", "h"}, {"client_id", "c"}, {"port", "99999"}}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(reg.create("kafka", {}).status().code(), StatusCode::kNotFound);
}

TEST(MqttGenericTest, RatesAreUnlimitedUnlessConfigured) {
  uplink::Registry reg;
  register_profile(reg);
  EXPECT_EQ(reg.find("mqtt")->max_publishes_per_s, 0) << "no quota of its own";
  auto dflt = reg.create("mqtt", {{"host", "h"}, {"client_id", "c"}});
  ASSERT_TRUE(dflt.is_ok());
  EXPECT_EQ((*dflt)->limits().max_publishes_per_s, 0);
  auto set = reg.create("mqtt", {{"host", "h"}, {"client_id", "c"}, {"max_publishes_per_s", "7"},
                                 {"max_bytes_per_s", "1000"}});
  ASSERT_TRUE(set.is_ok()) << set.status().to_string();
  EXPECT_EQ((*set)->limits().max_publishes_per_s, 7);
  EXPECT_EQ((*set)->limits().max_bytes_per_s, 1000);
}

TEST(MqttGenericTest, ShapesMetadataAsMqtt5Properties) {
  auto p = make_profile(basic());
  ASSERT_TRUE(p.is_ok());
  uplink::OutgoingBatch b;
  b.topic = "gw/g1/r";
  b.payload = "x";
  b.metadata.gateway_id = "g1";
  b.metadata.batch_seq = 12;
  b.metadata.count = 3;
  auto pub = (*p)->shape(b);
  ASSERT_TRUE(pub.is_ok());
  EXPECT_EQ(pub->qos, 1);
  EXPECT_EQ(pub->content_type, "application/x-ndjson");
  const std::vector<UserProperty> expected = {
      {"content-encoding", "gzip"}, {"gateway-id", "g1"}, {"batch-seq", "12"}, {"count", "3"}};
  EXPECT_EQ(pub->user_properties, expected);

  auto v3 = basic();
  v3.mqtt_version = 4;
  auto p3 = make_profile(v3);
  ASSERT_TRUE(p3.is_ok());
  auto pub3 = (*p3)->shape(b);
  ASSERT_TRUE(pub3.is_ok());
  EXPECT_FALSE(pub3->content_type.has_value());
  EXPECT_TRUE(pub3->user_properties.empty());
  b.topic = "gw/+/x";
  EXPECT_EQ((*p)->shape(b).status().code(), StatusCode::kInvalidArgument);
}

// ---- against a real mosquitto -------------------------------------------------

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

std::string unhex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

// mosquitto_sub printing "topic|user properties|hex payload" per message.
class Subscriber {
 public:
  Subscriber(uint16_t port, const std::filesystem::path& out) : out_(out) {
    std::string why;
    proc_ = gw::testing::start_subscriber(port, "gw/#", "gw/probe", out, &why);
    if (!proc_) ADD_FAILURE() << why;
  }

  // Every seq in the batches received so far; checks each batch's metadata.
  std::multiset<int64_t> seqs(size_t* batches = nullptr) const {
    std::multiset<int64_t> out;
    size_t n = 0;
    for (const auto& line : split_lines(gw::testing::read_file(out_))) {
      const size_t a = line.find('|');
      const size_t b = line.find('|', a + 1);
      if (a == std::string::npos || b == std::string::npos) continue;
      const std::string topic = line.substr(0, a);
      if (topic == "gw/probe") continue;
      const std::string props = line.substr(a + 1, b - a - 1);
      auto lines = uplink::decode_batch(unhex(line.substr(b + 1)));
      EXPECT_TRUE(lines.is_ok()) << lines.status().to_string();
      if (!lines) continue;
      EXPECT_NE(props.find("content-encoding:gzip"), std::string::npos) << props;
      EXPECT_NE(props.find("gateway-id:gw1"), std::string::npos) << props;
      EXPECT_NE(props.find("count:" + std::to_string(lines->size())), std::string::npos) << props;
      ++n;
      for (const auto& l : *lines) {
        const auto j = nlohmann::json::parse(l);
        EXPECT_EQ(topic, "gw/gw1/" + j["route"].get<std::string>());
        out.insert(j["seq"].get<int64_t>());
      }
    }
    if (batches) *batches = n;
    return out;
  }

  bool wait_for(size_t n, seconds timeout = seconds(20)) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      const auto got = seqs();
      if (std::set<int64_t>(got.begin(), got.end()).size() >= n) return true;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return false;
  }

 private:
  std::filesystem::path out_;
  std::unique_ptr<gw::testing::Process> proc_;
};

std::vector<int64_t> append(store::Store& st, int first, int n, int64_t wall_ms) {
  std::vector<int64_t> seqs;
  std::atomic<int> done{0};
  for (int i = 0; i < n; ++i) {
    store::NewRow r;
    r.uplink = "cloud";
    r.route = i % 3 == 0 ? "alarms" : "telemetry";
    r.message.topic = "plant/1/m" + std::to_string(first + i);
    r.message.qos = 1;
    r.message.client_id = "dev";
    r.message.received_at_ms = wall_ms;
    r.message.payload = i % 5 == 0 ? std::string("\x01\x02\x03", 3) : "{\"i\":" + std::to_string(first + i) + "}";
    r.message.properties.user = {{"line", "3"}};
    EXPECT_TRUE(st.append({r}, [&](const Status& s) {
                    EXPECT_TRUE(s.is_ok());
                    ++done;
                  }).is_ok());
  }
  st.flush();
  EXPECT_EQ(done.load(), n);
  return seqs;
}

bool wait_count(store::Store& st, int64_t n, seconds timeout = seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    st.flush();
    auto c = st.count("cloud");
    if (c.is_ok() && *c == n) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return false;
}

TEST(MqttGenericEngineTest, DeliversEverythingAndSurvivesABrokerOutage) {
  gw::testing::TempDir dir;
  gw::testing::Mosquitto broker;
  const Clock& clock = SystemClock::instance();
  store::StoreOptions so;
  so.path = (dir / "queue.db").string();
  so.durability = store::Durability::kOs;
  auto st = store::Store::open(so, clock);
  ASSERT_TRUE(st.is_ok()) << st.status().to_string();
  store::Store& store = **st;

  Subscriber sub(broker.port(), dir / "sub1.out");
  append(store, 0, 500, clock.wall_ms());

  auto s = basic();
  s.port = broker.port();
  auto profile = make_profile(s);
  ASSERT_TRUE(profile.is_ok());
  uplink::UplinkOptions o;
  o.name = "cloud";
  o.gateway_id = "gw1";
  o.max_messages = 64;
  o.linger = milliseconds(50);
  o.backoff.initial = milliseconds(50);
  o.backoff.max = milliseconds(300);
  o.backoff.seed = 1;
  o.breaker.failure_threshold = 1;       // the first loss opens it...
  o.breaker.open_for = milliseconds(4000);  // ...so no reconnect races the test's subscriber
  auto engine = uplink::Engine::create(o, std::move(*profile), store, clock);
  ASSERT_TRUE(engine.is_ok()) << engine.status().to_string();
  (*engine)->start();

  ASSERT_TRUE(sub.wait_for(500));
  ASSERT_TRUE(wait_count(store, 0)) << "rows are deleted once acknowledged";
  size_t batches = 0;
  auto got = sub.seqs(&batches);
  EXPECT_EQ(std::set<int64_t>(got.begin(), got.end()).size(), 500u);
  EXPECT_GE(batches, 500u / 64);
  auto stats = (*engine)->stats();
  EXPECT_EQ(stats.messages_sent, 500u);
  EXPECT_TRUE(stats.connected);
  EXPECT_GT(stats.raw_bytes_sent, stats.bytes_sent) << "compressed";

  // Cloud down: rows stay queued.
  broker.stop();
  append(store, 500, 200, clock.wall_ms());
  const auto until = std::chrono::steady_clock::now() + milliseconds(1000);
  while (std::chrono::steady_clock::now() < until && (*engine)->stats().connected) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_FALSE((*engine)->stats().connected);
  EXPECT_EQ(*store.count("cloud"), 200);
  EXPECT_EQ((*engine)->stats().breaker, uplink::BreakerState::kOpen);
  const uint64_t connects_before = (*engine)->stats().connects;

  // Back up: everything goes out, nothing lost.
  broker.start();
  Subscriber sub2(broker.port(), dir / "sub2.out");
  ASSERT_EQ((*engine)->stats().connects, connects_before) << "engine reconnected before the subscriber was ready";
  ASSERT_TRUE(sub2.wait_for(200, seconds(30)));
  ASSERT_TRUE(wait_count(store, 0));
  auto got2 = sub2.seqs();
  std::set<int64_t> all(got.begin(), got.end());
  all.insert(got2.begin(), got2.end());
  EXPECT_EQ(all.size(), 700u);
  EXPECT_EQ((*engine)->stats().breaker, uplink::BreakerState::kClosed);
  EXPECT_GT((*engine)->stats().last_batch_seq, 0u);

  (*engine)->stop(seconds(2));
  EXPECT_EQ(store.last_batch_seq("cloud"), (*engine)->stats().last_batch_seq);
}

}  // namespace
}  // namespace gw::plugins::mqtt_generic
