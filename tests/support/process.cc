#include "tests/support/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace gw::testing {
namespace fs = std::filesystem;

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  fs::path root = base ? base : "/tmp";
  std::random_device rd;
  for (int i = 0; i < 100; ++i) {
    fs::path p = root / ("gw-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    if (fs::create_directory(p)) {
      path_ = p;
      return;
    }
  }
  throw std::runtime_error("cannot create a temp dir");
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

uint16_t free_port() {
  // Ports are drawn below the kernel's ephemeral range (32768-60999 by
  // default): a port the kernel hands out with bind(0) can be taken a moment
  // later as the local end of some test's outgoing connection, and tests run
  // in parallel. Random draws keep parallel tests apart.
  static std::mt19937 rng(std::random_device{}() ^ static_cast<unsigned>(::getpid()));
  std::uniform_int_distribution<int> pick(20000, 32000);
  for (int attempt = 0; attempt < 200; ++attempt) {
    const auto port = static_cast<uint16_t>(pick(rng));
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (ok) return port;
  }
  throw std::runtime_error("no free port in 20000-32000");
}

bool wait_for_port(uint16_t port, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::close(fd);
    if (rc == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {
pid_t spawn(const std::vector<std::string>& argv, int out_fd, int err_fd) {
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::setpgid(0, 0);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    if (out_fd >= 0) ::dup2(out_fd, 1);
    if (err_fd >= 0) ::dup2(err_fd, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}
}  // namespace

Process::Process(std::vector<std::string> argv, const fs::path& log_path) {
  const std::string log = log_path.empty() ? "/dev/null" : log_path.string();
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  pid_ = spawn(argv, fd, fd);
  if (fd >= 0) ::close(fd);
}

Process::~Process() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGTERM);
    if (wait(std::chrono::seconds(5)) == -1) kill(SIGKILL, true);
  }
}

bool Process::running() {
  if (reaped_) return false;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    status_ = st;
    return false;
  }
  return true;
}

int Process::kill(int sig, bool do_wait) {
  if (reaped_) return status_;
  ::kill(pid_, sig);
  if (!do_wait) return -1;
  int st = 0;
  if (::waitpid(pid_, &st, 0) == pid_) {
    reaped_ = true;
    status_ = st;
    return st;
  }
  return -1;
}

int Process::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!reaped_) {
    if (!running()) break;
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
  return -1;
}

RunResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  TempDir dir;
  const fs::path out = dir / "out";
  int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int errfd = ::open("/dev/null", O_WRONLY);
  pid_t pid = spawn(argv, fd, errfd);
  ::close(fd);
  ::close(errfd);
  RunResult r;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int st = 0;
  while (true) {
    pid_t w = ::waitpid(pid, &st, WNOHANG);
    if (w == pid) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &st, 0);
      r.out = read_file(out);
      return r;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  r.out = read_file(out);
  return r;
}

std::unique_ptr<Process> start_subscriber(uint16_t port, const std::string& filter, const std::string& probe_topic,
                                          const fs::path& out, std::string* error, std::chrono::milliseconds timeout) {
  const std::string p = std::to_string(port);
  const std::vector<std::string> argv = {"mosquitto_sub", "-h", "127.0.0.1", "-p", p, "-t", filter, "-q", "1",
                                         "-V", "mqttv5", "-F", "%t|%P|%x"};
  auto sub = std::make_unique<Process>(argv, out);
  int starts = 1;
  RunResult probe;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!sub->running()) {
      sub = std::make_unique<Process>(argv, out);  // appends to `out`
      ++starts;
    }
    probe = run_command({"mosquitto_pub", "-h", "127.0.0.1", "-p", p, "-t", probe_topic, "-m", "{}", "-q", "1"},
                        std::chrono::seconds(10));
    if (read_file(out).find(probe_topic) != std::string::npos) return sub;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (error != nullptr) {
    *error = "mosquitto_sub on port " + p + " got no probe in " + std::to_string(timeout.count()) + " ms (" +
             std::to_string(starts) + " start(s)); it printed: '" + read_file(out) +
             "'; the last mosquitto_pub exited " + std::to_string(probe.exit_code) + ": '" + probe.out + "'";
  }
  return nullptr;
}

