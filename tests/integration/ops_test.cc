// Operating the shipped binary: /metrics parsed by a strict Prometheus text
// parser with every required metric present, /healthz following a real cloud
// outage (mosquitto stopped past the breaker threshold, then back), and
// `edge-gateway status` reading both.
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "gateway/core/cpu_affinity.h"
#include "gateway/telemetry/http_server.h"
#include "tests/support/process.h"
#include "tests/support/test_pki.h"
#include "tests/unit/telemetry/prom_text_parser.h"

namespace gw::testing {
namespace {

using namespace std::chrono_literals;

std::string gateway_binary() { return built_binary("gateway/app/edge-gateway").string(); }

// Every family an operator is promised (README, "Metrics").
const char* const kRequiredFamilies[] = {
    "edge_gateway_build_info",
    "edge_gateway_uptime_seconds",
    "edge_gateway_resident_memory_bytes",
    "edge_gateway_connections",
    "edge_gateway_connections_accepted_total",
    "edge_gateway_messages_in_total",
    "edge_gateway_bytes_in_total",
    "edge_gateway_messages_routed_total",
    "edge_gateway_messages_dropped_total",
    "edge_gateway_ingest_refused_total",
    "edge_gateway_protocol_errors_total",
    "edge_gateway_store_up",
    "edge_gateway_store_rows",
    "edge_gateway_store_file_bytes",
    "edge_gateway_store_commits_total",
    "edge_gateway_store_group_size",
    "edge_gateway_store_commit_latency_seconds",
    "edge_gateway_disk_written_bytes_total",
    "edge_gateway_uplink_connected",
    "edge_gateway_uplink_batches_sent_total",
    "edge_gateway_uplink_messages_sent_total",
    "edge_gateway_uplink_bytes_sent_total",
    "edge_gateway_uplink_compression_ratio",
    "edge_gateway_uplink_retries_total",
    "edge_gateway_uplink_breaker_state",
    "edge_gateway_uplink_breaker_transitions_total",
    "edge_gateway_uplink_connects_total",
    "edge_gateway_uplink_connect_failures_total",
    // Issue 7, second round: queue age, cloud latency, rate limiting.
    "edge_gateway_store_oldest_age_seconds",
    "edge_gateway_store_commit_seconds_total",
    "edge_gateway_uplink_publish_latency_seconds",
    "edge_gateway_uplink_raw_bytes_sent_total",
    "edge_gateway_uplink_throttled_total",
    "edge_gateway_uplink_rate_limit_waits_total",
    "edge_gateway_uplink_rate_factor",
    "edge_gateway_uplink_credential_renewals_total",
    "edge_gateway_uplink_inflight_batches",
};

// Every reason edge_gateway_messages_dropped_total carries, at 0 or more.
const char* const kDropReasons[] = {"no_route", "route_drop", "quota", "store_refused",
                                    "acl",      "malformed",  "ttl",   "evicted"};

class Ops : public ::testing::Test {
 protected:
  void SetUp() override {
    device_port_ = free_port();
    http_port_ = free_port();
    cloud_ = std::make_unique<Mosquitto>();
    config_ = dir_ / "gateway.yaml";
    write_file(config_, gateway_yaml_head("ops-gw", device_port_) + R"(uplinks:
  - name: cloud
    type: mqtt
    host: 127.0.0.1
    port: )" + std::to_string(cloud_->port()) + R"(
    client_id: ops-gw
    batch: {max_messages: 1000, max_bytes: 65536, linger: 50ms}
    backoff: {initial: 50ms, max: 200ms}
routes:
  - name: telemetry
    match: {topic: "plant/#"}
    to: cloud
  - name: shortlived
    match: {topic: "ephemeral/#"}
    to: cloud
    ttl: 1s
acl:
  - {who: any, deny: [publish], topics: ["forbidden/#"]}
  - {who: any, allow: [publish, subscribe], topics: ["#"]}
default_route: drop
telemetry:
  http: 127.0.0.1:)" + std::to_string(http_port_) + "\n");
    base_ = "http://127.0.0.1:" + std::to_string(http_port_);
  }

