#include "gateway/uplink/downlink.h"

#include <charconv>

namespace gw::uplink {
namespace {

std::vector<std::string_view> levels(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t slash = s.find('/', start);
    out.push_back(s.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

void replace_all(std::string& s, std::string_view what, std::string_view with) {
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + with.size())) {
    s.replace(at, what.size(), with);
  }
}

}  // namespace

bool topic_matches(std::string_view filter, std::string_view topic) {
  const auto f = levels(filter);
  const auto t = levels(topic);
  // MQTT 3.1.1 §4.7.2: a filter starting with a wildcard does not match $ topics.
  if (!topic.empty() && topic[0] == '$' && !f.empty() && (f[0] == "+" || f[0] == "#")) return false;
  size_t i = 0;
  for (; i < f.size(); ++i) {
    if (f[i] == "#") return true;
    if (i >= t.size()) return false;
    if (f[i] != "+" && f[i] != t[i]) return false;
  }
  return i == t.size();
}

Status validate(const DownlinkRule& r) {
  if (r.from.empty()) return invalid_argument("downlink: 'from' must not be empty");
  const auto f = levels(r.from);
  for (size_t i = 0; i < f.size(); ++i) {
    const bool has_wild = f[i].find_first_of("+#") != std::string_view::npos;
    if (has_wild && f[i] != "+" && f[i] != "#") {
      return invalid_argument("downlink: '" + r.from + "' is not a topic filter (wildcards fill a whole level)");
    }
    if (f[i] == "#" && i + 1 != f.size()) return invalid_argument("downlink: '#' must be last in '" + r.from + "'");
  }
  if (r.to.empty()) return invalid_argument("downlink: 'to' must not be empty");
  std::string rest = r.to;
  for (size_t at = rest.find('{'); at != std::string::npos; at = rest.find('{', at)) {
    const size_t close = rest.find('}', at);
    if (close == std::string::npos) return invalid_argument("downlink: unclosed '{' in '" + r.to + "'");
    const std::string_view ph = std::string_view(rest).substr(at + 1, close - at - 1);
    bool ok = ph == "topic";
    if (ph.starts_with("topic[") && ph.ends_with("]")) {
      size_t n = 0;
      const std::string_view num = ph.substr(6, ph.size() - 7);
      auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), n);
      ok = ec == std::errc() && p == num.data() + num.size();
    }
    if (!ok) {
      return invalid_argument("downlink: unknown placeholder '{" + std::string(ph) + "}' in '" + r.to +
                              "'; allowed: {gateway_id}, {topic}, {topic[N]}");
    }
    rest.replace(at, close - at + 1, "x");
  }
  if (rest.find_first_of("+#") != std::string::npos) {
    return invalid_argument("downlink: 'to' must be a topic name without wildcards: '" + r.to + "'");
  }
  return Status::ok();
}

DownlinkRule bind_gateway_id(DownlinkRule rule, std::string_view gateway_id) {
  replace_all(rule.from, "{gateway_id}", gateway_id);
  replace_all(rule.to, "{gateway_id}", gateway_id);
  return rule;
}

std::optional<std::string> map_downlink(const std::vector<DownlinkRule>& rules, std::string_view cloud_topic) {
  for (const auto& r : rules) {
    if (!topic_matches(r.from, cloud_topic)) continue;
    const auto t = levels(cloud_topic);
    std::string out;
    std::string_view to = r.to;
    while (!to.empty()) {
      const size_t open = to.find('{');
      out += to.substr(0, open);
      if (open == std::string_view::npos) break;
      const size_t close = to.find('}', open);
      const std::string_view ph = to.substr(open + 1, close - open - 1);
      if (ph == "topic") {
        out += cloud_topic;
      } else {
        size_t n = 0;
        std::from_chars(ph.data() + 6, ph.data() + ph.size() - 1, n);
        if (n < t.size()) out += t[n];
      }
      to.remove_prefix(close + 1);
    }
    return out;
  }
  return std::nullopt;
}

}  // namespace gw::uplink
