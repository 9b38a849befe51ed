// The whole path on loopback, with real third-party parts on both ends:
// mosquitto_pub devices -> edge-gateway (the shipped binary) -> mosquitto as
// the cloud, received by mosquitto_sub and decoded with the batch decoder.
#include <signal.h>

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "tests/integration/cloud_sink.h"
#include "tests/support/process.h"

namespace gw::testing {
namespace {

std::string gateway_binary() { return built_binary("gateway/app/edge-gateway").string(); }

class EndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    device_port_ = free_port();
    cloud_ = std::make_unique<Mosquitto>();
    config_ = dir_ / "gateway.yaml";
    write_config(R"(uplinks:
  - name: cloud
    type: mqtt
    host: 127.0.0.1
    port: )" + std::to_string(cloud_->port()) + R"(
    client_id: it-gw
    topic: "gw/{gateway_id}/{route}"
    batch: {max_messages: 1000, max_bytes: 65536, linger: 100ms}
    compression: gzip
routes:
  - name: alarms
    match:
      topic: ["plant/+/alarm/#"]
      properties: {severity: high}
    to: [cloud]
  - name: telemetry
    match: {topic: "plant/#"}
    to: cloud
default_route: drop
)");
  }

  // gateway.yaml: the gateway, its listener and store, then `rest` (uplinks, routes).
  void write_config(const std::string& rest) { write_file(config_, gateway_yaml_head("it-gw", device_port_) + rest); }

  void start_gateway() {
    gateway_ = std::make_unique<Process>(
        std::vector<std::string>{gateway_binary(), "run", "--config", config_.string()}, dir_ / "gateway.log");
    ASSERT_TRUE(wait_for_port(device_port_)) << read_file(dir_ / "gateway.log");
  }

  // Publishes messages {"stream": stream, "n": 1..count} with mosquitto_pub -l
  // (one connection); returns mosquitto_pub's exit code.
  int publish(const std::string& stream, int count, const std::string& topic, const std::string& args) {
    const auto lines = dir_ / (stream + ".lines");
    {
      std::ofstream out(lines);
      for (int i = 1; i <= count; ++i) out << R"({"stream":")" << stream << R"(","n":)" << i << "}\n";
    }
    return run_command({"sh", "-c",
                        "mosquitto_pub -h 127.0.0.1 -p " + std::to_string(device_port_) + " -t " + topic + " " +
                            args + " -l < " + lines.string()})
        .exit_code;
  }

  TempDir dir_;
  uint16_t device_port_ = 0;
  std::unique_ptr<Mosquitto> cloud_;
  std::filesystem::path config_;
  std::unique_ptr<Process> gateway_;
};

TEST_F(EndToEnd, EveryQos1MessageArrivesWithUserPropertiesIntact) {
  CloudSink sink(cloud_->port(), dir_.path());
  start_gateway();
  ASSERT_EQ(publish("v311", 200, "plant/line1/telemetry", "-V mqttv311 -q 1 -i dev-311"), 0);
  ASSERT_EQ(publish("alarm", 200, "plant/line2/alarm/overheat",
                    "-V mqttv5 -q 1 -i dev-5 -D publish user-property severity high "
                    "-D publish user-property line l2 -D publish user-property severity again"),
            0);
  ASSERT_EQ(publish("q0", 50, "plant/line3/telemetry", "-V mqttv5 -q 0 -i dev-q0"), 0);
  ASSERT_EQ(publish("unrouted", 20, "office/printer", "-V mqttv5 -q 1 -i dev-office"), 0);

  ASSERT_TRUE(sink.wait_for([](const auto& msgs) {
    auto c = count_streams(msgs);
    return c.distinct("v311") == 200 && c.distinct("alarm") == 200;
  })) << read_file(dir_ / "gateway.log");

  const auto msgs = sink.messages();
  const auto counts = count_streams(msgs);
  EXPECT_EQ(counts.distinct("unrouted"), 0u) << "default_route: drop must drop";
  EXPECT_LE(counts.distinct("q0"), 50u);
  size_t alarms = 0;
  for (const auto& m : msgs) {
    if (m["payload"].value("stream", "") != "alarm") continue;
    ++alarms;
    EXPECT_EQ(m["route"], "alarms");
    EXPECT_EQ(m["topic"], "plant/line2/alarm/overheat");
    EXPECT_EQ(m["qos"], 1);
    // Ordered and repeatable, exactly as published.
    EXPECT_EQ(m["props"], nlohmann::json::parse(R"([["severity","high"],["line","l2"],["severity","again"]])"));
  }
  EXPECT_GE(alarms, 200u);
  // Batching: far fewer cloud publishes than device messages.
  EXPECT_LT(sink.batches(), 100u);

  EXPECT_EQ(gateway_->kill(SIGTERM, false), -1);
  EXPECT_EQ(gateway_->wait(std::chrono::seconds(20)), 0) << read_file(dir_ / "gateway.log");
}