  void start_gateway() {
    gateway_ = std::make_unique<Process>(
        std::vector<std::string>{gateway_binary(), "run", "--config", config_.string()}, dir_ / "gateway.log");
    ASSERT_TRUE(wait_for_port(http_port_)) << read_file(dir_ / "gateway.log");
  }

  int health_status() {
    auto r = telemetry::http_get(base_ + "/healthz");
    return r.is_ok() ? r->status : -1;
  }

  // Polls /healthz until it answers `status`; returns the last body.
  bool wait_health(int status, std::chrono::seconds timeout, std::string* body = nullptr) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = telemetry::http_get(base_ + "/healthz");
      if (r.is_ok() && r->status == status) {
        if (body) *body = r->body;
        return true;
      }
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  prom::Parsed scrape() {
    auto r = telemetry::http_get(base_ + "/metrics");
    EXPECT_TRUE(r.is_ok()) << r.status().message();
    if (!r.is_ok()) return {};
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->content_type, "text/plain; version=0.0.4; charset=utf-8");
    return prom::parse(r->body);
  }

  // Polls /metrics until `name{labels}` reaches `at_least`.
  bool wait_metric(const std::string& name, const std::map<std::string, std::string>& labels, double at_least) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      const double v = scrape().value(name, labels);
      if (!std::isnan(v) && v >= at_least) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  int publish(int count, const std::string& topic, int qos) {
    const auto lines = dir_ / "lines";
    {
      std::ofstream out(lines);
      for (int i = 1; i <= count; ++i) out << R"({"n":)" << i << "}\n";
    }
    return run_command({"sh", "-c",
                        "mosquitto_pub -h 127.0.0.1 -p " + std::to_string(device_port_) + " -q " + std::to_string(qos) +
                            " -t " + topic + " -l < " + lines.string()})
        .exit_code;
  }

