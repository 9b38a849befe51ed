// Scalar parsers shared by the loader and exposed in config.h: durations,
// sizes, HOST:PORT.
#include <charconv>
#include <limits>
#include <string>

#include "gateway/config/config.h"

namespace gw::config {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Result<Duration> parse_duration(std::string_view text) {
  const std::string_view s = trim(text);
  if (s.empty()) return invalid_argument("empty duration");
  // Each part is <digits><unit>; parts are summed ("1h30m").
  uint64_t total_ms = 0;
  size_t i = 0;
  while (i < s.size()) {
    const size_t start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == start) return invalid_argument("expected a number before each unit");
    uint64_t n = 0;
    const auto [p, ec] = std::from_chars(s.data() + start, s.data() + i, n);
    if (ec != std::errc() || p != s.data() + i) return invalid_argument("number too large");
    const size_t unit_start = i;
    while (i < s.size() && !is_digit(s[i])) ++i;
    const std::string_view unit = trim(s.substr(unit_start, i - unit_start));
    uint64_t scale = 0;
    if (unit == "ms") {
      scale = 1;
    } else if (unit == "s") {
      scale = 1000;
    } else if (unit == "m") {
      scale = 60 * 1000;
    } else if (unit == "h") {
      scale = 3600 * 1000;
    } else if (unit == "d") {
      scale = 24 * 3600 * 1000;
    } else if (unit.empty()) {
      return invalid_argument("missing unit");
    } else {
      return invalid_argument("unknown unit '" + std::string(unit) + "'");
    }
    constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / 2;
    if (n > kMax / scale || total_ms > kMax - n * scale) return invalid_argument("duration too large");
    total_ms += n * scale;
  }
  return Duration(static_cast<int64_t>(total_ms));
}

Result<uint64_t> parse_size(std::string_view text) {
  const std::string_view s = trim(text);
  size_t i = 0;
  while (i < s.size() && is_digit(s[i])) ++i;
  if (i == 0) return invalid_argument("expected a number");
  uint64_t n = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + i, n);
  if (ec != std::errc() || p != s.data() + i) return invalid_argument("number too large");
  const std::string_view unit = trim(s.substr(i));
  uint64_t scale = 0;
  if (unit.empty() || unit == "B") {
    scale = 1;
  } else if (unit == "KiB") {
    scale = 1024;
  } else if (unit == "MiB") {
    scale = 1024 * 1024;
  } else if (unit == "GiB") {
    scale = 1024ull * 1024 * 1024;
  } else if (unit == "KB" || unit == "kB" || unit == "K" || unit == "k") {
    return invalid_argument("unknown unit '" + std::string(unit) + "' (did you mean 'KiB'?)");
  } else if (unit == "MB" || unit == "M") {
    return invalid_argument("unknown unit '" + std::string(unit) + "' (did you mean 'MiB'?)");
  } else if (unit == "GB" || unit == "G") {
    return invalid_argument("unknown unit '" + std::string(unit) + "' (did you mean 'GiB'?)");
  } else {
    return invalid_argument("unknown unit '" + std::string(unit) + "'");
  }
  if (n > std::numeric_limits<uint64_t>::max() / scale) return invalid_argument("size too large");
  return n * scale;
}

Result<std::pair<std::string, uint16_t>> parse_host_port(std::string_view text) {
  const std::string_view s = trim(text);
  std::string_view host;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    const size_t close = s.find(']');
    if (close == std::string_view::npos) return invalid_argument("missing ']' after IPv6 address");
    host = s.substr(1, close - 1);
    if (close + 1 >= s.size() || s[close + 1] != ':') return invalid_argument("missing ':PORT'");
    port = s.substr(close + 2);
    if (host.find(':') == std::string_view::npos) {
      return invalid_argument("brackets are only for IPv6 addresses");
    }
  } else {
    const size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) return invalid_argument("missing ':PORT'");
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return invalid_argument("write IPv6 addresses in brackets, e.g. [::1]:1883");
    }
  }
  if (host.empty()) return invalid_argument("missing host (use 0.0.0.0 for every interface)");
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' ||
                    c == '-' || c == ':' || c == '%' || c == '_';
    if (!ok) return invalid_argument("invalid character in host");
  }
  if (port.empty()) return invalid_argument("missing port");
  unsigned value = 0;
  const auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || p != port.data() + port.size() || value > 65535) {
    return invalid_argument("port must be a number from 0 to 65535");
  }
  return std::pair<std::string, uint16_t>(std::string(host), static_cast<uint16_t>(value));
}

}  // namespace gw::config
