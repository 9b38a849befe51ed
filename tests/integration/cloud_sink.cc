#include "tests/integration/cloud_sink.h"

#include <fstream>
#include <sstream>
#include <thread>

#include "gateway/uplink/envelope.h"

namespace gw::testing {

CloudSink::CloudSink(uint16_t cloud_port, const std::filesystem::path& dir, const std::string& filter)
    : out_(dir / "cloud.out") {
  sub_ = std::make_unique<Process>(
      std::vector<std::string>{"sh", "-c",
                               "exec mosquitto_sub -h 127.0.0.1 -p " + std::to_string(cloud_port) +
                                   " -V mqttv5 -q 1 -t '" + filter + "' -F '%x' > " + out_.string()});
  // mosquitto_sub has subscribed once a retained probe comes back; simpler:
  // wait until it is connected by publishing probes until one is seen.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    run_command({"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(cloud_port), "-t",
                 filter.substr(0, filter.find('#')) + "probe", "-m", "probe"});
    if (!read_file(out_).empty()) break;
    poll_pause();
  }
}

CloudSink::~CloudSink() = default;

void CloudSink::poll_pause() { std::this_thread::sleep_for(std::chrono::milliseconds(50)); }

static std::string from_hex(const std::string& hex) {
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

std::vector<nlohmann::json> CloudSink::messages() const {
  std::vector<nlohmann::json> all;
  std::istringstream in(read_file(out_));
  std::string line;
  while (std::getline(in, line)) {
    auto lines = uplink::decode_batch(from_hex(line));
    if (!lines.is_ok()) continue;  // the probe and anything not a batch
    for (const auto& l : *lines) all.push_back(nlohmann::json::parse(l));
  }
  return all;
}

size_t CloudSink::batches() const {
  size_t n = 0;
  std::istringstream in(read_file(out_));
  std::string line;
  while (std::getline(in, line)) n += uplink::decode_batch(from_hex(line)).is_ok() ? 1 : 0;
  return n;
}

size_t StreamCount::distinct(const std::string& stream) const {
  auto it = seen.find(stream);
  return it == seen.end() ? 0 : std::set<int>(it->second.begin(), it->second.end()).size();
}

size_t StreamCount::duplicates(const std::string& stream) const {
  auto it = seen.find(stream);
  return it == seen.end() ? 0 : it->second.size() - distinct(stream);
}

StreamCount count_streams(const std::vector<nlohmann::json>& messages) {
  StreamCount c;
  for (const auto& m : messages) {
    if (!m.contains("payload")) continue;
    const auto& p = m["payload"];
    if (!p.is_object() || !p.contains("stream") || !p.contains("n")) continue;
    c.seen[p["stream"].get<std::string>()].insert(p["n"].get<int>());
  }
  return c;
}

}  // namespace gw::testing
