#include "gateway/uplink/settings.h"

#include <charconv>
#include <fstream>

namespace gw::uplink {

Status check_readable(const std::string& what, const std::string& path) {
  if (path.empty()) return Status::ok();
  std::ifstream f(path);
  if (!f.good()) return invalid_argument(what + " '" + path + "' cannot be read");
  return Status::ok();
}

Result<uint64_t> parse_uint(const std::string& key, std::string_view value, uint64_t max) {
  uint64_t out = 0;
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc() || p != value.data() + value.size() || out > max) {
    return invalid_argument("'" + key + "' must be a number up to " + std::to_string(max) + ", got '" +
                            std::string(value) + "'");
  }
  return out;
}

Result<bool> parse_bool(const std::string& key, std::string_view value) {
  if (value == "true") return true;
  if (value == "false") return false;
  return invalid_argument("'" + key + "' must be true or false");
}

Result<std::chrono::milliseconds> parse_duration(const std::string& key, std::string_view value) {
  uint64_t scale = 1000;
  if (value.ends_with("ms")) {
    scale = 1;
    value.remove_suffix(2);
  } else if (value.ends_with('s')) {
    value.remove_suffix(1);
  } else if (value.ends_with('m')) {
    scale = 60'000;
    value.remove_suffix(1);
  } else if (value.ends_with('h')) {
    scale = 3'600'000;
    value.remove_suffix(1);
  }
  auto n = parse_uint(key, value, 10'000'000'000ULL);
  if (!n.is_ok()) return invalid_argument("'" + key + "' must be a duration like 3600s or 1h");
  return std::chrono::milliseconds(static_cast<int64_t>(*n * scale));
}

}  // namespace gw::uplink
