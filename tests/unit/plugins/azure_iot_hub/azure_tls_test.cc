// Azure IoT Hub profile end to end over TLS against mosquitto (a stand-in for
// the hub's MQTT front end; the SAS signature itself is checked in
// azure_iot_hub_test.cc): the user name format on the wire, the telemetry
// topic with its property bag, token renewal by reconnecting before expiry,
// and a cloud-to-device message reaching the downlink handler with its
// property bag as user properties.
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "gateway/store/store.h"
#include "gateway/uplink/engine.h"
#include "plugins/azure_iot_hub/azure_iot_hub.h"
#include "tests/support/process.h"
#include "tests/support/test_pki.h"

namespace gw::plugins::azure_iot_hub {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

template <typename F>
bool eventually(F&& f, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(milliseconds(25));
  }
  return f();
}

TEST(AzureStandInTest, DeliversRenewsTokenBeforeExpiryAndReceivesC2D) {
  gw::testing::TempDir pki_dir;
  gw::testing::TestPki pki(pki_dir.path(), "azure");
  const uint16_t tls_port = gw::testing::free_port();
  const uint16_t plain_port = gw::testing::free_port();
  gw::testing::Mosquitto hub("per_listener_settings false\nallow_anonymous true\nmax_qos 1\n"
                             "log_type all\nconnection_messages true\nuser root\n"
                             "listener " + std::to_string(plain_port) + " 127.0.0.1\n"
                             "listener " + std::to_string(tls_port) + " 127.0.0.1\n"
                             "certfile " + pki.server().cert.string() + "\n"
                             "keyfile " + pki.server().key.string() + "\n",
                             plain_port);
  ASSERT_TRUE(gw::testing::wait_for_port(tls_port));

  gw::testing::TempDir dir;
  const auto sub_out = dir / "sub.out";
  gw::testing::Process sub({"mosquitto_sub", "-h", "127.0.0.1", "-p", std::to_string(plain_port), "-t",
                            "devices/line3-gw/messages/events/#", "-q", "1", "-F", "%t"},
                           sub_out);

  store::StoreOptions so;
  so.path = (dir / "queue.db").string();
  so.durability = store::Durability::kOs;
  auto st = store::Store::open(so, SystemClock::instance());
  ASSERT_TRUE(st.is_ok());
  auto append = [&](int n) {
    for (int i = 0; i < n; ++i) {
      store::NewRow r;
      r.uplink = "azure";
      r.route = "telemetry";
      r.message.topic = "plant/1/t";
      r.message.received_at_ms = SystemClock::instance().wall_ms();
      r.message.payload = "{\"i\":" + std::to_string(i) + "}";
      EXPECT_TRUE((*st)->append({r}, {}).is_ok());
    }
    (*st)->flush();
  };

  Settings s;
  s.host = "localhost";
  s.port = tls_port;
  s.device_id = "line3-gw";
  s.sas_key = "+XLy+MVZ+aTeOnVzN2kLeB16O+kSxmz6g3rS6fAf6rw=";
  s.token_ttl = seconds(3);  // renewed at 80%: about every 2.4 s
  s.ca_file = pki.ca_cert().string();
  auto profile = make_profile(s);
  ASSERT_TRUE(profile.is_ok()) << profile.status().to_string();

  std::mutex mu;
  std::vector<uplink::Publish> c2d;
  uplink::UplinkOptions o;
  o.name = "azure";
  o.gateway_id = "gw1";
  o.linger = milliseconds(20);
  o.backoff.initial = milliseconds(100);
  o.downlink = {{"devices/line3-gw/messages/devicebound", "local/c2d/{gateway_id}"}};
  o.on_downlink = [&](uplink::Publish p) {
    std::lock_guard lock(mu);
    c2d.push_back(std::move(p));
  };
  auto engine = uplink::Engine::create(o, std::move(*profile), **st, SystemClock::instance());
  ASSERT_TRUE(engine.is_ok()) << engine.status().to_string();
  (*engine)->start();

  append(20);
  ASSERT_TRUE(eventually([&] { return *(*st)->count("azure") == 0; }, seconds(5)));
  const std::string topics = gw::testing::read_file(sub_out);
  EXPECT_NE(topics.find("devices/line3-gw/messages/events/$.ct=application%2Fx-ndjson&$.ce=gzip&$.mid=gw1-"),
            std::string::npos)
      << topics;

  // The token lives 3 s: the engine reconnects with a fresh one before it expires.
  ASSERT_TRUE(eventually([&] { return (*engine)->stats().credential_renewals >= 1; }, seconds(5)));
  ASSERT_TRUE(eventually([&] { return (*engine)->stats().connected; }, seconds(3)));
  append(10);
  ASSERT_TRUE(eventually([&] { return *(*st)->count("azure") == 0; }, seconds(5))) << "delivers after renewal";
  EXPECT_GE((*engine)->stats().connects, 2u);
  EXPECT_EQ((*engine)->stats().connect_failures, 0u);

  // A C2D message with a property bag reaches the downlink handler.
  ASSERT_TRUE(eventually(
      [&] {
        gw::testing::run_command({"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(plain_port), "-q", "1",
                                  "-t", "devices/line3-gw/messages/devicebound/%24.mid=m7&valve=open%20now", "-m",
                                  "{\"cmd\":1}"});
        std::lock_guard lock(mu);
        return !c2d.empty();
      },
      seconds(5)));
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(c2d[0].topic, "local/c2d/gw1");
    EXPECT_EQ(c2d[0].payload, "{\"cmd\":1}");
    const std::vector<UserProperty> expected = {{"$.mid", "m7"}, {"valve", "open now"}};
    EXPECT_EQ(c2d[0].user_properties, expected);
  }
  (*engine)->stop(seconds(1));

  // On the wire: the hub's user name format.
  hub.stop();  // flushes the log
  const std::string log = gw::testing::read_file(hub.dir() / "mosquitto.log");
  ASSERT_FALSE(log.empty()) << "no mosquitto log";
  EXPECT_NE(log.find("as line3-gw"), std::string::npos) << log;
  EXPECT_NE(log.find("u'localhost/line3-gw/?api-version=2021-04-12'"), std::string::npos) << log;
}

}  // namespace
}  // namespace gw::plugins::azure_iot_hub
