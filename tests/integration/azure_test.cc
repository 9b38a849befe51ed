// The shipped edge-gateway binary against the Azure IoT Hub stand-in
// (tests/support/azure_standin.h) over real TLS with a test-made CA:
// mosquitto_pub devices -> edge-gateway (real SQLite queue) -> the stand-in,
// which checks the SAS token, user name, topics and QoS as IoT Hub does and
// records what it got. Counts lost and duplicated messages.
#include <signal.h>

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

#include "gateway/uplink/envelope.h"
#include "tests/support/azure_standin.h"
#include "tests/support/process.h"
#include "tests/support/test_pki.h"

namespace gw::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kKey = "+XLy+MVZ+aTeOnVzN2kLeB16O+kSxmz6g3rS6fAf6rw=";
constexpr const char* kWrongKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

std::string gateway_binary() { return built_binary("gateway/app/edge-gateway").string(); }

class AzureGateway : public ::testing::Test {
 protected:
  AzureGateway() : pki_(pki_dir_.path(), "hub") {
    AzureStandInOptions o;
    o.device_id = "line3-gw";
    o.device_key = kKey;
    o.cert = pki_.server().cert;
    o.key = pki_.server().key;
    hub_ = std::make_unique<AzureStandIn>(o);
    device_port_ = free_port();
    config_ = dir_ / "gateway.yaml";
  }

  void write_config(const std::string& key, const std::string& token_ttl = "1h") {
    write_file(config_, R"(gateway: {id: it-gw, data_dir: ./var}
listeners:
  - {name: local, bind: 127.0.0.1:)" + std::to_string(device_port_) + R"(}
store: {path: queue.db, durability: os}
uplinks:
  - name: azure
    type: azure_iot_hub
    host: localhost
    port: )" + std::to_string(hub_->port()) + R"(
    device_id: line3-gw
    auth: {sas_key: ")" + key + R"(", token_ttl: )" + token_ttl + R"(}
    ca_file: )" + pki_.ca_cert().string() + R"(
    batch: {max_messages: 100, linger: 50ms}
    backoff: {initial: 200ms, max: 1s}
    downlink:
      - {from: "devices/line3-gw/messages/devicebound", to: "local/c2d/{gateway_id}"}
routes:
  - name: telemetry
    match: {topic: "plant/#"}
    to: azure
default_route: drop
)");
  }

  void start_gateway() {
    gateway_ = std::make_unique<Process>(
        std::vector<std::string>{gateway_binary(), "run", "--config", config_.string()}, dir_ / "gateway.log");
    ASSERT_TRUE(wait_for_port(device_port_)) << log();
  }

  void stop_gateway() {
    EXPECT_EQ(gateway_->kill(SIGTERM, false), -1);
    EXPECT_EQ(gateway_->wait(seconds(20)), 0) << log();
    gateway_.reset();
  }

  std::string log() { return read_file(dir_ / "gateway.log"); }

  // Publishes {"stream": stream, "n": first..first+count-1} at QoS 1 on one
  // connection with two user properties; returns mosquitto_pub's exit code.
  int publish(const std::string& stream, int first, int count) {
    const auto lines = dir_ / (stream + std::to_string(first) + ".lines");
    {
      std::ofstream out(lines);
      for (int i = first; i < first + count; ++i) out << R"({"stream":")" << stream << R"(","n":)" << i << "}\n";
    }
    return run_command({"sh", "-c",
                        "mosquitto_pub -h 127.0.0.1 -p " + std::to_string(device_port_) +
                            " -V mqttv5 -q 1 -i dev-" + stream + " -t plant/line1/telemetry"
                            " -D publish user-property line l1 -D publish user-property unit 'deg C' -l < " +
                            lines.string()})
        .exit_code;
  }

  // Device messages the hub got, decoded from every batch: n -> times.
  std::map<int, int> received(const std::string& stream) {
    std::map<int, int> seen;
    for (const auto& t : hub_->telemetry()) {
      auto lines = uplink::decode_batch(t.payload);
      if (!lines.is_ok()) continue;
      for (const auto& l : *lines) {
        const auto m = nlohmann::json::parse(l);
        if (m["payload"].value("stream", "") == stream) ++seen[m["payload"]["n"].get<int>()];
      }
    }
    return seen;
  }
  static size_t duplicates(const std::map<int, int>& seen) {
    size_t d = 0;
    for (const auto& [n, times] : seen) d += static_cast<size_t>(times - 1);
    return d;
  }