  TempDir dir_;
  uint16_t device_port_ = 0;
  uint16_t http_port_ = 0;
  std::string base_;
  std::unique_ptr<Mosquitto> cloud_;
  std::filesystem::path config_;
  std::unique_ptr<Process> gateway_;
};


TEST_F(Ops, MetricsAreStrictPrometheusTextAndCountTheTraffic) {
  start_gateway();
  ASSERT_TRUE(wait_health(200, 20s)) << read_file(dir_ / "gateway.log");
  ASSERT_EQ(publish(20, "plant/line1/temp", 1), 0);
  ASSERT_EQ(publish(1, "elsewhere/x", 0), 0);
  ASSERT_EQ(publish(2, "forbidden/x", 0), 0);  // the ACL denies: not stored, counted
  ASSERT_TRUE(wait_metric("edge_gateway_uplink_messages_sent_total", {{"uplink", "cloud"}}, 20))
      << read_file(dir_ / "gateway.log");
  ASSERT_TRUE(wait_metric("edge_gateway_messages_dropped_total", {{"reason", "acl"}}, 2));

  const prom::Parsed p = scrape();
  ASSERT_TRUE(p.ok()) << p.error;
  for (const char* name : kRequiredFamilies) EXPECT_TRUE(p.families.count(name)) << "missing " << name;
  for (const auto& [name, f] : p.families) {
    EXPECT_EQ(name.rfind("edge_gateway_", 0), 0u) << name;
    EXPECT_FALSE(f.help.empty()) << name;
    if (f.type == "counter") {
      EXPECT_EQ(name.substr(name.size() - 6), "_total") << name;
    }
  }
  EXPECT_EQ(p.families.at("edge_gateway_store_commit_latency_seconds").type, "histogram");
  EXPECT_EQ(p.families.at("edge_gateway_uplink_publish_latency_seconds").type, "histogram");
  for (const char* reason : kDropReasons) {
    EXPECT_FALSE(std::isnan(p.value("edge_gateway_messages_dropped_total", {{"reason", reason}}))) << reason;
  }
  // One PUBACK timed per acknowledged batch.
  EXPECT_EQ(p.value("edge_gateway_uplink_publish_latency_seconds_count", {{"uplink", "cloud"}}),
            p.value("edge_gateway_uplink_batches_sent_total", {{"uplink", "cloud"}}));
  EXPECT_GE(p.value("edge_gateway_uplink_publish_latency_seconds_count", {{"uplink", "cloud"}}), 1);
  EXPECT_EQ(p.value("edge_gateway_store_oldest_age_seconds", {{"uplink", "cloud"}}), 0);  // all sent
  EXPECT_FALSE(p.families.count("edge_gateway_uplink_token_expiry_timestamp_seconds"))
      << "only for uplinks whose credentials expire";
  EXPECT_EQ(p.value("edge_gateway_messages_in_total", {{"qos", "1"}}), 20);
  EXPECT_EQ(p.value("edge_gateway_messages_in_total", {{"qos", "0"}}), 1);
  EXPECT_EQ(p.value("edge_gateway_messages_routed_total", {{"route", "telemetry"}}), 20);
  EXPECT_EQ(p.value("edge_gateway_messages_dropped_total", {{"reason", "no_route"}}), 1);
  EXPECT_GE(p.value("edge_gateway_store_commit_latency_seconds_count"), 20);
  EXPECT_GE(p.value("edge_gateway_store_rows_appended_total"), 20);
  EXPECT_EQ(p.value("edge_gateway_uplink_connected", {{"uplink", "cloud"}}), 1);
  EXPECT_EQ(p.value("edge_gateway_uplink_breaker_state", {{"uplink", "cloud"}, {"state", "closed"}}), 1);
  EXPECT_GT(p.value("edge_gateway_uplink_compression_ratio", {{"uplink", "cloud"}}), 1);
  EXPECT_EQ(p.value("edge_gateway_store_up"), 1);
  EXPECT_GT(p.value("edge_gateway_resident_memory_bytes"), 0);

  auto status = run_command({gateway_binary(), "status", "--url", base_, "--interval", "0ms"});
  EXPECT_EQ(status.exit_code, 0) << status.out;
  EXPECT_NE(status.out.find("healthy"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("uplink cloud"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("connected, breaker closed"), std::string::npos) << status.out;

  gateway_->kill(SIGTERM, false);
  EXPECT_EQ(gateway_->wait(30s), 0) << read_file(dir_ / "gateway.log");
}

TEST_F(Ops, HealthTurns503WhileTheCloudIsDownAndRecovers) {
  start_gateway();
  ASSERT_TRUE(wait_health(200, 20s)) << read_file(dir_ / "gateway.log");

  cloud_->stop();
  std::string body;
  // Five failed reconnects (50..200 ms apart) open the breaker.
  ASSERT_TRUE(wait_health(503, 30s, &body)) << read_file(dir_ / "gateway.log");
  EXPECT_NE(body.find("\"status\":\"unhealthy\""), std::string::npos) << body;
  EXPECT_NE(body.find("uplink 'cloud': circuit breaker open"), std::string::npos) << body;
  auto status = run_command({gateway_binary(), "status", "--url", base_, "--interval", "0ms"});
  EXPECT_EQ(status.exit_code, 1) << status.out;
  EXPECT_NE(status.out.find("UNHEALTHY"), std::string::npos) << status.out;
  // Messages keep being accepted and wait in the store.
  ASSERT_EQ(publish(5, "plant/line1/temp", 1), 0);
  ASSERT_TRUE(wait_metric("edge_gateway_store_rows", {{"uplink", "cloud"}}, 5));
  {
    const prom::Parsed q = scrape();
    ASSERT_TRUE(q.ok()) << q.error;
    EXPECT_EQ(q.value("edge_gateway_store_priority_rows", {{"uplink", "cloud"}, {"priority", "5"}}), 5);
    EXPECT_GT(q.value("edge_gateway_store_priority_oldest_age_seconds", {{"uplink", "cloud"}, {"priority", "5"}}), 0);
    EXPECT_GT(q.value("edge_gateway_store_oldest_age_seconds", {{"uplink", "cloud"}}), 0);
    EXPECT_LT(q.value("edge_gateway_store_oldest_age_seconds", {{"uplink", "cloud"}}), 60);
  }
  // Rows of a 1 s TTL route expire in the store while the cloud is away.
  ASSERT_EQ(publish(2, "ephemeral/x", 1), 0);
  ASSERT_TRUE(wait_metric("edge_gateway_messages_dropped_total", {{"reason", "ttl"}}, 2)) << read_file(dir_ / "gateway.log");

  cloud_->start();
  // The breaker lets a probe through after its open period (30 s).
  ASSERT_TRUE(wait_health(200, 90s, &body)) << read_file(dir_ / "gateway.log");
  EXPECT_NE(body.find("\"status\":\"ok\""), std::string::npos) << body;
  EXPECT_TRUE(wait_metric("edge_gateway_uplink_messages_sent_total", {{"uplink", "cloud"}}, 5));
  const prom::Parsed p = scrape();
  EXPECT_GE(p.value("edge_gateway_uplink_breaker_transitions_total", {{"uplink", "cloud"}}), 3);  // open, half-open, closed
  // The lost connection and the refused reconnects opened the breaker.
  EXPECT_GE(p.value("edge_gateway_uplink_connect_failures_total", {{"uplink", "cloud"}}), 1);
}

// Secrets from the environment and from a file reach the cloud (mosquitto
// with a password file accepts both uplinks) and never the log, even at debug.
TEST_F(Ops, SecretsFromEnvironmentAndFileReachTheCloudButNotTheLog) {
  const std::string env_secret = "Env-S3cret-7431";
  const std::string file_secret = "File-S3cret-9902";
  ::setenv("GW_OPS_TEST_PASSWORD", env_secret.c_str(), 1);
  write_file(dir_ / "cloud.pass", file_secret + "\n");
  ::chmod((dir_ / "cloud.pass").c_str(), 0600);
  const auto passwd = dir_ / "mosquitto.passwd";
  ASSERT_EQ(run_command({"mosquitto_passwd", "-b", "-c", passwd.string(), "u-env", env_secret}).exit_code, 0);
  ASSERT_EQ(run_command({"mosquitto_passwd", "-b", passwd.string(), "u-file", file_secret}).exit_code, 0);
  const uint16_t cloud_port = free_port();
  Mosquitto secure("listener " + std::to_string(cloud_port) + " 127.0.0.1\nallow_anonymous false\npassword_file " +
                       passwd.string() + "\n",
                   cloud_port);
  ASSERT_TRUE(wait_for_port(cloud_port));
  auto uplink = [&](const std::string& name, const std::string& user, const std::string& password) {
    return "  - name: " + name + "\n    type: mqtt\n    host: 127.0.0.1\n    port: " + std::to_string(cloud_port) +
           "\n    client_id: ops-" + name + "\n    username: " + user + "\n    password: " + password +
           "\n    backoff: {initial: 50ms, max: 200ms}\n";
  };
  write_file(config_, "gateway: {id: ops-gw, data_dir: ./var}\nlisteners: [{name: local, bind: \"127.0.0.1:" +
                          std::to_string(device_port_) + "\"}]\nuplinks:\n" +
                          uplink("a", "u-env", "${GW_OPS_TEST_PASSWORD}") + uplink("b", "u-file", "!file cloud.pass") +
                          "routes: [{name: all, match: {topic: \"plant/#\"}, to: [a, b]}]\ntelemetry: {http: \"127.0.0.1:" +
                          std::to_string(http_port_) + "\"}\n");
  auto check = run_command({gateway_binary(), "check-config", config_.string()});
  ASSERT_EQ(check.exit_code, 0) << check.out;
  gateway_ = std::make_unique<Process>(
      std::vector<std::string>{gateway_binary(), "run", "--config", config_.string(), "--log-level", "trace"},
      dir_ / "gateway.log");
  ASSERT_TRUE(wait_for_port(http_port_)) << read_file(dir_ / "gateway.log");
  // Both uplinks connected: mosquitto accepted both passwords.
  ASSERT_TRUE(wait_health(200, 20s)) << read_file(dir_ / "gateway.log");
  ASSERT_EQ(publish(3, "plant/x", 1), 0);
  ASSERT_TRUE(wait_metric("edge_gateway_uplink_messages_sent_total", {{"uplink", "b"}}, 3));
  gateway_->kill(SIGTERM, false);
  EXPECT_EQ(gateway_->wait(30s), 0);
  const std::string log = read_file(dir_ / "gateway.log");
  EXPECT_NE(log.find("uplink a: connected"), std::string::npos) << log;
  EXPECT_EQ(log.find(env_secret), std::string::npos) << log;
  EXPECT_EQ(log.find(file_secret), std::string::npos) << log;
  EXPECT_EQ(check.out.find(env_secret), std::string::npos);
  ::unsetenv("GW_OPS_TEST_PASSWORD");
}

// An Azure SAS key and a TLS listener's private key: the gateway mints SAS
// tokens from the key and serves TLS with the private key, logs every
// connect attempt at trace level, and neither key (nor a token) appears in
// the log. The token's expiry is a metric.
TEST_F(Ops, SasKeyAndPrivateKeyNeverReachTheLog) {
  const std::string sas_key = "c2VjcmV0LXNhcy1rZXktZm9yLW9wcy10ZXN0LTAwMDE=";  // base64("secret-sas-key-for-ops-test-0001")
  ::setenv("GW_OPS_TEST_SAS_KEY", sas_key.c_str(), 1);
  TestPki pki(dir_.path());
  const std::string pem = read_file(pki.server().key);
  // A line from the middle of the PEM body: base64 of the key material itself.
  std::vector<std::string> body;
  {
    std::istringstream in(pem);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line[0] != '-') body.push_back(line);
    }
  }
  ASSERT_FALSE(body.empty()) << pem;
  const std::string key_line = body[body.size() / 2];
  ASSERT_GE(key_line.size(), 20u);
  const uint16_t tls_port = free_port();
  const uint16_t hub_port = free_port();  // nothing listens: every connect fails and is logged
  write_file(config_, "gateway: {id: ops-gw, data_dir: ./var}\n"
                      "listeners:\n"
                      "  - {name: local, bind: \"127.0.0.1:" + std::to_string(device_port_) + "\"}\n"
                      "  - name: tls\n"
                      "    bind: \"127.0.0.1:" + std::to_string(tls_port) + "\"\n"
                      "    tls: {cert: " + pki.server().cert.string() + ", key: " + pki.server().key.string() + "}\n"
                      "uplinks:\n"
                      "  - name: hub\n"
                      "    type: azure_iot_hub\n"
                      "    host: 127.0.0.1\n"
                      "    port: " + std::to_string(hub_port) + "\n"
                      "    device_id: line3-gw\n"
                      "    auth: {sas_key: \"${GW_OPS_TEST_SAS_KEY}\", token_ttl: 1h}\n"
                      "    backoff: {initial: 50ms, max: 200ms}\n"
                      "routes: [{name: all, match: {topic: \"plant/#\"}, to: hub}]\n"
                      "telemetry: {http: \"127.0.0.1:" + std::to_string(http_port_) + "\"}\n");
  auto check = run_command({gateway_binary(), "check-config", config_.string()});
  ASSERT_EQ(check.exit_code, 0) << check.out;
  gateway_ = std::make_unique<Process>(
      std::vector<std::string>{gateway_binary(), "run", "--config", config_.string(), "--log-level", "trace"},
      dir_ / "gateway.log");
  ASSERT_TRUE(wait_for_port(http_port_)) << read_file(dir_ / "gateway.log");
  ASSERT_TRUE(wait_metric("edge_gateway_uplink_connect_failures_total", {{"uplink", "hub"}}, 3))
      << read_file(dir_ / "gateway.log");
  // A TLS client makes the listener use its key.
  run_command({"sh", "-c", "echo | openssl s_client -connect 127.0.0.1:" + std::to_string(tls_port) +
                               " -CAfile " + pki.ca_cert().string() + " >/dev/null 2>&1"});
  const prom::Parsed p = scrape();
  ASSERT_TRUE(p.ok()) << p.error;
  const double expiry = p.value("edge_gateway_uplink_token_expiry_timestamp_seconds", {{"uplink", "hub"}});
  const double now_s = static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count());
  EXPECT_GT(expiry, now_s + 3500) << "token_ttl 1h";
  EXPECT_LT(expiry, now_s + 3700);
  EXPECT_EQ(p.families.at("edge_gateway_uplink_token_expiry_timestamp_seconds").type, "gauge");
  gateway_->kill(SIGTERM, false);
  EXPECT_EQ(gateway_->wait(30s), 0);
  const std::string log = read_file(dir_ / "gateway.log");
  EXPECT_NE(log.find("uplink hub: cannot connect"), std::string::npos) << log;
  EXPECT_EQ(log.find(sas_key), std::string::npos) << log;
  EXPECT_EQ(log.find("secret-sas-key"), std::string::npos) << log;
  EXPECT_EQ(log.find("SharedAccessSignature"), std::string::npos) << log;
  EXPECT_EQ(log.find("sig="), std::string::npos) << log;
  EXPECT_EQ(log.find(key_line), std::string::npos) << log;
  EXPECT_EQ(log.find("PRIVATE KEY"), std::string::npos) << log;
  EXPECT_EQ(check.out.find(sas_key), std::string::npos);
  ::unsetenv("GW_OPS_TEST_SAS_KEY");
}

