// RouteTable::compile: config::RouteConfig -> internal::CompiledRoute, with
// every problem reported at its FILE:LINE:COL.
#include <algorithm>
#include <charconv>
#include <set>

#include "gateway/mqtt/topic.h"
#include "gateway/rules/internal/compiled.h"

namespace gw::rules {
namespace {

using namespace internal;

constexpr size_t kMaxRegexLength = 512;

bool is_capture_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Why `pattern` is unsafe for a backtracking engine, or empty. Rejects
// backreferences and a quantified group that itself contains a quantifier
// ("(a+)+", "(x*y?)*"), the shapes that take exponential time.
std::string regex_hazard(std::string_view pattern) {
  if (pattern.size() > kMaxRegexLength) {
    return "longer than " + std::to_string(kMaxRegexLength) + " characters";
  }
  std::vector<bool> group_has_quantifier;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      if (i + 1 < pattern.size() && pattern[i + 1] >= '1' && pattern[i + 1] <= '9') {
        return "backreferences are not supported";
      }
      ++i;
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      continue;
    }
    const bool next_is_quantifier =
        i + 1 < pattern.size() && (pattern[i + 1] == '*' || pattern[i + 1] == '+' || pattern[i + 1] == '{');
    switch (c) {
      case '[':
        in_class = true;
        break;
      case '(':
        group_has_quantifier.push_back(false);
        break;
      case ')': {
        if (group_has_quantifier.empty()) break;  // std::regex reports it
        const bool inner = group_has_quantifier.back();
        group_has_quantifier.pop_back();
        if (inner && next_is_quantifier) return "nested quantifiers can take exponential time";
        if (next_is_quantifier && !group_has_quantifier.empty()) group_has_quantifier.back() = true;
        break;
      }
      case '*':
      case '+':
      case '{':
        if (!group_has_quantifier.empty()) group_has_quantifier.back() = true;
        break;
      default:
        break;
    }
  }
  return {};
}

// True when every topic matching filter `b` also matches filter `a`.
bool filter_covers(std::string_view a, std::string_view b) {
  const auto la = mqtt::split_topic_levels(a);
  const auto lb = mqtt::split_topic_levels(b);
  for (size_t i = 0; i < la.size(); ++i) {
    if (i == 0 && (la[0] == "+" || la[0] == "#") && i < lb.size() && !lb[0].empty() && lb[0][0] == '$') {
      return false;
    }
    if (la[i] == "#") return true;
    if (i >= lb.size() || lb[i] == "#") return false;
    if (la[i] == "+") continue;
    if (la[i] != lb[i]) return false;
  }
  return la.size() == lb.size();
}

class Compiler {
 public:
  Compiler(const config::Config& cfg, std::vector<Diagnostic>& diags) : cfg_(cfg), diags_(diags) {}

  void error(const SourcePos& pos, std::string message) {
    diags_.push_back({pos, std::move(message), Diagnostic::Severity::kError});
    failed_ = true;
  }
  void warning(const SourcePos& pos, std::string message) {
    diags_.push_back({pos, std::move(message), Diagnostic::Severity::kWarning});
  }
  bool failed() const { return failed_; }

  std::optional<Filter> filter(const config::TopicFilterConfig& fc) {
    Filter f;
    std::string out;
    int level = 0;
    size_t i = 0;
    const std::string& s = fc.filter;
    while (i <= s.size()) {
      const size_t slash = std::min(s.find('/', i), s.size());
      const std::string_view lv = std::string_view(s).substr(i, slash - i);
      if (!lv.empty() && lv.front() == '{') {
        const std::string_view name = lv.substr(1, lv.size() - 1 - (lv.back() == '}' ? 1 : 0));
        if (lv.back() != '}' || name.empty() || !std::all_of(name.begin(), name.end(), is_capture_char)) {
          error(fc.pos, "invalid topic filter '" + s + "': a capture is a whole level '{name}' (letters, digits, '_')");
          return std::nullopt;
        }
        for (const auto& [n, l] : f.captures) {
          if (n == name) {
            error(fc.pos, "invalid topic filter '" + s + "': capture '{" + std::string(name) + "}' appears twice");
            return std::nullopt;
          }
        }
        f.captures.emplace_back(std::string(name), level);
        out += '+';
      } else if (lv.find_first_of("{}") != std::string_view::npos) {
        error(fc.pos, "invalid topic filter '" + s + "': a capture is a whole level '{name}'");
        return std::nullopt;
      } else {
        out += lv;
      }
      if (slash == s.size()) break;
      out += '/';
      i = slash + 1;
      ++level;
    }
    const std::string_view why = mqtt::check_topic_filter(out);
    if (!why.empty()) {
      error(fc.pos, "invalid topic filter '" + s + "': " + std::string(why));
      return std::nullopt;
    }
    size_t wild = out.find_first_of("+#");
    if (wild == std::string::npos) wild = out.size();
    f.prefix = out.substr(0, wild);
    if (!f.prefix.empty() && f.prefix.back() == '/') f.prefix.pop_back();
    f.filter = std::move(out);
    return f;
  }

