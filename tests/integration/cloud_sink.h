// CloudSink: a real mosquitto_sub subscribed at the stand-in cloud, writing
// each batch as hex; decoded on demand with the gateway's own batch decoder.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/process.h"

namespace gw::testing {

class CloudSink {
 public:
  CloudSink(uint16_t cloud_port, const std::filesystem::path& dir, const std::string& filter = "gw/#");
  ~CloudSink();

  // Every device message received so far, decoded (JSON objects, in arrival order).
  std::vector<nlohmann::json> messages() const;
  size_t batches() const;
  // Waits until `pred(messages())` holds or the timeout passes; returns the last messages.
  template <typename Pred>
  bool wait_for(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(30)) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred(messages())) return true;
      poll_pause();
    }
    return pred(messages());
  }

 private:
  static void poll_pause();
  std::filesystem::path out_;
  std::unique_ptr<Process> sub_;
};

// Counts device messages per (stream, n) in decoded cloud messages whose
// payload is a JSON object {"stream": ..., "n": ...}.
struct StreamCount {
  std::map<std::string, std::multiset<int>> seen;
  size_t distinct(const std::string& stream) const;
  size_t duplicates(const std::string& stream) const;
};
StreamCount count_streams(const std::vector<nlohmann::json>& messages);

}  // namespace gw::testing