// Under systemd (stderr is the journal stream named by JOURNAL_STREAM) every
// line starts with its syslog priority and has no time stamp of its own.
TEST_F(Ops, JournalLinesCarrySyslogPriorities) {
  const auto log_path = dir_ / "journal.log";
  write_file(log_path, "");
  struct stat st {};
  ASSERT_EQ(::stat(log_path.c_str(), &st), 0);
  const std::string stream = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  ::setenv("JOURNAL_STREAM", stream.c_str(), 1);
  gateway_ = std::make_unique<Process>(std::vector<std::string>{gateway_binary(), "run", "--config", config_.string()},
                                       log_path);
  ::unsetenv("JOURNAL_STREAM");
  ASSERT_TRUE(wait_for_port(http_port_)) << read_file(log_path);
  ASSERT_TRUE(wait_health(200, 20s)) << read_file(log_path);
  cloud_->stop();  // a warning: the cloud connection is lost
  ASSERT_TRUE(wait_metric("edge_gateway_uplink_connect_failures_total", {{"uplink", "cloud"}}, 1));
  gateway_->kill(SIGTERM, false);
  EXPECT_EQ(gateway_->wait(30s), 0);
  const std::string log = read_file(log_path);
  EXPECT_NE(log.find("<6>edge-gateway "), std::string::npos) << log;
  EXPECT_NE(log.find("<4>uplink cloud: "), std::string::npos) << log;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    ASSERT_GE(line.size(), 3u) << log;
    EXPECT_TRUE(line[0] == '<' && line[1] >= '0' && line[1] <= '7' && line[2] == '>') << line;
  }
}