TEST_F(EndToEnd, QueuedMessagesSurviveACloudOutageAndAGatewayRestart) {
  start_gateway();
  cloud_->stop();
  // The gateway acknowledges (the messages are on disk) although the cloud is down.
  ASSERT_EQ(publish("outage", 300, "plant/line1/telemetry", "-V mqttv5 -q 1 -i dev-outage"), 0);
  gateway_->kill(SIGTERM, false);
  ASSERT_EQ(gateway_->wait(std::chrono::seconds(20)), 0) << read_file(dir_ / "gateway.log");

  cloud_->start();
  CloudSink sink(cloud_->port(), dir_.path());
  start_gateway();
  ASSERT_TRUE(sink.wait_for([](const auto& msgs) { return count_streams(msgs).distinct("outage") == 300; }))
      << read_file(dir_ / "gateway.log");
}

// A route to two uplinks stores the message once per uplink (the first row
// gets a copy, the last the message itself): each must arrive whole.
TEST_F(EndToEnd, ARouteToTwoUplinksDeliversTheWholeMessageToEach) {
  write_config(R"(uplinks:
  - name: primary
    type: mqtt
    host: 127.0.0.1
    port: )" + std::to_string(cloud_->port()) + R"(
    client_id: it-gw-a
    topic: "a/{gateway_id}/{route}"
    batch: {linger: 100ms}
  - name: backup
    type: mqtt
    host: 127.0.0.1
    port: )" + std::to_string(cloud_->port()) + R"(
    client_id: it-gw-b
    topic: "b/{gateway_id}/{route}"
    batch: {linger: 100ms}
routes:
  - name: both
    match: {topic: "plant/#"}
    to: [primary, backup]
default_route: drop
)");
  std::filesystem::create_directories(dir_ / "a");
  std::filesystem::create_directories(dir_ / "b");
  CloudSink a(cloud_->port(), dir_ / "a", "a/#");
  CloudSink b(cloud_->port(), dir_ / "b", "b/#");
  start_gateway();
  ASSERT_EQ(publish("fan", 100, "plant/line1/telemetry",
                    "-V mqttv5 -q 1 -i dev-fan -D publish user-property line l1"),
            0);
  for (const CloudSink* sink : {&a, &b}) {
    ASSERT_TRUE(sink->wait_for([](const auto& msgs) { return count_streams(msgs).distinct("fan") == 100; }))
        << read_file(dir_ / "gateway.log");
    for (const auto& m : sink->messages()) {
      if (m["payload"].value("stream", "") != "fan") continue;
      EXPECT_EQ(m["topic"], "plant/line1/telemetry");
      EXPECT_EQ(m["client_id"], "dev-fan");
      EXPECT_EQ(m["route"], "both");
      EXPECT_EQ(m["props"], nlohmann::json::parse(R"([["line","l1"]])"));
    }
  }
}

TEST(CheckConfig, ReportsFileLineColumnAndExitsTwo) {
  TempDir dir;
  const auto config = dir / "bad.yaml";
  write_file(config, R"(gateway:
  id: x
listeners:
  - name: local
    bind: 127.0.0.1:1883
uplinks:
  - name: cloud
    type: mqtt
    host: 127.0.0.1
    port: 1884
    topic: "gw/{route}"
routes:
  - name: r
    match: {topic: "a/#/b"}
    to: [nowhere]
)");
  auto r = run_command({gateway_binary(), "check-config", config.string()});
  EXPECT_EQ(r.exit_code, 2);
  // Both problems, each with its position.
  EXPECT_NE(r.out.find(config.string() + ":14:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(config.string() + ":15:"), std::string::npos) << r.out;
}

// Issue 5: `limits:` may only lower a cloud's own quota; above it is an error
// at the value, from check-config and before `run` starts anything.
TEST(CheckConfig, UplinkLimitsAboveTheCloudsQuotaAreErrorsAtTheirPosition) {
  TempDir dir;
  const auto config = dir / "limits.yaml";
  write_file(config, R"(gateway: {id: x}
listeners: [{name: local, bind: 127.0.0.1:1883}]
uplinks:
  - name: hub
    type: azure_iot_hub
    host: h.azure-devices.net
    device_id: d1
    auth: {sas_key: a2V5}
    limits: {publishes_per_second: 7000}
  - name: aws
    type: aws_iot_core
    host: a-ats.iot.eu-west-1.amazonaws.com
    auth: {cert: c.pem, key: k.pem}
    limits: {publishes_per_second: 50, bytes_per_second: 1MiB}
  - name: plain
    type: mqtt
    host: 127.0.0.1
    limits: {publishes_per_second: 100000}
routes: [{name: r, to: [hub, aws, plain]}]
)");
  auto r = run_command({gateway_binary(), "check-config", config.string()});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find(config.string() + ":9:36: error: limits.publishes_per_second: 7000 is above the cloud's quota "
                                         "of 6000 per connection for uplink 'hub' (azure_iot_hub)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(config.string() + ":14:58: error: limits.bytes_per_second: 1048576 is above the cloud's "
                                         "quota of 524288 bytes per connection for uplink 'aws' (aws_iot_core)"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("plain"), std::string::npos) << "a generic broker has no quota of its own: " << r.out;
  auto run = run_command({gateway_binary(), "run", "--config", config.string()}, std::chrono::seconds(20));
  EXPECT_EQ(run.exit_code, 2) << "refused before starting";
}

}  // namespace
}  // namespace gw::testing
