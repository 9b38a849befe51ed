// Route hot reload under load (issue 6): a real client publishes QoS 1
// messages without pause while the test rewrites the config and sends SIGHUP
// 20 times, alternating two route tables. Each generation's route has its own
// name, so every message that reaches the stand-in cloud (a real mosquitto)
// says which table routed it. Then an invalid config must leave the last
// table in place.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

#include "tests/integration/cloud_sink.h"
#include "tests/support/process.h"

namespace gw::testing {
namespace {

constexpr int kReloads = 20;
constexpr int kPerGeneration = 300;  // messages granted to the publisher per table

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Polls the gateway's log until `needle` occurs `times` times (or 30 s pass).
bool wait_for_log(const std::filesystem::path& log, const std::string& needle, size_t times) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (count_of(read_file(log), needle) < times) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Table A (even generations) and table B (odd): different shapes, one route
// that forwards the test's topic, named after the generation.
std::string route_name(int gen) { return (gen % 2 == 0 ? "A" : "B") + std::to_string(gen); }

std::string routes_yaml(int gen) {
  if (gen % 2 == 0) {
    return "routes:\n"
           "  - name: " + route_name(gen) + "\n"
           "    match: {topic: \"plant/#\"}\n"
           "    to: [cloud]\n"
           "default_route: drop\n";
  }
  return "routes:\n"
         "  - name: debug-noise\n"
         "    match: {properties: {class: debug}}\n"
         "    drop: true\n"
         "  - name: " + route_name(gen) + "\n"
         "    match: {topic: [\"plant/{line}/telemetry\", \"other/#\"]}\n"
         "    to: cloud\n"
         "    priority: 7\n"
         "default_route: drop\n";
}

// A publisher that writes {"stream":"reload","n":N} lines into mosquitto_pub
// -l through a FIFO, as fast as the gateway takes them, but never beyond the
// allowance the test grants (so the run stays a few thousand messages).
class FifoPublisher {
 public:
  FifoPublisher(const std::filesystem::path& fifo, uint16_t port, const std::filesystem::path& log) {
    if (::mkfifo(fifo.c_str(), 0600) != 0) throw std::runtime_error("mkfifo failed");
    pub_ = std::make_unique<Process>(
        std::vector<std::string>{"sh", "-c",
                                 "exec mosquitto_pub -h 127.0.0.1 -p " + std::to_string(port) +
                                     " -V mqttv5 -q 1 -i dev-reload -t plant/line1/telemetry -l < " + fifo.string()},
        log);
    thread_ = std::thread([this, fifo] {
      const int fd = ::open(fifo.c_str(), O_WRONLY);  // blocks until mosquitto_pub opens it
      for (int n = 1; fd >= 0; ++n) {
        {
          std::unique_lock lock(mu_);
          cv_.wait(lock, [&] { return stop_ || n <= allowed_; });
          if (stop_) break;
        }
        const std::string line = R"({"stream":"reload","n":)" + std::to_string(n) + "}\n";
        begun_.store(n);
        if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) break;
        written_.store(n);
      }
      if (fd >= 0) ::close(fd);
    });
  }
  ~FifoPublisher() { finish(); }

  // Lets the publisher write up to `more` messages beyond those written so far.
  void grant(int more) {
    std::lock_guard lock(mu_);
    allowed_ = written_.load() + more;
    cv_.notify_all();
  }
  int written() const { return written_.load(); }
  // Messages whose write has begun: every message above this number is
  // written after the call. (written() can lag: the thread may be preempted
  // between a write and its count while mosquitto_pub already sends it.)
  int begun() const { return begun_.load(); }
  // Stops writing, closes the FIFO (EOF for mosquitto_pub) and returns
  // mosquitto_pub's exit code once it has sent everything.
  int finish() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
    return pub_ ? pub_->wait(std::chrono::seconds(60)) : -1;
  }

 private:
  std::unique_ptr<Process> pub_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  int allowed_ = 0;
  std::atomic<int> written_{0};
  std::atomic<int> begun_{0};
};

// route name per n, for the messages of the test stream (copies included).
std::map<int, std::multiset<std::string>> routes_by_n(const std::vector<nlohmann::json>& msgs) {
  std::map<int, std::multiset<std::string>> out;
  for (const auto& m : msgs) {
    const auto& p = m.value("payload", nlohmann::json());
    if (!p.is_object() || p.value("stream", "") != "reload") continue;
    out[p["n"].get<int>()].insert(m.value("route", ""));
  }
  return out;
}

bool seen_route_after(const std::vector<nlohmann::json>& msgs, const std::string& route, int after_n) {
  for (const auto& m : msgs) {
    const auto& p = m.value("payload", nlohmann::json());
    if (p.is_object() && p.value("stream", "") == "reload" && m.value("route", "") == route &&
        p["n"].get<int>() > after_n) {
      return true;
    }
  }
  return false;
}