// gateway.cpu_affinity pins the broker's io thread, the store writer and the
// uplink's thread, and only those, to the CPUs asked for (taskset-style lists in
// /proc/<pid>/task/<tid>/status); traffic still flows.
TEST_F(Ops, CpuAffinityPinsTheBrokerStoreAndUplinkThreads) {
  const std::vector<int> usable = usable_cpus();
  ASSERT_FALSE(usable.empty());
  const int first = usable.front(), last = usable.back();
  std::string yaml = read_file(config_);
  const std::string head = "  id: ops-gw\n";
  ASSERT_NE(yaml.find(head), std::string::npos);
  yaml.replace(yaml.find(head), head.size(),
               head + "  cpu_affinity: {broker: " + std::to_string(first) + ", store: " + std::to_string(last) +
                   ", uplinks: " + std::to_string(last) + "}\n");
  write_file(config_, yaml);
  start_gateway();
  ASSERT_TRUE(wait_health(200, 20s)) << read_file(dir_ / "gateway.log");
  ASSERT_EQ(publish(20, "plant/a/t", 1), 0);
  ASSERT_TRUE(wait_metric("edge_gateway_uplink_messages_sent_total", {{"uplink", "cloud"}}, 20));

  std::map<std::string, std::string> allowed;  // thread name -> Cpus_allowed_list
  const auto task_dir = std::filesystem::path("/proc") / std::to_string(gateway_->pid()) / "task";
  for (const auto& t : std::filesystem::directory_iterator(task_dir)) {
    std::string comm = read_file(t.path() / "comm");
    comm.erase(comm.find_last_not_of('\n') + 1);
    std::istringstream status(read_file(t.path() / "status"));
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("Cpus_allowed_list:", 0) == 0) allowed[comm] = line.substr(line.find_first_not_of(" \t", 18));
    }
  }
  EXPECT_EQ(allowed["gw-broker"], std::to_string(first));
  EXPECT_EQ(allowed["gw-store-writer"], std::to_string(last));
  EXPECT_EQ(allowed["up-cloud"], std::to_string(last));
  EXPECT_EQ(allowed["edge-gateway"], cpu_list(usable)) << "the main thread is not pinned";
  const std::string log = read_file(dir_ / "gateway.log");
  EXPECT_NE(log.find("broker: pinned to CPU " + std::to_string(first)), std::string::npos) << log;
}