  std::string queue_stats() {
    auto r = run_command({gateway_binary(), "queue", "stats", "--config", config_.string()});
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return r.out;
  }

  TempDir pki_dir_;
  TestPki pki_;
  TempDir dir_;
  std::unique_ptr<AzureStandIn> hub_;
  uint16_t device_port_ = 0;
  std::filesystem::path config_;
  std::unique_ptr<Process> gateway_;
};

std::string prop(const StandInTelemetry& t, const std::string& key) {
  for (const auto& [k, v] : t.properties) {
    if (k == key) return v;
  }
  return "<missing>";
}

TEST_F(AzureGateway, DeliversEveryMessageOnceWithTheDocumentedPropertyBag) {
  write_config(kKey);
  start_gateway();
  constexpr int kN = 500;
  ASSERT_EQ(publish("a", 1, kN), 0);
  ASSERT_TRUE(AzureStandIn::eventually([&] { return received("a").size() == kN; }, seconds(30))) << log();
  stop_gateway();

  const auto seen = received("a");
  EXPECT_EQ(seen.size(), static_cast<size_t>(kN)) << "nothing lost";
  EXPECT_EQ(duplicates(seen), 0u);
  ASSERT_FALSE(hub_->connects().empty());
  EXPECT_EQ(hub_->connects().front().return_code, 0) << hub_->connects().front().why;
  EXPECT_TRUE(hub_->violations().empty()) << hub_->violations().front();

  size_t lines_total = 0;
  std::set<std::string> mids;
  for (const auto& t : hub_->telemetry()) {
    // System properties first, URL-decoded by the stand-in.
    ASSERT_GE(t.properties.size(), 7u) << t.topic;
    EXPECT_EQ(t.properties[0].first, "$.ct");
    EXPECT_EQ(t.properties[0].second, "application/x-ndjson");
    EXPECT_EQ(t.properties[1], std::make_pair(std::string("$.ce"), std::string("gzip")));
    EXPECT_EQ(prop(t, "$.mid"), "it-gw-" + prop(t, "batch-seq"));
    EXPECT_TRUE(mids.insert(prop(t, "$.mid")).second) << "message ids are unique";
    EXPECT_EQ(prop(t, "gateway-id"), "it-gw");
    EXPECT_EQ(prop(t, "topic"), "gw/it-gw/telemetry");
    auto lines = uplink::decode_batch(t.payload);
    ASSERT_TRUE(lines.is_ok());
    EXPECT_EQ(prop(t, "count"), std::to_string(lines->size()));
    lines_total += lines->size();
    for (const auto& l : *lines) {
      const auto m = nlohmann::json::parse(l);
      EXPECT_EQ(m["topic"], "plant/line1/telemetry");
      // Device-side MQTT 5 user properties, in order, inside the envelope.
      EXPECT_EQ(m["props"], nlohmann::json::parse(R"([["line","l1"],["unit","deg C"]])"));
    }
  }
  EXPECT_EQ(lines_total, static_cast<size_t>(kN));
  EXPECT_LT(hub_->telemetry().size(), static_cast<size_t>(kN) / 4) << "batched";
  EXPECT_NE(queue_stats().find("queued: 0 rows"), std::string::npos) << queue_stats();
}

