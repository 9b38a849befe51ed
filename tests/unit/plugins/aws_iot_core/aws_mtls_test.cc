// AWS IoT Core stand-in: a real mosquitto with a TLS listener that requires
// client certificates from the test's own CA (use_identity_as_username),
// QoS 1 at most and a 128 KB message limit, like AWS's device endpoint. The
// engine with the aws_iot_core profile connects with mutual TLS, checks the
// server's name ("localhost") and delivers; a certificate from another CA is
// refused and the rows stay queued.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "gateway/store/store.h"
#include "gateway/uplink/engine.h"
#include "gateway/uplink/envelope.h"
#include "plugins/aws_iot_core/aws_iot_core.h"
#include "tests/support/process.h"
#include "tests/support/test_pki.h"

namespace gw::plugins::aws_iot_core {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct StandIn {
  gw::testing::TempDir pki_dir;
  gw::testing::TestPki pki{pki_dir.path(), "aws"};
  uint16_t tls_port = gw::testing::free_port();
  uint16_t plain_port = gw::testing::free_port();
  std::unique_ptr<gw::testing::Mosquitto> broker;

  StandIn() {
    // max_qos is a listener option: at the top it would create mosquitto's
    // default listener, 0.0.0.0:1883, and a second stand-in running in
    // parallel would then die on "Address already in use" just after its
    // own two listeners opened.
    const std::string conf =
        "per_listener_settings false\nallow_anonymous true\nmessage_size_limit 131072\n"
        "listener " + std::to_string(plain_port) + " 127.0.0.1\nmax_qos 1\n"
        "listener " + std::to_string(tls_port) + " 127.0.0.1\nmax_qos 1\n"
        "cafile " + pki.ca_cert().string() + "\n"
        "certfile " + pki.server().cert.string() + "\n"
        "keyfile " + pki.server().key.string() + "\n"
        "require_certificate true\nuse_identity_as_username true\n";
    broker = std::make_unique<gw::testing::Mosquitto>(conf, plain_port);
    EXPECT_TRUE(gw::testing::wait_for_port(tls_port, seconds(30))) << "TLS listener not up: " << broker->log();
  }
};

std::unique_ptr<store::Store> open_store(const gw::testing::TempDir& dir) {
  store::StoreOptions so;
  so.path = (dir / "queue.db").string();
  so.durability = store::Durability::kOs;
  auto st = store::Store::open(so, SystemClock::instance());
  EXPECT_TRUE(st.is_ok()) << st.status().to_string();
  return std::move(*st);
}

void append(store::Store& st, int n) {
  for (int i = 0; i < n; ++i) {
    store::NewRow r;
    r.uplink = "aws";
    r.route = "telemetry";
    r.message.topic = "plant/1/m" + std::to_string(i);
    r.message.qos = 1;
    r.message.received_at_ms = SystemClock::instance().wall_ms();
    r.message.payload = "{\"i\":" + std::to_string(i) + "}";
    EXPECT_TRUE(st.append({r}, {}).is_ok());
  }
  st.flush();
}

std::unique_ptr<uplink::Engine> make_engine(store::Store& st, const StandIn& s, const gw::testing::CertPair& client) {
  Settings cfg;
  cfg.host = "localhost";  // checked against the server certificate's SAN
  cfg.port = s.tls_port;
  cfg.client_id = "line3-gw";
  cfg.ca_file = s.pki.ca_cert().string();
  cfg.cert_file = client.cert.string();
  cfg.key_file = client.key.string();
  auto profile = make_profile(cfg);
  EXPECT_TRUE(profile.is_ok()) << profile.status().to_string();
  uplink::UplinkOptions o;
  o.name = "aws";
  o.gateway_id = "gw1";
  o.topic_template = "dt/{gateway_id}/{route}";
  o.max_messages = 50;
  o.linger = milliseconds(20);
  o.backoff.initial = milliseconds(100);
  o.backoff.max = milliseconds(300);
  o.backoff.seed = 3;
  auto e = uplink::Engine::create(o, std::move(*profile), st, SystemClock::instance());
  EXPECT_TRUE(e.is_ok()) << e.status().to_string();
  return std::move(*e);
}

std::string unhex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

TEST(AwsStandInTest, WrongClientCertificateIsRefusedAndRowsStayQueued) {
  StandIn s;
  gw::testing::TempDir dir;
  auto st = open_store(dir);
  append(*st, 40);
  gw::testing::TempDir rogue_dir;
  gw::testing::TestPki rogue(rogue_dir.path(), "rogue");
  auto engine = make_engine(*st, s, rogue.issue_client("line3-gw"));
  engine->start();
  const auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (std::chrono::steady_clock::now() < deadline && engine->stats().connect_failures < 2) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  const auto stats = engine->stats();
  engine->stop(milliseconds(500));
  EXPECT_GE(stats.connect_failures, 2u);
  EXPECT_EQ(stats.connects, 0u);
  EXPECT_EQ(stats.messages_sent, 0u);
  st->flush();
  EXPECT_EQ(*st->count("aws"), 40) << "nothing leaves the queue without the cloud's PUBACK";
}

TEST(AwsStandInTest, MutualTlsDeliversWithMqtt5Metadata) {
  StandIn s;
  gw::testing::TempDir dir;
  // A local subscriber on the stand-in's plain listener sees what "AWS" got.
  const auto out = dir / "sub.out";
  std::string why;
  auto sub = gw::testing::start_subscriber(s.plain_port, "dt/#", "dt/probe", out, &why);
  ASSERT_TRUE(sub) << why << "\nbroker log: " << s.broker->log();
  auto st = open_store(dir);
  append(*st, 300);
  auto engine = make_engine(*st, s, s.pki.issue_client("line3-gw"));
  engine->start();
  std::set<int64_t> seqs;
  const auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (std::chrono::steady_clock::now() < deadline && seqs.size() < 300) {
    std::this_thread::sleep_for(milliseconds(50));
    seqs.clear();
    std::istringstream in(gw::testing::read_file(out));
    for (std::string line; std::getline(in, line);) {
      const size_t a = line.find('|');
      const size_t b = line.find('|', a + 1);
      if (a == std::string::npos || b == std::string::npos || line.substr(0, a) != "dt/gw1/telemetry") continue;
      const std::string props = line.substr(a + 1, b - a - 1);
      EXPECT_NE(props.find("gateway-id:gw1"), std::string::npos) << props;
      EXPECT_NE(props.find("content-encoding:gzip"), std::string::npos) << props;
      auto lines = uplink::decode_batch(unhex(line.substr(b + 1)));
      ASSERT_TRUE(lines.is_ok());
      for (const auto& l : *lines) seqs.insert(nlohmann::json::parse(l)["seq"].get<int64_t>());
    }
  }
  EXPECT_EQ(seqs.size(), 300u);
  const auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - t0 < seconds(5)) {
    st->flush();
    if (*st->count("aws") == 0) break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_EQ(*st->count("aws"), 0) << "rows are deleted once acknowledged";
  const auto stats = engine->stats();
  EXPECT_EQ(stats.connects, 1u);
  EXPECT_EQ(stats.messages_sent, 300u);
  engine->stop(seconds(1));
}

}  // namespace
}  // namespace gw::plugins::aws_iot_core
