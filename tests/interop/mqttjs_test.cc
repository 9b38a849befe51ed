// Runs mqttjs_test.js (MQTT.js from npm, MQTT 5) against the in-process
// broker. node_modules is installed by scripts/setup (`npm ci`); when it is
// missing the test tries `npm ci` once and is skipped, saying why, when npm
// cannot reach its registry.
#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>

#include "gateway/broker/broker.h"
#include "tests/support/process.h"

namespace gw::broker {
namespace {

using namespace std::chrono_literals;

class CountingSink : public IngressSink {
 public:
  void on_publish(const Message& msg, Done done) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      topics_.push_back(msg.topic);
    }
    done(Status::ok());
  }
  std::vector<std::string> topics() {
    std::lock_guard<std::mutex> lock(mu_);
    return topics_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> topics_;
};

TEST(MqttJsInterop, QoS2UserPropertiesTopicAliasRequestResponseWill) {
  namespace fs = std::filesystem;
  const fs::path dir = gw::testing::source_path("tests/interop");
  if (gw::testing::run_command({"node", "--version"}, 10s).exit_code != 0) GTEST_SKIP() << "node is not installed";
  if (!fs::exists(dir / "node_modules/mqtt/package.json")) {
    const auto r = gw::testing::run_command(
        {"sh", "-c", "cd '" + dir.string() + "' && npm ci --no-audit --no-fund </dev/null 2>&1"}, 300s);
    if (r.exit_code != 0) {
      GTEST_SKIP() << "MQTT.js is not installed and `npm ci` in tests/interop failed (no registry?): " << r.out;
    }
  }
  CountingSink sink;
  BrokerOptions o;
  o.listeners = {ListenerOptions{"local", "127.0.0.1", 0}};
  auto b = Broker::create(std::move(o), sink, SystemClock::instance());
  ASSERT_TRUE(b.is_ok());
  ASSERT_TRUE(b.value()->start().is_ok());
  const auto r = gw::testing::run_command(
      {"node", (dir / "mqttjs_test.js").string(), std::to_string(b.value()->bound_port("local"))}, 60s);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  // 25 QoS 2 + 1 user properties + 3 aliased + 8 for outbound aliases +
  // request and response + will, each exactly once into the sink.
  EXPECT_EQ(sink.topics().size(), 40u) << r.out;
}

}  // namespace
}  // namespace gw::broker
