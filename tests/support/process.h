// Test helpers for real servers and clients: temp dirs, free loopback ports,
// child processes stopped by PID, and a mosquitto started on a free port.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace gw::testing {

// A fresh directory under $TMPDIR, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
uint16_t free_port();

// Blocks until something accepts TCP connections on 127.0.0.1:port, or the
// timeout passes. Returns true when it does.
bool wait_for_port(uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Writes `text` to `path` (truncating).
void write_file(const std::filesystem::path& path, const std::string& text);
std::string read_file(const std::filesystem::path& path);

// A child process. stdout and stderr go to `log_path` (or /dev/null when
// empty). The destructor sends SIGTERM, waits up to 5 s, then SIGKILL.
class Process {
 public:
  Process(std::vector<std::string> argv, const std::filesystem::path& log_path = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  // Sends `sig`; with wait, reaps the child and returns its exit status
  // (as from waitpid) or -1.
  int kill(int sig, bool wait = true);
  // Waits for exit up to `timeout`; returns the exit code (>= 0), 128+signal
  // for a signal, or -1 on timeout.
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(30));

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  bool reaped_ = false;
};

// Runs a command to completion; returns its exit code and stdout.
struct RunResult {
  int exit_code = -1;
  std::string out;
};
RunResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = std::chrono::seconds(60));

// mosquitto_sub (MQTT 5, QoS 1) on 127.0.0.1:port for `filter`, printing
// "topic|user properties|hex payload" per message to `out` (its stderr too).
// Returns once it has received a probe published to `probe_topic`, so no
// message sent afterwards can be missed and no blind sleep is needed. A
// subscriber that exited (its connection refused or dropped) is started
// again. Not ready within `timeout`: null, with what it and the last probe
// said in `error`.
std::unique_ptr<Process> start_subscriber(uint16_t port, const std::string& filter, const std::string& probe_topic,
                                          const std::filesystem::path& out, std::string* error,
                                          std::chrono::milliseconds timeout = std::chrono::seconds(30));

// A real mosquitto broker on 127.0.0.1 and a free port, as a cloud stand-in or a peer.
// `extra_conf` is appended to the generated mosquitto.conf (listener line included).
class Mosquitto {
 public:
  explicit Mosquitto(const std::string& extra_conf = "", uint16_t port = 0);
  ~Mosquitto();
  uint16_t port() const { return port_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  void stop();      // SIGTERM and wait
  void start();     // (re)start on the same port
  bool running() const { return proc_ != nullptr; }
  std::string log() const;  // what it logged so far (stdout and stderr)

 private:
  TempDir dir_;
  uint16_t port_;
  std::string extra_conf_;
  std::unique_ptr<Process> proc_;
};

// The head of a test's gateway.yaml: gateway `id` with data_dir ./var, one
// listener on 127.0.0.1:`device_port`, and the store in queue.db followed by
// `store_extra` (whole lines of store keys, two-space indented). Uplinks,
// routes and the rest follow it.
std::string gateway_yaml_head(const std::string& id, uint16_t device_port, const std::string& store_extra = "");

// The edge-gateway binary on one config, started again after each kill (the
// crash and restart tests): run N logs to DIR/gateway-N.log.
class GatewayRuns {
 public:
  GatewayRuns(std::filesystem::path dir, uint16_t device_port, std::vector<std::string> extra_args = {});
  // Starts the next run; false, with its log in `error`, when the device
  // port does not open within 10 s.
  bool start(const std::filesystem::path& config, std::string* error = nullptr);
  Process& process() { return *proc_; }
  // The logs of every run so far, the last `tail` bytes.
  std::string logs(size_t tail = 6000) const;

 private:
  std::filesystem::path log_path(int run) const;
  std::filesystem::path dir_;
  uint16_t port_;
  std::vector<std::string> extra_args_;
  std::unique_ptr<Process> proc_;
  int runs_ = 0;
};

// Path of a tool built by this project (GW_BINARY_DIR from ctest), e.g.
// built_binary("gateway/app/edge-gateway").
std::filesystem::path built_binary(const std::string& relative);
std::filesystem::path source_path(const std::string& relative);

}  // namespace gw::testing