  ValueTest value(const config::ValueCondition& vc, const std::string& what) {
    ValueTest t;
    t.equals = vc.equals;
    t.has_in = vc.has_in;
    t.in = vc.in;
    t.glob = vc.glob;
    t.gt = vc.gt;
    t.gte = vc.gte;
    t.lt = vc.lt;
    t.lte = vc.lte;
    t.exists = vc.exists;
    t.has_value_test = vc.has_value_test();
    if (vc.regex) {
      const std::string hazard = regex_hazard(*vc.regex);
      if (!hazard.empty()) {
        error(vc.pos, what + ": regex '" + *vc.regex + "' rejected: " + hazard);
      } else {
        try {
          t.regex = std::make_shared<const std::regex>(*vc.regex, std::regex::ECMAScript | std::regex::optimize);
        } catch (const std::regex_error& e) {
          error(vc.pos, what + ": invalid regex '" + *vc.regex + "': " + e.what());
        }
      }
    }
    return t;
  }

  std::vector<PathSegment> json_path(const config::PayloadCondition& pc) {
    std::vector<PathSegment> out;
    const std::string& p = pc.path;
    size_t i = 1;  // after '$'
    while (i < p.size()) {
      if (p[i] == '.') {
        size_t end = i + 1;
        while (end < p.size() && p[end] != '.' && p[end] != '[') ++end;
        if (end == i + 1) break;
        out.push_back({p.substr(i + 1, end - i - 1), 0, false});
        i = end;
      } else if (p[i] == '[') {
        const size_t close = p.find(']', i);
        size_t index = 0;
        if (close == std::string::npos) break;
        const auto [ptr, ec] = std::from_chars(p.data() + i + 1, p.data() + close, index);
        if (ec != std::errc() || ptr != p.data() + close) break;
        out.push_back({{}, index, true});
        i = close + 1;
      } else {
        break;
      }
    }
    if (i != p.size() || out.empty()) {
      error(pc.pos, "payload: invalid JSON path '" + p + "': expected $.name, $.a.b or $.list[0]");
    }
    return out;
  }

  Matcher matcher(const config::MatchConfig& mc) {
    Matcher m;
    for (const auto& fc : mc.topics) {
      if (auto f = filter(fc)) m.topics.push_back(std::move(*f));
    }
    for (const auto& pc : mc.properties) m.properties.push_back({pc.key, value(pc.test, "property '" + pc.key + "'")});
    auto opt = [&](const std::optional<config::ValueCondition>& c, std::optional<ValueTest>& out, const char* what) {
      if (c) out = value(*c, what);
    };
    opt(mc.client_id, m.client_id, "client_id");
    opt(mc.username, m.username, "username");
    opt(mc.cert_cn, m.cert_cn, "cert_cn");
    opt(mc.qos, m.qos, "qos");
    opt(mc.retain, m.retain, "retain");
    opt(mc.content_type, m.content_type, "content_type");
    opt(mc.payload_format, m.payload_format, "payload_format");
    for (const auto& pc : mc.payload) {
      m.payload.push_back({json_path(pc), value(pc.test, "payload '" + pc.path + "'")});
    }
    m.needs_payload = !m.payload.empty();
    for (const auto& c : mc.all) {
      m.all.push_back(matcher(c));
      m.needs_payload |= m.all.back().needs_payload;
    }
    for (const auto& c : mc.any) {
      m.any.push_back(matcher(c));
      m.needs_payload |= m.any.back().needs_payload;
    }
    for (const auto& c : mc.none) {
      m.none.push_back(matcher(c));
      m.needs_payload |= m.none.back().needs_payload;
    }
    return m;
  }

