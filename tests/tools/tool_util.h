// Small helpers shared by the bench tools (gw-loadgen, gw-counter,
// gw-faultproxy): flag parsing, clocks, percentiles and the acked-sequence
// file format. Header-only; no threads of its own.
//
// Acked file format (written by gw-loadgen --acked, read by gw-counter):
// one line per contiguous run of acknowledged sequence numbers,
//   <client_id> <first>-<last>
// sequence numbers start at 1 per client. Written to FILE.tmp and renamed, so
// a reader never sees half a file.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace gw::tools {

// --name value / --name=value / --flag flags. Unknown flags are an error so a
// typo in a bench script fails loudly.
class Flags {
 public:
  Flags(int argc, char** argv, std::vector<std::string> known) : known_(std::move(known)) {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a.rfind("--", 0) != 0) {
        positional_.push_back(a);
        continue;
      }
      a = a.substr(2);
      std::string value;
      bool has_value = false;
      if (auto eq = a.find('='); eq != std::string::npos) {
        value = a.substr(eq + 1);
        a = a.substr(0, eq);
        has_value = true;
      }
      if (std::find(known_.begin(), known_.end(), a) == known_.end()) {
        std::fprintf(stderr, "unknown flag --%s\n", a.c_str());
        std::exit(2);
      }
      if (!has_value && i + 1 < argc && std::string_view(argv[i + 1]).rfind("--", 0) != 0) {
        value = argv[++i];
      } else if (!has_value) {
        value = "1";
      }
      values_.emplace_back(a, value);
    }
  }
  std::string str(const std::string& name, const std::string& def = "") const {
    std::string out = def;
    for (const auto& [k, v] : values_) {
      if (k == name) out = v;
    }
    return out;
  }
  std::vector<std::string> all(const std::string& name) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : values_) {
      if (k == name) out.push_back(v);
    }
    return out;
  }
  double num(const std::string& name, double def) const {
    const std::string s = str(name);
    if (s.empty()) return def;
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (end == s.c_str() || *end != '\0') {
      std::fprintf(stderr, "--%s: not a number: %s\n", name.c_str(), s.c_str());
      std::exit(2);
    }
    return v;
  }
  bool has(const std::string& name) const { return !str(name).empty(); }
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::vector<std::string> known_;
  std::vector<std::pair<std::string, std::string>> values_;
  std::vector<std::string> positional_;
};

inline int64_t now_us_wall() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// p in [0, 100]; nearest-rank on a copy-free, partially sorted vector.
inline double percentile(std::vector<uint32_t>& v, double p) {
  if (v.empty()) return 0;
  size_t k = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  k = std::min(k, v.size() - 1);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

// One JSON object of numbers and strings, in insertion order, on one line.
class JsonLine {
 public:
  JsonLine& add(const std::string& k, const std::string& v) {
    fields_.emplace_back(k, "\"" + v + "\"");
    return *this;
  }
  JsonLine& add(const std::string& k, const char* v) { return add(k, std::string(v)); }
  JsonLine& add(const std::string& k, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    fields_.emplace_back(k, buf);
    return *this;
  }
  JsonLine& add(const std::string& k, uint64_t v) {
    fields_.emplace_back(k, std::to_string(v));
    return *this;
  }
  JsonLine& add(const std::string& k, int64_t v) {
    fields_.emplace_back(k, std::to_string(v));
    return *this;
  }
  JsonLine& add(const std::string& k, int v) { return add(k, static_cast<int64_t>(v)); }
  std::string json() const {
    std::string out = "{";
    for (size_t i = 0; i < fields_.size(); ++i) {
      if (i) out += ",";
      out += "\"" + fields_[i].first + "\":" + fields_[i].second;
    }
    return out + "}";
  }
  std::string csv_header() const {
    std::string out;
    for (size_t i = 0; i < fields_.size(); ++i) out += (i ? "," : "") + fields_[i].first;
    return out;
  }
  std::string csv_row() const {
    std::string out;
    for (size_t i = 0; i < fields_.size(); ++i) {
      std::string v = fields_[i].second;
      if (!v.empty() && v.front() == '"') v = v.substr(1, v.size() - 2);
      out += (i ? "," : "") + v;
    }
    return out;
  }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

// Per client: acked[seq] for seq in 1..size-1 (index 0 unused).
using AckedMap = std::map<std::string, std::vector<bool>>;

inline bool write_acked_file(const std::string& path, const AckedMap& acked) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    if (!out) return false;
    for (const auto& [client, bits] : acked) {
      size_t i = 1;
      while (i < bits.size()) {
        if (!bits[i]) {
          ++i;
          continue;
        }
        size_t j = i;
        while (j + 1 < bits.size() && bits[j + 1]) ++j;
        out << client << ' ' << i << '-' << j << '\n';
        i = j + 1;
      }
      if (std::none_of(bits.begin(), bits.end(), [](bool b) { return b; })) out << client << " none\n";
    }
    if (!out.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

// Merges the runs of `path` into `acked`. Returns false when it can't be read.
inline bool read_acked_file(const std::string& path, AckedMap& acked) {
  std::ifstream in(path);
  if (!in) return false;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string client, range;
    if (!(ls >> client >> range)) continue;
    auto& bits = acked[client];
    if (range == "none") continue;
    const auto dash = range.find('-');
    if (dash == std::string::npos) continue;
    const size_t lo = std::stoul(range.substr(0, dash));
    const size_t hi = std::stoul(range.substr(dash + 1));
    if (bits.size() <= hi) bits.resize(hi + 1, false);
    for (size_t s = lo; s <= hi; ++s) bits[s] = true;
  }
  return true;
}

}  // namespace gw::tools