Mosquitto::Mosquitto(const std::string& extra_conf, uint16_t port)
    : port_(port ? port : free_port()), extra_conf_(extra_conf) {
  start();
}

Mosquitto::~Mosquitto() { stop(); }

void Mosquitto::start() {
  const fs::path conf = dir() / "mosquitto.conf";
  std::string text = extra_conf_;
  if (text.find("listener ") == std::string::npos) {
    text = "listener " + std::to_string(port_) + " 127.0.0.1\nallow_anonymous true\n" + text;
  }
  // A cloud stand-in must not drop what it acknowledged: stock mosquitto
  // silently discards beyond 1000 queued messages per slow subscriber.
  if (text.find("max_queued_messages") == std::string::npos) text += "\nmax_queued_messages 0";
  // Its log goes to stderr, which is our file: run as root, mosquitto drops
  // to its own user before it opens a log_dest file in our temp dir, fails,
  // and logs nothing.
  text += "\npersistence false\nlog_dest stderr\n";
  write_file(conf, text);
  proc_ = std::make_unique<Process>(std::vector<std::string>{"mosquitto", "-c", conf.string()},
                                    dir() / "mosquitto.out");
  // Generous: under a parallel (or sanitizer) test run a TLS listener can take
  // seconds to come up. On failure, say what mosquitto said.
  if (!wait_for_port(port_, std::chrono::seconds(30))) {
    throw std::runtime_error("mosquitto did not start on port " + std::to_string(port_) + ": " +
                             log());
  }
}

std::string Mosquitto::log() const { return read_file(dir() / "mosquitto.out"); }

void Mosquitto::stop() {
  if (proc_) {
    proc_->kill(SIGTERM, true);
    proc_.reset();
  }
}

std::string gateway_yaml_head(const std::string& id, uint16_t device_port, const std::string& store_extra) {
  return "gateway:\n  id: " + id + "\n  data_dir: ./var\nlisteners:\n  - name: local\n    bind: 127.0.0.1:" +
         std::to_string(device_port) + "\nstore:\n  path: queue.db\n" + store_extra;
}

fs::path built_binary(const std::string& relative) {
  const char* dir = std::getenv("GW_BINARY_DIR");
  return fs::path(dir ? dir : GW_TEST_BINARY_DIR) / relative;
}

fs::path source_path(const std::string& relative) {
  const char* dir = std::getenv("GW_SOURCE_DIR");
  return fs::path(dir ? dir : GW_TEST_SOURCE_DIR) / relative;
}

}  // namespace gw::testing

namespace gw::testing {

GatewayRuns::GatewayRuns(std::filesystem::path dir, uint16_t device_port, std::vector<std::string> extra_args)
    : dir_(std::move(dir)), port_(device_port), extra_args_(std::move(extra_args)) {}

std::filesystem::path GatewayRuns::log_path(int run) const {
  return dir_ / ("gateway-" + std::to_string(run) + ".log");
}

bool GatewayRuns::start(const std::filesystem::path& config, std::string* error) {
  ++runs_;
  std::vector<std::string> argv = {built_binary("gateway/app/edge-gateway").string(), "run", "--config",
                                   config.string()};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  proc_ = std::make_unique<Process>(argv, log_path(runs_));
  if (wait_for_port(port_)) return true;
  if (error) *error = read_file(log_path(runs_));
  return false;
}

std::string GatewayRuns::logs(size_t tail) const {
  std::string all;
  for (int i = 1; i <= runs_; ++i) all += read_file(log_path(i));
  return all.size() > tail ? all.substr(all.size() - tail) : all;
}

}  // namespace gw::testing