  // Placeholders: {gateway_id} {route} {client_id} {username} {topic}
  // {topic[i]} {property.NAME} and the captures of the route's topic filters.
  std::optional<Template> templ(const config::TemplateConfig& tc, const config::RouteConfig& r,
                                const Matcher& m, std::string_view what, bool is_topic) {
    Template t;
    const std::string& s = tc.text;
    std::string literal;
    auto flush = [&] {
      if (!literal.empty()) t.parts.push_back({TemplatePart::Kind::kLiteral, std::move(literal), 0, {}});
      literal.clear();
    };
    size_t i = 0;
    bool ok = true;
    while (i < s.size()) {
      if (s[i] != '{') {
        if (s[i] == '}') {
          error(tc.pos, std::string(what) + ": unmatched '}' in template '" + s + "'");
          return std::nullopt;
        }
        literal += s[i++];
        continue;
      }
      const size_t close = s.find('}', i);
      if (close == std::string::npos) {
        error(tc.pos, std::string(what) + ": unclosed '{' in template '" + s + "'");
        return std::nullopt;
      }
      const std::string ph = s.substr(i + 1, close - i - 1);
      i = close + 1;
      if (ph == "gateway_id") {
        literal += cfg_.gateway.id;
      } else if (ph == "route") {
        literal += r.name;
      } else if (ph == "client_id" || ph == "username" || ph == "topic") {
        flush();
        t.parts.push_back({ph == "client_id"  ? TemplatePart::Kind::kClientId
                           : ph == "username" ? TemplatePart::Kind::kUsername
                                              : TemplatePart::Kind::kTopic,
                           {}, 0, {}});
      } else if (ph.rfind("topic[", 0) == 0 && ph.back() == ']') {
        int level = -1;
        const auto [p, ec] = std::from_chars(ph.data() + 6, ph.data() + ph.size() - 1, level);
        if (ec != std::errc() || p != ph.data() + ph.size() - 1 || level < 0 || level > 1000) {
          error(tc.pos, std::string(what) + ": '{" + ph + "}': the level index must be a number from 0");
          ok = false;
          continue;
        }
        flush();
        t.parts.push_back({TemplatePart::Kind::kTopicLevel, {}, level, {}});
      } else if (ph.rfind("property.", 0) == 0 && ph.size() > 9) {
        flush();
        t.parts.push_back({TemplatePart::Kind::kProperty, ph.substr(9), 0, {}});
      } else {
        // A capture: every top-level filter of the route must define it.
        TemplatePart part{TemplatePart::Kind::kCapture, ph, 0, {}};
        bool everywhere = !m.topics.empty();
        for (const auto& f : m.topics) {
          int level = -1;
          for (const auto& [name, l] : f.captures) {
            if (name == ph) level = l;
          }
          if (level < 0) everywhere = false;
          part.capture_level.push_back(level);
        }
        if (!everywhere) {
          std::set<std::string> names;
          for (const auto& f : m.topics) {
            for (const auto& c : f.captures) names.insert(c.first);
          }
          std::string known;
          for (const auto& n : names) known += (known.empty() ? "" : ", ") + ("{" + n + "}");
          error(tc.pos, std::string(what) + ": template names unknown capture or placeholder '{" + ph +
                            "}'" + (names.empty() ? "" : " (captures: " + known + ")") +
                            "; placeholders: {gateway_id}, {route}, {client_id}, {username}, {topic}, "
                            "{topic[N]}, {property.NAME}");
          ok = false;
          continue;
        }
        flush();
        t.needs_topic_filter = true;
        t.parts.push_back(std::move(part));
      }
    }
    flush();
    if (is_topic) {
      for (const auto& p : t.parts) {
        if (p.kind == TemplatePart::Kind::kLiteral && p.text.find_first_of("+#") != std::string::npos) {
          error(tc.pos, std::string(what) + ": a topic template must not contain '+' or '#'");
          ok = false;
          break;
        }
      }
    }
    if (!ok) return std::nullopt;
    return t;
  }

  // Matcher::required_bits / any_of_bits of a top-level matcher.
  static void bloom(Matcher& m) {
    for (const auto& p : m.properties) {
      if (p.test.exists == false) continue;  // absence: nothing to require
      const size_t h = key_hash(p.key);
      m.required_bits |= bloom_bit(h);
      if (p.test.equals) m.required_bits |= pair_bit(h, *p.test.equals);
      if (p.test.has_in) {
        uint64_t any = 0;
        for (const auto& v : p.test.in) any |= pair_bit(h, v);
        m.any_of_bits.push_back(any);  // an empty `in:` gives 0: never matches, like the exact test
      }
    }
  }