TEST_F(AzureGateway, RenewsItsTokenBeforeItExpiresAndLosesNothing) {
  // Renewed at 80% of 8 s; the 1.6 s left cover a slow reconnect.
  write_config(kKey, "8s");
  start_gateway();
  int next = 1;
  const auto until = std::chrono::steady_clock::now() + seconds(9);
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_EQ(publish("r", next, 20), 0);
    next += 20;
    std::this_thread::sleep_for(milliseconds(300));
  }
  const size_t total = static_cast<size_t>(next - 1);
  ASSERT_TRUE(AzureStandIn::eventually([&] { return received("r").size() == total; }, seconds(20))) << log();

  const auto connects = hub_->connects();
  ASSERT_GE(connects.size(), 2u) << log();
  for (size_t i = 0; i < connects.size(); ++i) {
    EXPECT_EQ(connects[i].return_code, 0) << connects[i].why;
    EXPECT_LE(connects[i].token_expiry_s * 1000 - connects[i].at_ms, 9000) << "token_ttl: 8s is what is used";
    if (i == 0) continue;
    EXPECT_LT(connects[i].at_ms, connects[i - 1].token_expiry_s * 1000) << "reconnect " << i << " came too late";
    EXPECT_GT(connects[i].token_expiry_s, connects[i - 1].token_expiry_s) << "a fresh token";
  }
  EXPECT_EQ(hub_->expired_sessions(), 0u) << "the hub never had to drop a session with an expired token";
  stop_gateway();
  const auto seen = received("r");
  EXPECT_EQ(seen.size(), total);
  EXPECT_EQ(duplicates(seen), 0u);
}

TEST_F(AzureGateway, C2DMessageReachesALocalSubscriberWithItsBagAsUserProperties) {
  write_config(kKey);
  start_gateway();
  const auto out = dir_ / "c2d.out";
  Process sub({"sh", "-c",
               "exec mosquitto_sub -h 127.0.0.1 -p " + std::to_string(device_port_) +
                   " -V mqttv5 -q 1 -i local-app -t 'local/#' -F '%t|%P|%p' > " + out.string()});
  // The subscriber is in place once a local probe comes back.
  ASSERT_TRUE(AzureStandIn::eventually(
      [&] {
        run_command({"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(device_port_), "-t", "local/probe",
                     "-m", "p"});
        return !read_file(out).empty();
      },
      seconds(10)));
  ASSERT_TRUE(AzureStandIn::eventually([&] { return hub_->c2d_subscribed(); }, seconds(10))) << log();

  ASSERT_TRUE(hub_->send_c2d("%24.mid=m-42&%24.ct=application%2Fjson&valve=open%20now&a%26b=c%3Dd", "{\"cmd\":\"open\"}"));
  ASSERT_TRUE(AzureStandIn::eventually([&] { return read_file(out).find("local/c2d/it-gw|") != std::string::npos; },
                                       seconds(10)))
      << log();
  EXPECT_TRUE(AzureStandIn::eventually([&] { return hub_->c2d_acknowledged() == 1; }, seconds(5)));
  const std::string text = read_file(out);
  const std::string line = text.substr(text.find("local/c2d/it-gw|"));
  EXPECT_EQ(line.substr(0, line.find('\n')),
            "local/c2d/it-gw|$.mid:m-42 $.ct:application/json valve:open now a&b:c=d|{\"cmd\":\"open\"}");
  stop_gateway();
}

TEST_F(AzureGateway, AWrongKeyIsRefusedAndMessagesStayQueuedUntilTheRightOne) {
  write_config(kWrongKey);
  start_gateway();
  ASSERT_EQ(publish("k", 1, 50), 0);
  ASSERT_TRUE(AzureStandIn::eventually(
      [&] {
        const auto c = hub_->connects();
        return c.size() >= 2 && c[0].return_code == 4 && c[1].return_code == 4;
      },
      seconds(15)))
      << log();
  EXPECT_NE(hub_->connects()[0].why.find("signature"), std::string::npos) << hub_->connects()[0].why;
  EXPECT_TRUE(hub_->telemetry().empty());
  stop_gateway();
  EXPECT_NE(queue_stats().find("queued: 50 rows"), std::string::npos) << queue_stats();

  write_config(kKey);
  start_gateway();
  ASSERT_TRUE(AzureStandIn::eventually([&] { return received("k").size() == 50; }, seconds(20))) << log();
  stop_gateway();
  EXPECT_EQ(duplicates(received("k")), 0u);
  EXPECT_NE(queue_stats().find("queued: 0 rows"), std::string::npos) << queue_stats();
}

}  // namespace
}  // namespace gw::testing
