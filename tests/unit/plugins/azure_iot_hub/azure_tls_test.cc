// The Azure IoT Hub profile and the uplink engine over real TLS against the
// Azure stand-in (tests/support/azure_standin.h), which checks what IoT Hub
// checks: MQTT 3.1.1, client id, the user name, the SAS signature with the
// device key and its expiry, the telemetry topic with its property bag, QoS
// and retain, the C2D subscription. Also the stand-in's own refusals, driven
// with mosquitto_pub, so a lenient stand-in cannot make the tests pass.
#include <gtest/gtest.h>

#include <mutex>
#include <set>

#include "gateway/store/store.h"
#include "gateway/uplink/engine.h"
#include "gateway/uplink/envelope.h"
#include "plugins/azure_iot_hub/azure_iot_hub.h"
#include "plugins/azure_iot_hub/sas_token.h"
#include "tests/support/azure_standin.h"
#include "tests/support/process.h"
#include "tests/support/test_pki.h"

namespace gw::plugins::azure_iot_hub {
namespace {

using gw::testing::AzureStandIn;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kKey = "+XLy+MVZ+aTeOnVzN2kLeB16O+kSxmz6g3rS6fAf6rw=";
constexpr const char* kOtherKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

template <typename F>
bool eventually(F&& f, milliseconds timeout) {
  return AzureStandIn::eventually(std::forward<F>(f), timeout);
}

class AzureHub : public ::testing::Test {
 protected:
  AzureHub() : pki_(pki_dir_.path(), "azure") {
    gw::testing::AzureStandInOptions o;
    o.device_id = "line3-gw";
    o.device_key = kKey;
    o.cert = pki_.server().cert;
    o.key = pki_.server().key;
    hub_ = std::make_unique<AzureStandIn>(o);
  }

  void SetUp() override {
    ASSERT_NE(hub_->port(), 0);
    store::StoreOptions so;
    so.path = (dir_ / "queue.db").string();
    so.durability = store::Durability::kOs;
    auto st = store::Store::open(so, SystemClock::instance());
    ASSERT_TRUE(st.is_ok()) << st.status().to_string();
    store_ = std::move(st).value();
  }

  void TearDown() override {
    if (engine_) engine_->stop(seconds(1));
  }

  // Appends {"stream": "s", "n": first..first+count-1}.
  void append(int first, int count) {
    for (int i = first; i < first + count; ++i) {
      store::NewRow r;
      r.uplink = "azure";
      r.route = "telemetry";
      r.message.topic = "plant/1/t";
      r.message.received_at_ms = SystemClock::instance().wall_ms();
      r.message.payload = "{\"stream\":\"s\",\"n\":" + std::to_string(i) + "}";
      ASSERT_TRUE(store_->append({r}, {}).is_ok());
    }
    store_->flush();
  }

  size_t queued() { return *store_->count("azure"); }

  void start_engine(Settings s, uplink::UplinkOptions o = {}) {
    s.host = "localhost";
    s.port = hub_->port();
    s.device_id = "line3-gw";
    s.ca_file = pki_.ca_cert().string();
    if (s.sas_key.empty()) s.sas_key = kKey;
    auto profile = make_profile(s);
    ASSERT_TRUE(profile.is_ok()) << profile.status().to_string();
    o.name = "azure";
    o.gateway_id = "gw1";
    o.linger = milliseconds(20);
    o.backoff.initial = milliseconds(100);
    o.backoff.max = milliseconds(500);
    auto engine = uplink::Engine::create(o, std::move(*profile), *store_, SystemClock::instance());
    ASSERT_TRUE(engine.is_ok()) << engine.status().to_string();
    engine_ = std::move(engine).value();
    engine_->start();
  }

  // Every device message the hub received: n -> times seen (with
  // `closed_sessions_only`, only on connections the hub closed for throttling,
  // whose PUBACKs the gateway may not have had).
  std::map<int, int> received(bool closed_sessions_only = false) {
    std::set<int> closed;
    for (const auto& t : hub_->telemetry()) {
      if (t.throttled) closed.insert(t.session);
    }
    std::map<int, int> seen;
    for (const auto& t : hub_->telemetry()) {
      if (closed_sessions_only && closed.count(t.session) == 0) continue;
      auto lines = uplink::decode_batch(t.payload);
      EXPECT_TRUE(lines.is_ok()) << t.topic;
      if (!lines.is_ok()) continue;
      for (const auto& l : *lines) {
        const size_t at = l.find("\"n\":");
        if (at != std::string::npos) ++seen[std::stoi(l.substr(at + 4))];
      }
    }
    return seen;
  }

