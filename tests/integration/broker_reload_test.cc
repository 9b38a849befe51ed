// Issue 3: the password file is read again on SIGHUP. The shipped binary,
// users written by `edge-gateway passwd`, logins over a raw MQTT 5 client.
// SIGHUP also applies a changed `log:` level without a restart.
#include <signal.h>

#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "tests/integration/raw_mqtt_client.h"
#include "tests/support/process.h"

namespace gw::testing {
namespace {

using namespace std::chrono_literals;
using mqtt::ProtocolVersion;
using mqtt::ReasonCode;

class PasswordReload : public ::testing::Test {
 protected:
  void SetUp() override {
    passwd_ = dir_ / "passwd";
    set_password("alice", "alice-pw");
    config_ = dir_ / "gateway.yaml";
    write_file(config_, R"(gateway:
  id: reload-gw
  data_dir: ./var
listeners:
  - name: local
    bind: 127.0.0.1:)" + std::to_string(port_) + R"(
auth:
  allow_anonymous: false
  password_file: )" + passwd_.string() + R"(
store:
  path: queue.db
uplinks:
  - name: cloud
    type: mqtt
    host: 127.0.0.1
    port: )" + std::to_string(free_port()) + R"(
    topic: "gw/{gateway_id}/{route}"
routes:
  - name: all
    match: {topic: "#"}
    to: cloud
)");
    gateway_ = std::make_unique<Process>(
        std::vector<std::string>{binary(), "run", "--config", config_.string()}, log_);
    ASSERT_TRUE(wait_for_port(port_)) << read_file(log_);
  }

  static std::string binary() { return built_binary("gateway/app/edge-gateway").string(); }

  // `edge-gateway passwd FILE USER` with the password on stdin.
  void set_password(const std::string& user, const std::string& password) {
    const auto r = run_command({"sh", "-c", "printf '%s\\n' '" + password + "' | '" + binary() + "' passwd '" +
                                                passwd_.string() + "' '" + user + "' 2>&1"});
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }

  // The CONNACK reason for a login (kUnspecifiedError when none came).
  ReasonCode login(const std::string& user, const std::string& password) {
    RawMqttClient c(port_, ProtocolVersion::kV5);
    mqtt::Connect connect;
    connect.username = user;
    connect.password = password;
    auto ack = c.handshake("c-" + user, true, connect);
    return ack ? ack->reason_code : ReasonCode::kUnspecifiedError;
  }

  // Polls until a login gets `want` (the reload is posted to the io thread).
  bool eventually_login(const std::string& user, const std::string& password, ReasonCode want) {
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (login(user, password) == want) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  bool wait_for_log(const std::string& needle) {
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    while (read_file(log_).find(needle) == std::string::npos) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(10ms);
    }
    return true;
  }

  TempDir dir_;
  uint16_t port_ = free_port();
  std::filesystem::path passwd_, config_;
  std::filesystem::path log_ = dir_ / "gateway.log";
  std::unique_ptr<Process> gateway_;
};

TEST_F(PasswordReload, NewUserIsValidAfterSighupAndABadFileKeepsTheOldOne) {
  EXPECT_EQ(login("alice", "alice-pw"), ReasonCode::kSuccess) << read_file(log_);
  EXPECT_EQ(login("bob", "bob-pw"), ReasonCode::kBadUserNameOrPassword);

  set_password("bob", "bob-pw");
  EXPECT_EQ(login("bob", "bob-pw"), ReasonCode::kBadUserNameOrPassword) << "read only on SIGHUP";
  gateway_->kill(SIGHUP, /*wait=*/false);
  EXPECT_TRUE(eventually_login("bob", "bob-pw", ReasonCode::kSuccess)) << read_file(log_);
  EXPECT_EQ(login("alice", "alice-pw"), ReasonCode::kSuccess);

  // A changed password: the cached login of the old one must not survive.
  set_password("bob", "bob-new");
  gateway_->kill(SIGHUP, /*wait=*/false);
  EXPECT_TRUE(eventually_login("bob", "bob-pw", ReasonCode::kBadUserNameOrPassword)) << read_file(log_);
  EXPECT_EQ(login("bob", "bob-new"), ReasonCode::kSuccess);

  // A damaged file: the users in use stay, and the log says why.
  write_file(passwd_, "bob:not-a-hash\n");
  gateway_->kill(SIGHUP, /*wait=*/false);
  EXPECT_TRUE(wait_for_log("password file reload failed")) << read_file(log_);
  EXPECT_NE(read_file(log_).find(passwd_.string() + ":1:"), std::string::npos) << read_file(log_);
  EXPECT_EQ(login("bob", "bob-new"), ReasonCode::kSuccess);
  EXPECT_EQ(login("alice", "alice-pw"), ReasonCode::kSuccess);
  EXPECT_TRUE(gateway_->running());
}

// Debug for the broker during an incident, without dropping the devices:
// the new level applies on SIGHUP; a changed log file waits for a restart.
TEST_F(PasswordReload, LogLevelsChangeOnSighup) {
  const std::string debug_line = "broker: client 'c-alice' connected";
  ASSERT_EQ(login("alice", "alice-pw"), ReasonCode::kSuccess) << read_file(log_);
  std::string config = read_file(config_);
  write_file(config_, config + "log:\n  modules: {broker: debug}\n");
  gateway_->kill(SIGHUP, /*wait=*/false);
  ASSERT_TRUE(wait_for_log("log levels reloaded")) << read_file(log_);
  EXPECT_EQ(read_file(log_).find(debug_line), std::string::npos) << "info level before the reload";
  ASSERT_EQ(login("alice", "alice-pw"), ReasonCode::kSuccess);
  EXPECT_TRUE(wait_for_log(debug_line)) << read_file(log_);

  write_file(config_, config + "log:\n  file: other.log\n");
  gateway_->kill(SIGHUP, /*wait=*/false);
  EXPECT_TRUE(wait_for_log("log: file, rotation or repeats changed; restart the gateway to use them"))
      << read_file(log_);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "other.log"));
}

}  // namespace
}  // namespace gw::testing