  CompiledRoute route(const config::RouteConfig& r) {
    CompiledRoute c;
    c.name = r.name;
    c.match = matcher(r.match);
    bloom(c.match);
    for (const auto& u : r.to) c.to.push_back(u.name);
    c.drop = r.drop;
    c.continue_matching = r.continue_matching;
    c.priority = static_cast<uint8_t>(r.priority);
    c.ttl = r.ttl;
    if (r.topic) c.topic = templ(*r.topic, r, c.match, "topic", true);
    if (r.republish) c.republish = templ(*r.republish, r, c.match, "republish", true);
    for (const auto& [key, tc] : r.set_properties) {
      if (auto t = templ(tc, r, c.match, "set_properties", false)) c.set_properties.emplace_back(key, std::move(*t));
    }
    c.remove_properties = r.remove_properties;
    c.rewrites_properties = !r.set_properties.empty() || !r.remove_properties.empty();
    return c;
  }

  // Warns about a route that an earlier, final route with only topic
  // conditions always catches first.
  void check_reachability() {
    const auto& routes = cfg_.routes;
    for (size_t j = 1; j < routes.size(); ++j) {
      for (size_t i = 0; i < j; ++i) {
        const auto& a = routes[i];
        if (a.continue_matching) continue;
        const auto& am = a.match;
        const bool topic_only = am.properties.empty() && !am.client_id && !am.username && !am.cert_cn &&
                                !am.qos && !am.retain && !am.content_type && !am.payload_format &&
                                am.payload.empty() && am.all.empty() && am.any.empty() && am.none.empty();
        if (!topic_only) continue;
        bool covered = am.topics.empty();
        if (!covered && !routes[j].match.topics.empty()) {
          covered = std::all_of(routes[j].match.topics.begin(), routes[j].match.topics.end(), [&](const auto& fb) {
            return std::any_of(am.topics.begin(), am.topics.end(), [&](const auto& fa) {
              return filter_covers(strip_captures(fa.filter), strip_captures(fb.filter));
            });
          });
        }
        if (covered) {
          warning(routes[j].pos, "route '" + routes[j].name + "' can never match: route '" + a.name + "' (line " +
                                     std::to_string(a.pos.line) + ") catches every message it would first");
          break;
        }
      }
    }
  }

  static std::string strip_captures(const std::string& f) {
    std::string out;
    bool first = true;
    for (auto lv : mqtt::split_topic_levels(f)) {
      if (!first) out += '/';
      first = false;
      out += (!lv.empty() && lv.front() == '{') ? std::string_view("+") : lv;
    }
    return out;
  }

 private:
  const config::Config& cfg_;
  std::vector<Diagnostic>& diags_;
  bool failed_ = false;
};

}  // namespace

RouteTable::RouteTable(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RouteTable::~RouteTable() = default;

size_t RouteTable::route_count() const { return impl_->routes.size(); }
std::string_view RouteTable::route_name(size_t index) const { return impl_->routes.at(index).name; }

Result<std::shared_ptr<const RouteTable>> RouteTable::compile(const config::Config& cfg,
                                                              std::vector<Diagnostic>* diags) {
  std::vector<Diagnostic> local;
  std::vector<Diagnostic>& out = diags != nullptr ? *diags : local;
  const size_t first = out.size();
  Compiler compiler(cfg, out);
  auto impl = std::make_unique<Impl>();
  impl->gateway_id = cfg.gateway.id;
  for (const auto& r : cfg.routes) {
    const auto index = static_cast<uint32_t>(impl->routes.size());
    impl->routes.push_back(compiler.route(r));
    const auto& topics = impl->routes.back().match.topics;
    if (r.match.topics.empty()) impl->topicless.push_back(index);
    for (size_t f = 0; f < topics.size(); ++f) impl->trie.add(topics[f].filter, index, static_cast<uint32_t>(f));
  }
  impl->trie.finish();
  impl->default_route.drop = cfg.default_route.drop;
  for (const auto& u : cfg.default_route.to) impl->default_route.to.push_back(u.name);
  impl->default_route.priority = static_cast<uint8_t>(cfg.default_route.priority);
  impl->default_route.ttl = cfg.default_route.ttl;
  compiler.check_reachability();
  std::stable_sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::pair(a.pos.line, a.pos.column) < std::pair(b.pos.line, b.pos.column);
                   });
  if (compiler.failed()) {
    size_t errors = 0;
    for (size_t i = first; i < out.size(); ++i) errors += out[i].severity == Diagnostic::Severity::kError;
    return invalid_argument(std::to_string(errors) + " error(s) in routes of " + cfg.file.string());
  }
  return std::shared_ptr<const RouteTable>(new RouteTable(std::move(impl)));
}

}  // namespace gw::rules
