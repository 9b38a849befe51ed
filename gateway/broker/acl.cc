#include "gateway/broker/acl.h"

#include "gateway/mqtt/topic.h"

namespace gw::broker {

namespace {

bool who_matches(const AclWho& w, const ClientIdentity& c) {
  if (w.any) return true;
  if (w.anonymous && *w.anonymous != c.anonymous) return false;
  if (w.username && (c.anonymous || !glob_match(*w.username, c.username))) return false;
  if (w.client_id && !glob_match(*w.client_id, c.client_id)) return false;
  if (w.cert_cn && (c.cert_cn.empty() || !glob_match(*w.cert_cn, c.cert_cn))) return false;
  return true;
}

bool safe_for_pattern(std::string_view s) {
  return !s.empty() && s.find_first_of("/+#") == std::string_view::npos;
}

// The pattern with %u / %c replaced; nullopt when a value cannot be used.
std::optional<std::string> substitute(std::string_view pattern, const ClientIdentity& c) {
  if (pattern.find('%') == std::string_view::npos) return std::string(pattern);
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '%' && i + 1 < pattern.size() && (pattern[i + 1] == 'u' || pattern[i + 1] == 'c')) {
      const std::string& v = pattern[i + 1] == 'u' ? c.username : c.client_id;
      if ((pattern[i + 1] == 'u' && c.anonymous) || !safe_for_pattern(v)) return std::nullopt;
      out += v;
      ++i;
    } else {
      out += pattern[i];
    }
  }
  return out;
}

}  // namespace

bool glob_match(std::string_view p, std::string_view t) {
  // Iterative with one backtrack point: linear for the usual patterns.
  size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == t[ti])) {
      ++pi;
      ++ti;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

bool filter_covered(std::string_view pattern, std::string_view filter) {
  const auto p = mqtt::split_topic_levels(pattern);
  const auto f = mqtt::split_topic_levels(filter);
  // §4.7.2: wildcards at the first level do not reach '$' topics.
  if (!f[0].empty() && f[0][0] == '$' && (p[0] == "+" || p[0] == "#")) return false;
  size_t i = 0;
  for (; i < f.size(); ++i) {
    if (i >= p.size()) return false;
    if (p[i] == "#") return true;
    if (f[i] == "#") return false;  // only '#' covers '#'
    if (p[i] == "+") continue;      // covers a literal or '+'
    if (f[i] == "+" || p[i] != f[i]) return false;
  }
  // "a/#" also matches "a" (§4.7.1.2).
  return i == p.size() || (i + 1 == p.size() && p[i] == "#");
}

bool Acl::decide(const ClientIdentity& who, std::string_view topic, Test test) const {
  for (const AclRule& r : rules_) {
    if (!(test == Test::kPublish ? r.publish : r.subscribe)) continue;
    if (!who_matches(r.who, who)) continue;
    for (const std::string& raw : r.topics) {
      const std::optional<std::string> pattern = substitute(raw, who);
      if (!pattern || !mqtt::check_topic_filter(*pattern).empty()) continue;
      const bool hit =
          test == Test::kSubscribe ? filter_covered(*pattern, topic) : mqtt::topic_matches(*pattern, topic);
      if (hit) return r.allow;
    }
  }
  return false;
}

bool Acl::may_publish(const ClientIdentity& who, std::string_view topic) const {
  return decide(who, topic, Test::kPublish);
}
bool Acl::may_subscribe(const ClientIdentity& who, std::string_view filter) const {
  return decide(who, filter, Test::kSubscribe);
}
bool Acl::may_receive(const ClientIdentity& who, std::string_view topic) const {
  return decide(who, topic, Test::kReceive);
}

}  // namespace gw::broker