  gw::testing::TempDir pki_dir_;
  gw::testing::TestPki pki_;
  gw::testing::TempDir dir_;
  std::unique_ptr<AzureStandIn> hub_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<uplink::Engine> engine_;
};

std::string prop(const gw::testing::StandInTelemetry& t, const std::string& key) {
  for (const auto& [k, v] : t.properties) {
    if (k == key) return v;
  }
  return "<missing>";
}

// For failure messages: " s<session>[T]/<batch-seq>" per publish the hub got
// (T: it closed the connection on it), only those carrying message `n` if >= 0.
std::string where(const AzureStandIn& hub, int n) {
  std::string out;
  for (const auto& t : hub.telemetry()) {
    bool has = n < 0;
    if (!has) {
      auto lines = uplink::decode_batch(t.payload);
      for (const auto& l : lines.is_ok() ? *lines : std::vector<std::string>{}) {
        has = has || l.find("\"n\":" + std::to_string(n) + "}") != std::string::npos;
      }
    }
    if (has) out += " s" + std::to_string(t.session) + (t.throttled ? "T" : "") + "/" + prop(t, "batch-seq");
  }
  return out;
}

TEST_F(AzureHub, DeliversWithTheDocumentedPropertyBagAndAValidToken) {
  start_engine(Settings{});
  append(1, 50);
  ASSERT_TRUE(eventually([&] { return queued() == 0; }, seconds(10)));
  ASSERT_FALSE(hub_->connects().empty());
  const auto c = hub_->connects().front();
  EXPECT_EQ(c.protocol_level, 4);
  EXPECT_EQ(c.client_id, "line3-gw");
  EXPECT_EQ(c.username, "localhost/line3-gw/?api-version=2021-04-12");
  EXPECT_EQ(c.return_code, 0) << c.why;
  EXPECT_GT(c.token_expiry_s, c.at_ms / 1000 + 3000) << "default lifetime 1 h";

  const auto seen = received();
  EXPECT_EQ(seen.size(), 50u);
  for (const auto& [n, times] : seen) EXPECT_EQ(times, 1) << "message " << n;
  for (const auto& t : hub_->telemetry()) {
    EXPECT_EQ(t.qos, 1);
    ASSERT_GE(t.properties.size(), 6u) << t.topic;
    // System properties first, then the application properties.
    EXPECT_EQ(t.properties[0], std::make_pair(std::string("$.ct"), std::string("application/x-ndjson")));
    EXPECT_EQ(t.properties[1], std::make_pair(std::string("$.ce"), std::string("gzip")));
    EXPECT_EQ(prop(t, "$.mid"), "gw1-" + prop(t, "batch-seq"));
    EXPECT_EQ(prop(t, "gateway-id"), "gw1");
    EXPECT_EQ(prop(t, "topic"), "gw/gw1/telemetry");
  }
  EXPECT_TRUE(hub_->violations().empty()) << hub_->violations().front();
}

TEST_F(AzureHub, RenewsTheTokenBeforeItExpiresAndLosesNothing) {
  Settings s;
  // Renewed at 80%, about every 6.4 s. The 1.6 s left cover Paho, which often
  // takes a second to reconnect (its threads poll once a second).
  s.token_ttl = seconds(8);
  start_engine(s);
  int next = 1;
  // Keep traffic flowing across a renewal.
  const auto until = std::chrono::steady_clock::now() + seconds(9);
  while (std::chrono::steady_clock::now() < until) {
    append(next, 10);
    next += 10;
    std::this_thread::sleep_for(milliseconds(200));
  }
  ASSERT_TRUE(eventually([&] { return queued() == 0; }, seconds(10)));

  const auto connects = hub_->connects();
  ASSERT_GE(connects.size(), 2u) << "a renewal within 9 s with an 8 s token";
  for (size_t i = 0; i < connects.size(); ++i) {
    EXPECT_EQ(connects[i].return_code, 0) << connects[i].why;
    if (i == 0) continue;
    // Each reconnect comes before the previous token expired, with a later one.
    EXPECT_LT(connects[i].at_ms, connects[i - 1].token_expiry_s * 1000) << "connect " << i;
    EXPECT_GT(connects[i].token_expiry_s, connects[i - 1].token_expiry_s);
  }
  EXPECT_EQ(hub_->expired_sessions(), 0u) << "the hub never had to drop an expired session";
  EXPECT_GE(engine_->stats().credential_renewals, 1u);
  EXPECT_EQ(engine_->stats().connect_failures, 0u);

  const auto seen = received();
  EXPECT_EQ(seen.size(), static_cast<size_t>(next - 1));
  size_t dups = 0;
  for (const auto& [n, times] : seen) dups += static_cast<size_t>(times - 1);
  EXPECT_EQ(dups, 0u) << "renewal waits for in-flight batches, so nothing is resent";
}

TEST_F(AzureHub, C2DMessageReachesTheDownlinkWithItsPropertyBag) {
  std::mutex mu;
  std::vector<uplink::Publish> c2d;
  uplink::UplinkOptions o;
  o.downlink = {{"devices/line3-gw/messages/devicebound", "local/c2d/{gateway_id}"}};
  o.on_downlink = [&](uplink::Publish p) {
    std::lock_guard lock(mu);
    c2d.push_back(std::move(p));
  };
  start_engine(Settings{}, o);
  ASSERT_TRUE(eventually([&] { return hub_->c2d_subscribed(); }, seconds(10)));
  ASSERT_TRUE(hub_->send_c2d("%24.mid=m7&%24.ct=application%2Fjson&valve=open%20now", "{\"cmd\":1}"));
  ASSERT_TRUE(eventually(
      [&] {
        std::lock_guard lock(mu);
        return !c2d.empty();
      },
      seconds(5)));
  EXPECT_TRUE(eventually([&] { return hub_->c2d_acknowledged() == 1; }, seconds(5)));
  std::lock_guard lock(mu);
  EXPECT_EQ(c2d[0].topic, "local/c2d/gw1");
  EXPECT_EQ(c2d[0].payload, "{\"cmd\":1}");
  const std::vector<UserProperty> expected = {{"$.mid", "m7"}, {"$.ct", "application/json"}, {"valve", "open now"}};
  EXPECT_EQ(c2d[0].user_properties, expected);
  EXPECT_EQ(c2d[0].content_type, "application/json");
}

// Issue 5: an IoT Hub disconnect right after publishing is throttling: the
// rate drops, the breaker stays closed, nothing is lost, and only the
// messages of the publishes the hub closed on may arrive twice.
TEST_F(AzureHub, ADisconnectRightAfterAPublishSlowsTheRateAndKeepsTheBreakerClosed) {
  append(1, 200);
  hub_->set_throttle_disconnects(3);
  uplink::UplinkOptions o;
  o.max_messages = 10;
  o.breaker.failure_threshold = 1;  // a single failure would open it
  start_engine(Settings{}, o);
  ASSERT_TRUE(eventually([&] { return engine_->stats().throttled == 3; }, seconds(10))) << where(*hub_, -1);
  EXPECT_LE(engine_->stats().rate_factor, 0.25) << "halved three times from the default 100 publishes/s";
  ASSERT_TRUE(eventually([&] { return queued() == 0; }, seconds(20)));

  const auto s = engine_->stats();
  EXPECT_EQ(s.breaker_transitions, 0u);
  EXPECT_EQ(s.breaker, uplink::BreakerState::kClosed);
  EXPECT_EQ(s.throttled, 3u);
  EXPECT_EQ(s.connects, 4u);
  EXPECT_EQ(hub_->open_sessions(), 1u);

  const auto seen = received();
  const auto closed_on = received(true);
  EXPECT_EQ(seen.size(), 200u) << "nothing lost";
  // At-least-once: a message arrives again only when the hub closed the
  // connection it came on (its PUBACK may not have left), never otherwise.
  size_t dups = 0;
  for (const auto& [n, times] : seen) {
    dups += static_cast<size_t>(times - 1);
    const auto it = closed_on.find(n);
    EXPECT_LE(times - 1, it == closed_on.end() ? 0 : it->second) << "message " << n << ":" << where(*hub_, n);
  }
  EXPECT_GT(dups, 0u) << "the stand-in counted the closed-on publishes as received";
  EXPECT_TRUE(hub_->violations().empty()) << hub_->violations().front();
}

TEST_F(AzureHub, WrongKeyIsRefusedAndRowsStayQueued) {
  Settings s;
  s.sas_key = kOtherKey;
  start_engine(s);
  append(1, 20);
  ASSERT_TRUE(eventually([&] { return engine_->stats().connect_failures >= 2; }, seconds(10)));
  const auto connects = hub_->connects();
  ASSERT_FALSE(connects.empty());
  EXPECT_EQ(connects.front().return_code, 4);
  EXPECT_NE(connects.front().why.find("signature"), std::string::npos) << connects.front().why;
  EXPECT_EQ(queued(), 20u);
  EXPECT_TRUE(hub_->telemetry().empty());
}

// ---- the stand-in's own rules, with a third-party client ----------------------

class StandInRules : public AzureHub {
 protected:
  // mosquitto_pub over TLS to the stand-in; returns its exit code.
  int pub(const std::vector<std::string>& extra, const std::string& password) {
    std::vector<std::string> argv = {"mosquitto_pub", "-h", "localhost", "-p", std::to_string(hub_->port()),
                                     "--cafile", pki_.ca_cert().string(), "-i", "line3-gw", "-u",
                                     "localhost/line3-gw/?api-version=2021-04-12", "-P", password, "-m", "x"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return gw::testing::run_command(argv, seconds(20)).exit_code;
  }
  std::string token(int64_t expiry_s, const char* key = kKey) {
    return *make_sas_token("localhost/devices/line3-gw", key, expiry_s);
  }
  int64_t now_s() { return SystemClock::instance().wall_ms() / 1000; }
};

TEST_F(StandInRules, AcceptsAValidTokenAndTheTelemetryTopic) {
  EXPECT_EQ(pub({"-V", "mqttv311", "-q", "1", "-t", "devices/line3-gw/messages/events/a=1"}, token(now_s() + 60)), 0);
  ASSERT_EQ(hub_->telemetry().size(), 1u);
  EXPECT_EQ(hub_->telemetry()[0].properties, (std::vector<std::pair<std::string, std::string>>{{"a", "1"}}));
}

TEST_F(StandInRules, RefusesMqtt5WithReturnCode1) {
  EXPECT_NE(pub({"-V", "mqttv5", "-q", "1", "-t", "devices/line3-gw/messages/events/"}, token(now_s() + 60)), 0);
  ASSERT_EQ(hub_->connects().size(), 1u);
  EXPECT_EQ(hub_->connects()[0].protocol_level, 5);
  EXPECT_EQ(hub_->connects()[0].return_code, 1);
  EXPECT_TRUE(hub_->telemetry().empty());
}

TEST_F(StandInRules, RefusesAnExpiredOrForeignToken) {
  EXPECT_NE(pub({"-V", "mqttv311", "-t", "devices/line3-gw/messages/events/"}, token(now_s() - 1)), 0);
  EXPECT_NE(pub({"-V", "mqttv311", "-t", "devices/line3-gw/messages/events/"}, token(now_s() + 60, kOtherKey)), 0);
  const auto c = hub_->connects();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].return_code, 5) << c[0].why;
  EXPECT_EQ(c[1].return_code, 4) << c[1].why;
  EXPECT_TRUE(hub_->telemetry().empty());
}

TEST_F(StandInRules, ClosesOnAForbiddenTopicRetainOrQos2) {
  const std::string t = token(now_s() + 60);
  (void)pub({"-V", "mqttv311", "-q", "1", "-t", "devices/other/messages/events/"}, t);
  (void)pub({"-V", "mqttv311", "-q", "1", "-r", "-t", "devices/line3-gw/messages/events/"}, t);
  (void)pub({"-V", "mqttv311", "-q", "2", "-t", "devices/line3-gw/messages/events/"}, t);
  EXPECT_TRUE(hub_->telemetry().empty());
  const auto v = hub_->violations();
  ASSERT_EQ(v.size(), 3u);
  EXPECT_NE(v[0].find("not allowed"), std::string::npos) << v[0];
  EXPECT_NE(v[1].find("retained"), std::string::npos) << v[1];
  EXPECT_NE(v[2].find("QoS 2"), std::string::npos) << v[2];
}

TEST(StandInSas, ChecksMicrosoftsPublishedVector) {
  const std::string token =
      "SharedAccessSignature sr=iot-hub-for-test.azure-devices.net%2Fdevices%2Fiot-device-for-test"
      "&sig=SIumZ1ACqqPJZ2okHDlW9MSYKykEpqsQY3z6FMOICd4%3D&se=1471940363";
  int64_t se = 0;
  EXPECT_EQ(gw::testing::check_sas_token(token, "iot-hub-for-test.azure-devices.net/devices/iot-device-for-test",
                                         kKey, 1471940000, &se),
            "");
  EXPECT_EQ(se, 1471940363);
  EXPECT_NE(gw::testing::check_sas_token(token, "iot-hub-for-test.azure-devices.net/devices/iot-device-for-test",
                                         kKey, 1471940363, nullptr)
                .find("expired"),
            std::string::npos);
  EXPECT_NE(gw::testing::check_sas_token(token, "iot-hub-for-test.azure-devices.net/devices/iot-device-for-test",
                                         kOtherKey, 1471940000, nullptr)
                .find("signature"),
            std::string::npos);
}

}  // namespace
}  // namespace gw::plugins::azure_iot_hub