// Run as systemd would (NOTIFY_SOCKET, WATCHDOG_USEC): READY=1 once the
// listeners are bound, then WATCHDOG=1 pings while everything is alive
// (the io loop, the store writer and the uplink engine), STOPPING=1 at the end.
TEST_F(Ops, NotifiesSystemdReadyAndPingsTheWatchdog) {
  const auto sock_path = dir_ / "notify.sock";
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, sock_path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  timeval tv{20, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto receive = [fd] {
    char buf[256];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    return n < 0 ? std::string("<timeout>") : std::string(buf, static_cast<size_t>(n));
  };
  ::setenv("NOTIFY_SOCKET", sock_path.c_str(), 1);
  ::setenv("WATCHDOG_USEC", "2000000", 1);  // pings every second (half the interval, at most 1 s)
  start_gateway();
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  EXPECT_EQ(receive(), "READY=1") << read_file(dir_ / "gateway.log");
  ASSERT_TRUE(wait_health(200, 20s));
  int pings = 0;
  for (int i = 0; i < 3; ++i) pings += receive() == "WATCHDOG=1" ? 1 : 0;
  EXPECT_EQ(pings, 3) << read_file(dir_ / "gateway.log");
  gateway_->kill(SIGTERM, false);
  std::string last;
  for (int i = 0; i < 10 && last != "STOPPING=1"; ++i) last = receive();
  EXPECT_EQ(last, "STOPPING=1");
  EXPECT_EQ(gateway_->wait(30s), 0);
  ::close(fd);
}

TEST_F(Ops, StatusSaysWhenNoGatewayAnswers) {
  auto status = run_command({gateway_binary(), "status", "--url", base_, "--interval", "0ms"});
  EXPECT_EQ(status.exit_code, 1);
}

}  // namespace
}  // namespace gw::testing