TEST(RoutesReload, Issue6TwentySwapsUnderLoadRouteEveryMessageByExactlyOneTable) {
  ::signal(SIGPIPE, SIG_IGN);  // the FIFO writer gets EPIPE instead if mosquitto_pub dies
  TempDir dir;
  Mosquitto cloud;
  const uint16_t device_port = free_port();
  const auto config = dir / "gateway.yaml";
  const std::string head = gateway_yaml_head("reload-gw", device_port) + R"(uplinks:
  - name: cloud
    type: mqtt
    host: 127.0.0.1
    port: )" + std::to_string(cloud.port()) + R"(
    client_id: reload-gw
    topic: "gw/{gateway_id}/{route}"
    batch: {max_messages: 500, max_bytes: 65536, linger: 20ms}
)";
  // Written whole and renamed into place, as an editor or deploy tool would.
  auto write_config = [&](const std::string& routes) {
    write_file(dir / "gateway.yaml.new", head + routes);
    std::filesystem::rename(dir / "gateway.yaml.new", config);
  };
  write_config(routes_yaml(0));

  CloudSink sink(cloud.port(), dir.path());
  const auto log = dir / "gateway.log";
  Process gateway({built_binary("gateway/app/edge-gateway").string(), "run", "--config", config.string()}, log);
  ASSERT_TRUE(wait_for_port(device_port)) << read_file(log);

  FifoPublisher pub(dir / "pub.fifo", device_port, dir / "pub.log");
  // lower[g]: messages with n > lower[g] were written after table g was in use.
  std::vector<int> lower(kReloads + 1, 0);
  pub.grant(kPerGeneration);
  ASSERT_TRUE(sink.wait_for([&](const auto& msgs) { return seen_route_after(msgs, route_name(0), 0); }))
      << read_file(log);
  for (int gen = 1; gen <= kReloads; ++gen) {
    write_config(routes_yaml(gen));
    pub.grant(kPerGeneration);  // messages are on their way while the table is swapped
    ASSERT_EQ(gateway.kill(SIGHUP, false), -1);
    ASSERT_TRUE(wait_for_log(log, "routes reloaded", static_cast<size_t>(gen))) << read_file(log);
    lower[gen] = pub.begun();
    pub.grant(kPerGeneration);
    // Publishing goes on across the swap; wait until this table has routed
    // something before the next swap, so every table is exercised.
    ASSERT_TRUE(sink.wait_for([&](const auto& msgs) { return seen_route_after(msgs, route_name(gen), 0); }))
        << "generation " << gen << "\n" << read_file(log);
  }

  // An invalid config (unknown uplink, line 20) on SIGHUP: logged with its
  // position, the last table stays and routing goes on.
  write_config("routes:\n"
               "  - name: broken\n"
               "    match: {topic: \"plant/#\"}\n"
               "    to: [nowhere]\n");
  pub.grant(kPerGeneration);
  ASSERT_EQ(gateway.kill(SIGHUP, false), -1);
  ASSERT_TRUE(wait_for_log(log, "reload failed; keeping the routes in use", 1)) << read_file(log);
  EXPECT_NE(read_file(log).find(config.string() + ":20:"), std::string::npos) << read_file(log);
  const int lower_after_bad = pub.begun();
  pub.grant(kPerGeneration);
  ASSERT_TRUE(sink.wait_for(
      [&](const auto& msgs) { return seen_route_after(msgs, route_name(kReloads), lower_after_bad); }))
      << read_file(log);

  ASSERT_EQ(pub.finish(), 0) << read_file(dir / "pub.log");
  const int total = pub.written();
  ASSERT_TRUE(sink.wait_for([&](const auto& msgs) { return routes_by_n(msgs).size() == static_cast<size_t>(total); }))
      << "received " << routes_by_n(sink.messages()).size() << " of " << total << "\n" << read_file(log);

  // Every message arrived, routed by exactly one table: all its copies name
  // the same route. Tables apply in order, never before their reload.
  const auto by_n = routes_by_n(sink.messages());
  std::map<std::string, int> generation_of;
  for (int g = 0; g <= kReloads; ++g) generation_of[route_name(g)] = g;
  std::set<int> generations_seen;
  size_t copies = 0;
  int previous = 0;
  for (int n = 1; n <= total; ++n) {
    auto it = by_n.find(n);
    ASSERT_NE(it, by_n.end()) << "message " << n << " lost";
    const auto& routes = it->second;
    copies += routes.size();
    ASSERT_EQ(std::set<std::string>(routes.begin(), routes.end()).size(), 1u) << "message " << n << " routed twice";
    const auto g = generation_of.find(*routes.begin());
    ASSERT_NE(g, generation_of.end()) << "message " << n << " routed by '" << *routes.begin() << "'";
    EXPECT_GE(g->second, previous) << "message " << n << " went back to an older table";
    previous = g->second;
    for (int k = kReloads; k > 0; --k) {
      if (n > lower[k]) {
        EXPECT_GE(g->second, k) << "message " << n << " written after reload " << k;
        break;
      }
    }
    if (n > lower_after_bad) {
      EXPECT_EQ(g->second, kReloads) << "message " << n << " after the invalid config";
    }
    generations_seen.insert(g->second);
  }
  EXPECT_EQ(generations_seen.size(), static_cast<size_t>(kReloads + 1));
  std::printf("[ reload   ] %d messages, %zu copies received, %zu tables used, %zu reloads logged\n", total, copies,
              generations_seen.size(), count_of(read_file(log), "routes reloaded"));

  EXPECT_EQ(gateway.kill(SIGTERM, false), -1);
  EXPECT_EQ(gateway.wait(std::chrono::seconds(20)), 0) << read_file(log);
}

}  // namespace
}  // namespace gw::testing
