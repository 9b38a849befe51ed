// RouteTable::evaluate: the per-message hot path. Nothing here allocates for
// routes that test topics, identity and user properties only (Decision's
// vectors keep their capacity between calls); templates, property rewrites,
// regexes and payload conditions allocate.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <optional>

#include "gateway/mqtt/topic.h"
#include "gateway/rules/internal/compiled.h"

namespace gw::rules {

void Decision::clear() {
  matched.clear();
  matched_names.clear();
  deliveries.clear();
  republish.clear();
  topic_hits.clear();
  dropped = false;
  used_default = false;
}

namespace internal {

// '*' matches any run (also empty, also '/'), '?' one character. Iterative,
// backtracking only to the last '*': O(pattern * text), no allocation.
bool glob_match(std::string_view pattern, std::string_view text) {
  size_t p = 0;
  size_t t = 0;
  size_t star_p = std::string_view::npos;
  size_t star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star_p = p++;
      star_t = t;
    } else if (star_p != std::string_view::npos) {
      p = star_p + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

namespace {

// Values longer than this never match a regex: std::regex recurses per
// character and a device must not be able to exhaust the broker's stack.
constexpr size_t kMaxRegexInput = 4096;

std::optional<double> to_number(std::string_view s) {
  double v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

}  // namespace

bool ValueTest::test(std::string_view value) const {
  if (equals && value != *equals) return false;
  if (has_in && std::find(in.begin(), in.end(), value) == in.end()) return false;
  if (glob && !glob_match(*glob, value)) return false;
  if (regex) {
    if (value.size() > kMaxRegexInput) return false;
    if (!std::regex_search(value.begin(), value.end(), *regex)) return false;
  }
  if (gt || gte || lt || lte) {
    const auto n = to_number(value);
    if (!n) return false;
    if (gt && !(*n > *gt)) return false;
    if (gte && !(*n >= *gte)) return false;
    if (lt && !(*n < *lt)) return false;
    if (lte && !(*n <= *lte)) return false;
  }
  return true;
}

}  // namespace internal

namespace {

using namespace internal;

struct Context {
  const Message& msg;
  bool json_parsed = false;
  nlohmann::json json;  // discarded when the payload is not JSON
};

// exists: compares presence; value tests need a present value.
bool field_matches(const std::optional<ValueTest>& t, bool present, std::string_view value) {
  if (!t) return true;
  if (t->exists && *t->exists != present) return false;
  if (!t->has_value_test) return true;
  return present && t->test(value);
}

bool property_matches(const PropertyTest& p, const std::vector<UserProperty>& user) {
  if (p.test.exists == false) {
    return std::none_of(user.begin(), user.end(), [&](const UserProperty& u) { return u.first == p.key; });
  }
  for (const auto& u : user) {
    if (u.first == p.key && p.test.test(u.second)) return true;
  }
  return false;
}

const nlohmann::json* json_at(Context& ctx, const std::vector<PathSegment>& path) {
  if (!ctx.json_parsed) {
    ctx.json_parsed = true;
    ctx.json = nlohmann::json::parse(ctx.msg.payload, nullptr, /*allow_exceptions=*/false);
  }
  const nlohmann::json* node = &ctx.json;
  if (node->is_discarded()) return nullptr;
  for (const auto& seg : path) {
    if (seg.is_index) {
      if (!node->is_array() || seg.index >= node->size()) return nullptr;
      node = &(*node)[seg.index];
    } else {
      if (!node->is_object()) return nullptr;
      auto it = node->find(seg.key);
      if (it == node->end()) return nullptr;
      node = &*it;
    }
  }
  return node;
}

bool payload_matches(const PayloadTest& p, Context& ctx) {
  const nlohmann::json* v = json_at(ctx, p.path);
  if (p.test.exists && *p.test.exists != (v != nullptr)) return false;
  if (!p.test.has_value_test) return true;
  if (v == nullptr) return false;
  if (v->is_string()) return p.test.test(v->get_ref<const std::string&>());
  return p.test.test(v->dump());
}

std::string_view topic_level(std::string_view topic, int level) {
  size_t start = 0;
  for (int i = 0; i < level; ++i) {
    const size_t slash = topic.find('/', start);
    if (slash == std::string_view::npos) return {};
    start = slash + 1;
  }
  const size_t end = topic.find('/', start);
  return topic.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
}

// Everything of `m` but its own `topic:` filters, which the caller has checked
// (the route table's trie, or topics_match() for nested matchers).
bool matches_except_topics(const Matcher& m, Context& ctx);

// A nested matcher (all:/any:/not:) with its own topic filters.
bool matches(const Matcher& m, Context& ctx) {
  if (!m.topics.empty()) {
    const std::string_view topic = ctx.msg.topic;
    const bool any = std::any_of(m.topics.begin(), m.topics.end(), [&](const Filter& f) {
      return topic.starts_with(f.prefix) && mqtt::topic_matches(f.filter, topic);
    });
    if (!any) return false;
  }
  return matches_except_topics(m, ctx);
}

bool matches_except_topics(const Matcher& m, Context& ctx) {
  const Message& msg = ctx.msg;
  static constexpr std::string_view kDigits[] = {"0", "1", "2", "3"};
  if (!field_matches(m.qos, true, kDigits[std::min<uint8_t>(msg.qos, 3)])) return false;
  if (!field_matches(m.retain, true, msg.retain ? "true" : "false")) return false;
  if (!field_matches(m.client_id, !msg.client_id.empty(), msg.client_id)) return false;
  if (!field_matches(m.username, !msg.username.empty(), msg.username)) return false;
  if (!field_matches(m.cert_cn, !msg.cert_cn.empty(), msg.cert_cn)) return false;
  const auto& props = msg.properties;
  if (!field_matches(m.content_type, props.content_type.has_value(),
                     props.content_type ? std::string_view(*props.content_type) : std::string_view())) {
    return false;
  }
  if (m.payload_format) {
    // MQTT 5.0 §3.3.2.3.2: an absent indicator means 0 (unspecified bytes).
    const uint8_t pf = props.payload_format.value_or(0);
    if (m.payload_format->exists && *m.payload_format->exists != props.payload_format.has_value()) return false;
    if (m.payload_format->has_value_test && !m.payload_format->test(kDigits[std::min<uint8_t>(pf, 3)])) {
      return false;
    }
  }
  for (const auto& p : m.properties) {
    if (!property_matches(p, props.user)) return false;
  }
  for (const auto& p : m.payload) {
    if (!payload_matches(p, ctx)) return false;
  }
  for (const auto& sub : m.all) {
    if (!matches(sub, ctx)) return false;
  }
  if (!m.any.empty() &&
      std::none_of(m.any.begin(), m.any.end(), [&](const Matcher& sub) { return matches(sub, ctx); })) {
    return false;
  }
  for (const auto& sub : m.none) {
    if (matches(sub, ctx)) return false;
  }
  return true;
}

void expand(const Template& t, const Message& msg, int filter_index, std::string& out) {
  out.clear();
  for (const auto& part : t.parts) {
    switch (part.kind) {
      case TemplatePart::Kind::kLiteral:
        out += part.text;
        break;
      case TemplatePart::Kind::kClientId:
        out += msg.client_id;
        break;
      case TemplatePart::Kind::kUsername:
        out += msg.username;
        break;
      case TemplatePart::Kind::kTopic:
        out += msg.topic;
        break;
      case TemplatePart::Kind::kTopicLevel:
        out += topic_level(msg.topic, part.level);
        break;
      case TemplatePart::Kind::kCapture:
        if (filter_index >= 0 && static_cast<size_t>(filter_index) < part.capture_level.size()) {
          out += topic_level(msg.topic, part.capture_level[static_cast<size_t>(filter_index)]);
        }
        break;
      case TemplatePart::Kind::kProperty:
        for (const auto& u : msg.properties.user) {
          if (u.first == part.text) {
            out += u.second;
            break;
          }
        }
        break;
    }
  }
}

// remove_properties drops every pair with that key; set_properties replaces
// the first pair with its key (dropping later repeats) or appends.
std::vector<UserProperty> rewrite_properties(const CompiledRoute& r, const Message& msg, int filter_index) {
  std::vector<UserProperty> props;
  props.reserve(msg.properties.user.size() + r.set_properties.size());
  for (const auto& u : msg.properties.user) {
    if (std::find(r.remove_properties.begin(), r.remove_properties.end(), u.first) == r.remove_properties.end()) {
      props.push_back(u);
    }
  }
  std::string value;
  for (const auto& [key, tmpl] : r.set_properties) {
    expand(tmpl, msg, filter_index, value);
    auto first = std::find_if(props.begin(), props.end(), [&](const UserProperty& u) { return u.first == key; });
    if (first == props.end()) {
      props.emplace_back(key, value);
      continue;
    }
    first->second = value;
    props.erase(std::remove_if(first + 1, props.end(), [&](const UserProperty& u) { return u.first == key; }),
                props.end());
  }
  return props;
}

}  // namespace

void RouteTable::evaluate(const Message& msg, Decision& out) const {
  out.clear();
  Context ctx{msg, false, {}};
  std::string topic;
  // Candidates in route order: the routes whose topic filter matched (from
  // the trie, sorted so that a route's first matching filter comes first)
  // merged with the routes that have no topic condition.
  auto& hits = out.topic_hits;
  impl_->trie.match(msg.topic, hits);
  std::sort(hits.begin(), hits.end());
  const std::vector<uint32_t>& topicless = impl_->topicless;
  size_t h = 0;
  size_t t = 0;
  uint64_t bits = 0;  // property_bits(msg), computed when a route first needs them
  bool have_bits = false;
  while (h < hits.size() || t < topicless.size()) {
    uint32_t i = 0;
    int filter_index = -1;
    if (t == topicless.size() || (h < hits.size() && hits[h].first < topicless[t])) {
      i = hits[h].first;
      filter_index = static_cast<int>(hits[h].second);
      while (h < hits.size() && hits[h].first == i) ++h;  // the route's other filters
    } else {
      i = topicless[t++];
    }
    const CompiledRoute& r = impl_->routes[i];
    if (r.match.required_bits != 0 || !r.match.any_of_bits.empty()) {
      if (!have_bits) {
        bits = property_bits(msg.properties.user);
        have_bits = true;
      }
      if ((r.match.required_bits & ~bits) != 0) continue;
      if (std::any_of(r.match.any_of_bits.begin(), r.match.any_of_bits.end(),
                      [&](uint64_t any) { return (any & bits) == 0; })) {
        continue;
      }
    }
    if (!matches_except_topics(r.match, ctx)) continue;
    out.matched.push_back(i);
    out.matched_names.push_back(r.name);
    if (r.drop) {
      out.dropped = true;
      return;
    }
    std::vector<UserProperty> props;
    if (r.rewrites_properties) props = rewrite_properties(r, msg, filter_index);
    if (r.topic) {
      expand(*r.topic, msg, filter_index, topic);
      // A rewrite that comes out empty or with a wildcard (from a property
      // value) is not a topic name: keep the uplink's own topic instead.
      if (!mqtt::check_topic_name(topic).empty()) topic.clear();
    }
    for (const auto& uplink : r.to) {
      Delivery& d = out.deliveries.emplace_back();
      d.uplink = uplink;
      d.route = r.name;
      d.priority = r.priority;
      d.ttl = r.ttl;
      if (r.topic) d.cloud_topic = topic;
      if (r.rewrites_properties) {
        d.properties_rewritten = true;
        d.properties = props;
      }
    }
    if (r.republish) {
      expand(*r.republish, msg, filter_index, topic);
      if (mqtt::check_topic_name(topic).empty()) {
        Republish& rp = out.republish.emplace_back();
        rp.route = r.name;
        rp.topic = topic;
        if (r.rewrites_properties) {
          rp.properties_rewritten = true;
          rp.properties = std::move(props);
        }
      }
    }
    if (!r.continue_matching) return;
  }
  if (!out.matched.empty()) return;
  const CompiledDefault& d = impl_->default_route;
  out.used_default = true;
  if (d.drop) {
    out.dropped = true;
    return;
  }
  for (const auto& uplink : d.to) {
    Delivery& del = out.deliveries.emplace_back();
    del.uplink = uplink;
    del.route = "default_route";
    del.priority = d.priority;
    del.ttl = d.ttl;
  }
}

std::string decision_to_json(const Decision& decision, const Message& msg, int indent) {
  nlohmann::ordered_json j;
  j["matched"] = nlohmann::ordered_json::array();
  for (auto name : decision.matched_names) j["matched"].push_back(std::string(name));
  j["deliveries"] = nlohmann::ordered_json::array();
  for (const auto& d : decision.deliveries) {
    nlohmann::ordered_json o;
    o["route"] = std::string(d.route);
    o["uplink"] = std::string(d.uplink);
    o["priority"] = d.priority;
    o["ttl_s"] = d.ttl.count();
    o["topic"] = d.cloud_topic.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(d.cloud_topic);
    o["properties"] = nlohmann::ordered_json::array();
    for (const auto& [k, v] : Decision::properties_of(d, msg)) o["properties"].push_back({k, v});
    j["deliveries"].push_back(std::move(o));
  }
  j["republish"] = nlohmann::ordered_json::array();
  for (const auto& r : decision.republish) {
    j["republish"].push_back({{"route", std::string(r.route)}, {"topic", r.topic}});
  }
  j["dropped"] = decision.dropped;
  // Property values are device bytes: replace invalid UTF-8 rather than throw.
  return j.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace gw::rules
