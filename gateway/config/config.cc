// The YAML loader: walks the yaml-cpp node tree once, section by section,
// recording every problem and carrying on with defaults, so that one run of
// check-config lists everything that is wrong. yaml-cpp exceptions stop here.
#include "gateway/config/config.h"
#include "gateway/config/internal/secrets.h"
#include "gateway/core/cpu_affinity.h"
#include "gateway/core/log.h"

#include <sched.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <span>
#include <sstream>

namespace gw::config {

std::string_view to_string(UplinkType type) {
  switch (type) {
    case UplinkType::kMqtt:
      return "mqtt";
    case UplinkType::kAwsIotCore:
      return "aws_iot_core";
    case UplinkType::kAzureIotHub:
      return "azure_iot_hub";
  }
  return "?";
}

std::string_view to_string(Compression compression) {
  switch (compression) {
    case Compression::kGzip:
      return "gzip";
    case Compression::kDeflate:
      return "deflate";
    case Compression::kNone:
      return "none";
  }
  return "?";
}

const UplinkConfig* Config::find_uplink(std::string_view name) const {
  for (const auto& u : uplinks) {
    if (u.name == name) return &u;
  }
  return nullptr;
}

namespace {

using Keys = std::initializer_list<std::string_view>;

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1);
  std::vector<size_t> cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// The closest candidate within a small edit distance, or empty.
template <typename Range>
std::string closest(std::string_view word, const Range& candidates) {
  std::string best;
  size_t best_d = std::max<size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = std::string(c);
    }
  }
  return best;
}

template <typename Range>
std::string join(const Range& items) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += ", ";
    out += i;
  }
  return out;
}

std::string describe(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "nothing";
  if (n.IsMap()) return "a map";
  if (n.IsSequence()) return "a list";
  return "'" + n.Scalar() + "'";
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

std::filesystem::path resolve(const std::filesystem::path& base, const std::filesystem::path& p) {
  if (p.empty() || p.is_absolute()) return p.lexically_normal();
  return (base / p).lexically_normal();
}

class Loader {
 public:
  Loader(std::string file, std::filesystem::path base_dir)
      : file_(std::move(file)), base_dir_(std::move(base_dir)) {}

  std::vector<Diagnostic>& diags() { return diags_; }

  SourcePos pos(const YAML::Node& n) const {
    const YAML::Mark m = n.Mark();
    if (m.is_null()) return {file_, 0, 0};
    return {file_, m.line + 1, m.column + 1};
  }
  SourcePos pos(const YAML::Mark& m) const {
    if (m.is_null()) return {file_, 0, 0};
    return {file_, m.line + 1, m.column + 1};
  }
  void error(const SourcePos& p, std::string message) {
    diags_.push_back({p, std::move(message), Diagnostic::Severity::kError});
  }
  void warning(const SourcePos& p, std::string message) {
    diags_.push_back({p, std::move(message), Diagnostic::Severity::kWarning});
  }

  // A map whose keys are checked against an allowed list once; later lookups
  // return the value node or nullptr.
  class Map {
   public:
    Map(Loader& l, const YAML::Node& node, std::string_view what, Keys allowed)
        : Map(l, node, what, std::span<const std::string_view>(allowed.begin(), allowed.size())) {}
    Map(Loader& l, const YAML::Node& node, std::string_view what, std::span<const std::string_view> allowed)
        : l_(l), node_(node) {
      if (!node.IsMap()) {
        l.error(l.pos(node), std::string(what) + ": expected a map, got " + describe(node));
        return;
      }
      ok_ = true;
      for (const auto& kv : node) {
        const YAML::Node k = kv.first;
        if (!k.IsScalar()) {
          l.error(l.pos(k), std::string(what) + ": keys must be plain names");
          continue;
        }
        const std::string key = k.Scalar();
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
          std::string msg = "unknown key '" + key + "' in " + std::string(what);
          const std::string guess = closest(key, allowed);
          if (!guess.empty()) msg += " (did you mean '" + guess + "'?)";
          msg += "; allowed keys: " + join(allowed);
          l.error(l.pos(k), std::move(msg));
          continue;
        }
        auto [found, inserted] = entries_.try_emplace(key, Entry{k, kv.second});
        if (!inserted) {
          l.error(l.pos(k), "duplicate key '" + key + "' (first at line " +
                                std::to_string(l.pos(found->second.key).line) + ")");
        }
      }
    }
    bool ok() const { return ok_; }
    const YAML::Node& node() const { return node_; }
    SourcePos pos() const { return l_.pos(node_); }
    bool has(const std::string& key) const { return entries_.count(key) != 0; }
    const YAML::Node* get(const std::string& key) const {
      auto it = entries_.find(key);
      return it == entries_.end() ? nullptr : &it->second.value;
    }
    SourcePos key_pos(const std::string& key) const {
      auto it = entries_.find(key);
      return it == entries_.end() ? pos() : l_.pos(it->second.key);
    }
    // Reports a missing required key at the map's position.
    const YAML::Node* require(const std::string& key, std::string_view what) const {
      const YAML::Node* v = get(key);
      if (v == nullptr && ok_) {
        l_.error(pos(), "missing required key '" + key + "' in " + std::string(what));
      }
      return v;
    }

   private:
    struct Entry {
      YAML::Node key;
      YAML::Node value;
    };
    Loader& l_;
    YAML::Node node_;
    bool ok_ = false;
    std::map<std::string, Entry> entries_;
  };

  // ------------------------------------------------------------ scalars
  std::optional<std::string> str(const YAML::Node& n, std::string_view key) {
    if (!n.IsScalar()) {
      error(pos(n), std::string(key) + ": expected a string, got " + describe(n));
      return std::nullopt;
    }
    return n.Scalar();
  }
  // A non-empty string of name characters (ids, names used in topics).
  std::optional<std::string> name(const YAML::Node& n, std::string_view key) {
    auto s = str(n, key);
    if (!s) return s;
    if (s->empty() || !std::all_of(s->begin(), s->end(), is_name_char)) {
      error(pos(n), std::string(key) + ": '" + *s +
                        "' is not a valid name (letters, digits, '-', '_', '.'; not empty)");
      return std::nullopt;
    }
    return s;
  }
  std::optional<int64_t> integer(const YAML::Node& n, std::string_view key, int64_t lo, int64_t hi) {
    int64_t v = 0;
    bool ok = n.IsScalar() && !n.Scalar().empty();
    if (ok) {
      const std::string& s = n.Scalar();
      const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      ok = ec == std::errc() && p == s.data() + s.size();
    }
    if (!ok || v < lo || v > hi) {
      error(pos(n), std::string(key) + ": expected an integer from " + std::to_string(lo) + " to " +
                        std::to_string(hi) + ", got " + describe(n));
      return std::nullopt;
    }
    return v;
  }
  std::optional<double> number(const YAML::Node& n, std::string_view key) {
    double v = 0;
    bool ok = n.IsScalar() && !n.Scalar().empty();
    if (ok) {
      const std::string& s = n.Scalar();
      const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      ok = ec == std::errc() && p == s.data() + s.size() && std::isfinite(v);
    }
    if (!ok) {
      error(pos(n), std::string(key) + ": expected a number, got " + describe(n));
      return std::nullopt;
    }
    return v;
  }
  static std::optional<bool> bool_value(const std::string& s) {
    if (s == "true" || s == "True" || s == "TRUE" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "False" || s == "FALSE" || s == "no" || s == "off") return false;
    return std::nullopt;
  }
  std::optional<bool> boolean(const YAML::Node& n, std::string_view key) {
    std::optional<bool> v;
    if (n.IsScalar()) v = bool_value(n.Scalar());
    if (!v) error(pos(n), std::string(key) + ": expected true or false, got " + describe(n));
    return v;
  }
  std::optional<Duration> duration(const YAML::Node& n, std::string_view key) {
    if (n.IsScalar()) {
      auto d = parse_duration(n.Scalar());
      if (d) return *d;
      error(pos(n), std::string(key) + ": invalid duration '" + n.Scalar() + "' (" + d.status().message() +
                        "): expected a whole number with a unit ms, s, m, h or d, e.g. 200ms, 5s, 1h30m");
      return std::nullopt;
    }
    error(pos(n), std::string(key) + ": expected a duration such as 200ms, 5s, 1h30m, got " + describe(n));
    return std::nullopt;
  }
  std::optional<std::chrono::seconds> seconds(const YAML::Node& n, std::string_view key) {
    auto d = duration(n, key);
    if (!d) return std::nullopt;
    if (d->count() % 1000 != 0) {
      error(pos(n), std::string(key) + ": must be a whole number of seconds, got '" + n.Scalar() + "'");
      return std::nullopt;
    }
    return std::chrono::duration_cast<std::chrono::seconds>(*d);
  }
  std::optional<uint64_t> size(const YAML::Node& n, std::string_view key, uint64_t min = 0) {
    if (n.IsScalar()) {
      auto s = parse_size(n.Scalar());
      if (s && *s >= min) return *s;
      std::string why = s ? "must be at least " + std::to_string(min) + " bytes" : s.status().message();
      error(pos(n), std::string(key) + ": invalid size '" + n.Scalar() + "' (" + why +
                        "): expected bytes or a whole number with KiB, MiB or GiB, e.g. 65536, 64KiB");
      return std::nullopt;
    }
    error(pos(n), std::string(key) + ": expected a size such as 65536 or 64KiB, got " + describe(n));
    return std::nullopt;
  }
  template <typename E>
  std::optional<E> choice(const YAML::Node& n, std::string_view key,
                          std::initializer_list<std::pair<std::string_view, E>> options) {
    if (n.IsScalar()) {
      for (const auto& [text, value] : options) {
        if (n.Scalar() == text) return value;
      }
    }
    std::vector<std::string_view> names;
    for (const auto& o : options) names.push_back(o.first);
    std::string msg = std::string(key) + ": expected one of " + join(names) + ", got " + describe(n);
    if (n.IsScalar()) {
      const std::string guess = closest(n.Scalar(), names);
      if (!guess.empty()) msg += " (did you mean '" + guess + "'?)";
    }
    error(pos(n), std::move(msg));
    return std::nullopt;
  }
  std::optional<std::pair<std::string, uint16_t>> host_port(const YAML::Node& n, std::string_view key) {
    if (!n.IsScalar()) {
      error(pos(n), std::string(key) + ": expected HOST:PORT, got " + describe(n));
      return std::nullopt;
    }
    auto hp = parse_host_port(n.Scalar());
    if (!hp) {
      error(pos(n), std::string(key) + ": invalid address '" + n.Scalar() + "': " + hp.status().message() +
                        " (expected HOST:PORT, e.g. 127.0.0.1:1883 or [::1]:1883)");
      return std::nullopt;
    }
    return *hp;
  }
  // A string or a list of strings.
  std::vector<std::pair<SourcePos, std::string>> string_list(const YAML::Node& n, std::string_view key) {
    std::vector<std::pair<SourcePos, std::string>> out;
    if (n.IsScalar()) {
      out.emplace_back(pos(n), n.Scalar());
    } else if (n.IsSequence()) {
      for (const auto& item : n) {
        if (auto s = str(item, key)) out.emplace_back(pos(item), *s);
      }
    } else {
      error(pos(n), std::string(key) + ": expected a string or a list of strings, got " + describe(n));
    }
    return out;
  }

  template <typename T, typename F>
  void set(const Map& m, const std::string& key, T& field, F&& parse) {
    if (const YAML::Node* v = m.get(key)) {
      if (auto parsed = parse(*v, key)) field = static_cast<T>(*parsed);
    }
  }

  // ------------------------------------------------------------ sections
  Config load(const YAML::Node& root);

 private:
  void load_gateway(const YAML::Node& n, Config& c);
  std::vector<int> cpus(const YAML::Node& n, const std::string& key);
  void load_listeners(const YAML::Node& n, Config& c);
  void load_limits(const YAML::Node& n, Config& c);
  void load_auth(const YAML::Node& n, Config& c);
  void load_acl(const YAML::Node& n, Config& c);
  void load_store(const YAML::Node* n, Config& c);
  void load_uplinks(const YAML::Node& n, Config& c);
  void load_routes(const YAML::Node& n, Config& c);
  void load_default_route(const YAML::Node& n, Config& c);
  void load_telemetry(const YAML::Node& n, Config& c);
  void load_log(const YAML::Node& n, Config& c);
  std::optional<std::string> log_level(const YAML::Node& n, std::string_view key);
  std::optional<ListenerTlsConfig> listener_tls(const YAML::Node& n);
  void uplink_tls(const YAML::Node& n, UplinkConfig& u);
  std::optional<RouteConfig> route(const YAML::Node& n);
  MatchConfig match(const YAML::Node& n);
  std::vector<MatchConfig> match_list(const YAML::Node& n, std::string_view key);
  std::optional<ValueCondition> value_condition(const YAML::Node& n, const std::string& key,
                                                const std::string& domain = {});
  std::optional<TemplateConfig> template_value(const YAML::Node& n, std::string_view key);
  std::vector<UplinkRef> uplink_refs(const YAML::Node& n);
  void check_uplink_refs(const std::vector<UplinkRef>& refs, const Config& c, std::string_view who);

  std::string file_;
  std::filesystem::path base_dir_;
  std::vector<Diagnostic> diags_;
};

Config Loader::load(const YAML::Node& root) {
  Config c;
  c.file = file_;
  c.store.path = "queue.db";
  if (!root.IsDefined() || root.IsNull()) {
    error({file_, 1, 1}, "the file is empty: expected a map with gateway, listeners, ...");
    return c;
  }
  Map m(*this, root, "the top level",
        {"gateway", "listeners", "limits", "auth", "acl", "store", "uplinks", "routes", "default_route",
         "telemetry", "log"});
  if (!m.ok()) return c;
  if (const YAML::Node* n = m.require("gateway", "the top level")) load_gateway(*n, c);
  if (const YAML::Node* n = m.require("listeners", "the top level")) load_listeners(*n, c);
  if (const YAML::Node* n = m.get("limits")) load_limits(*n, c);
  if (const YAML::Node* n = m.get("auth")) load_auth(*n, c);
  if (const YAML::Node* n = m.get("acl")) load_acl(*n, c);
  load_store(m.get("store"), c);
  if (const YAML::Node* n = m.get("uplinks")) load_uplinks(*n, c);
  if (const YAML::Node* n = m.get("routes")) load_routes(*n, c);
  if (const YAML::Node* n = m.get("default_route")) load_default_route(*n, c);
  if (const YAML::Node* n = m.get("telemetry")) load_telemetry(*n, c);
  if (const YAML::Node* n = m.get("log")) load_log(*n, c);

  // Cross-references, once every section is known.
  for (const auto& r : c.routes) check_uplink_refs(r.to, c, "route '" + r.name + "'");
  check_uplink_refs(c.default_route.to, c, "default_route");
  return c;
}

void Loader::load_gateway(const YAML::Node& n, Config& c) {
  Map m(*this, n, "gateway", {"id", "data_dir", "cpu_affinity"});
  c.gateway.pos = m.pos();
  if (!m.ok()) return;
  if (const YAML::Node* v = m.require("id", "gateway")) {
    if (auto s = name(*v, "id")) c.gateway.id = *s;
  }
  if (const YAML::Node* v = m.get("data_dir")) {
    if (auto s = str(*v, "data_dir")) {
      if (s->empty()) {
        error(pos(*v), "data_dir: must not be empty");
      } else {
        c.gateway.data_dir = *s;
      }
    }
  }
  c.gateway.data_dir = resolve(base_dir_, c.gateway.data_dir);
  if (const YAML::Node* v = m.get("cpu_affinity")) {
    Map a(*this, *v, "cpu_affinity", {"broker", "store", "uplinks"});
    if (!a.ok()) return;
    auto& ca = c.gateway.cpu_affinity;
    for (auto [key, out] : {std::pair{"broker", &ca.broker}, {"store", &ca.store}, {"uplinks", &ca.uplinks}}) {
      if (const YAML::Node* x = a.get(key)) *out = cpus(*x, std::string("cpu_affinity.") + key);
    }
  }
}

// A CPU number or a list of them, each one this process may run on.
std::vector<int> Loader::cpus(const YAML::Node& n, const std::string& key) {
  std::vector<YAML::Node> items;
  if (n.IsSequence()) {
    for (const auto& x : n) items.push_back(x);
    if (items.empty()) error(pos(n), key + ": the list of CPUs is empty (leave the key out not to pin)");
  } else {
    items.push_back(n);
  }
  const std::vector<int> usable = usable_cpus();
  std::vector<int> out;
  for (const auto& x : items) {
    const auto cpu = integer(x, key, 0, CPU_SETSIZE - 1);
    if (!cpu) continue;
    if (std::find(usable.begin(), usable.end(), *cpu) == usable.end()) {
      error(pos(x), key + ": CPU " + std::to_string(*cpu) + " is not one this process may run on (" +
                        cpu_list(usable) + ")");
      continue;
    }
    out.push_back(static_cast<int>(*cpu));
  }
  return out;
}

std::optional<ListenerTlsConfig> Loader::listener_tls(const YAML::Node& n) {
  Map m(*this, n, "listener tls", {"cert", "key", "client_ca", "require_client_cert", "cert_cn_as_username"});
  if (!m.ok()) return std::nullopt;
  ListenerTlsConfig t;
  t.pos = m.pos();
  auto path = [&](const std::string& key, std::filesystem::path& out, bool required) {
    const YAML::Node* v = required ? m.require(key, "listener tls") : m.get(key);
    if (v == nullptr) return;
    if (auto s = str(*v, key)) out = resolve(base_dir_, *s);
  };
  path("cert", t.cert, true);
  path("key", t.key, true);
  path("client_ca", t.client_ca, false);
  set(m, "require_client_cert", t.require_client_cert, [&](auto& v, auto& k) { return boolean(v, k); });
  set(m, "cert_cn_as_username", t.cert_cn_as_username, [&](auto& v, auto& k) { return boolean(v, k); });
  if (t.require_client_cert && t.client_ca.empty()) {
    error(m.key_pos("require_client_cert"), "require_client_cert: needs client_ca to verify the certificates");
  }
  return t;
}

void Loader::load_listeners(const YAML::Node& n, Config& c) {
  if (!n.IsSequence()) {
    error(pos(n), "listeners: expected a list of listeners, got " + describe(n));
    return;
  }
  if (n.size() == 0) error(pos(n), "listeners: at least one listener is needed");
  std::map<std::string, SourcePos> seen;
  for (const auto& item : n) {
    Map m(*this, item, "listener", {"name", "bind", "tls", "max_connections"});
    if (!m.ok()) continue;
    ListenerConfig l;
    l.pos = m.pos();
    if (const YAML::Node* v = m.require("name", "listener")) {
      if (auto s = name(*v, "name")) {
        l.name = *s;
        auto [it, inserted] = seen.emplace(l.name, pos(*v));
        if (!inserted) {
          error(pos(*v), "duplicate listener name '" + l.name + "' (first at line " +
                             std::to_string(it->second.line) + ")");
        }
      }
    }
    if (const YAML::Node* v = m.require("bind", "listener")) {
      l.bind_pos = pos(*v);
      if (auto hp = host_port(*v, "bind")) {
        l.host = hp->first;
        l.port = hp->second;
      }
    }
    if (const YAML::Node* v = m.get("tls")) l.tls = listener_tls(*v);
    set(m, "max_connections", l.max_connections,
        [&](auto& v, auto& k) { return integer(v, k, 1, 1000000); });
    c.listeners.push_back(std::move(l));
  }
}

void Loader::load_limits(const YAML::Node& n, Config& c) {
  Map m(*this, n, "limits",
        {"max_packet_size", "max_keepalive", "max_inflight", "max_queued_messages", "max_topic_levels",
         "max_topic_length", "connect_timeout"});
  LimitsConfig& l = c.limits;
  l.pos = m.pos();
  if (!m.ok()) return;
  set(m, "max_packet_size", l.max_packet_size, [&](auto& v, auto& k) -> std::optional<uint64_t> {
    auto s = size(v, k, 64);
    if (s && *s > 268435455) {  // MQTT's largest packet (§2.2.3)
      error(pos(v), std::string(k) + ": at most 256MiB (the MQTT maximum)");
      return std::nullopt;
    }
    return s;
  });
  auto positive_seconds = [&](auto& v, auto& k) -> std::optional<std::chrono::seconds> {
    auto d = seconds(v, k);
    if (d && (d->count() < 1 || d->count() > 65535)) {
      error(pos(v), std::string(k) + ": expected 1s to 65535s, got '" + v.Scalar() + "'");
      return std::nullopt;
    }
    return d;
  };
  set(m, "max_keepalive", l.max_keepalive, positive_seconds);
  set(m, "connect_timeout", l.connect_timeout, positive_seconds);
  set(m, "max_inflight", l.max_inflight, [&](auto& v, auto& k) { return integer(v, k, 1, 65535); });
  set(m, "max_queued_messages", l.max_queued_messages,
      [&](auto& v, auto& k) { return integer(v, k, 0, 10000000); });
  set(m, "max_topic_levels", l.max_topic_levels, [&](auto& v, auto& k) { return integer(v, k, 1, 1000); });
  set(m, "max_topic_length", l.max_topic_length, [&](auto& v, auto& k) { return integer(v, k, 1, 65535); });
}

void Loader::load_auth(const YAML::Node& n, Config& c) {
  Map m(*this, n, "auth", {"allow_anonymous", "password_file"});
  c.auth.pos = m.pos();
  if (!m.ok()) return;
  if (const YAML::Node* v = m.get("allow_anonymous")) {
    std::optional<AllowAnonymous> a;
    if (v->IsScalar() && v->Scalar() == "force") {
      a = AllowAnonymous::kForce;
    } else if (v->IsScalar() && bool_value(v->Scalar())) {
      a = *bool_value(v->Scalar()) ? AllowAnonymous::kLoopbackOnly : AllowAnonymous::kNever;
    } else {
      error(pos(*v), "allow_anonymous: expected true, false or force, got " + describe(*v));
    }
    if (a) c.auth.allow_anonymous = *a;
    if (a == AllowAnonymous::kLoopbackOnly) {
      for (const ListenerConfig& l : c.listeners) {
        if (l.host.rfind("127.", 0) != 0 && l.host != "::1" && l.host != "localhost") {
          warning(pos(*v), "allow_anonymous: true applies to loopback listeners only; listener '" + l.name +
                               "' still needs credentials (write 'force' to allow anonymous clients there)");
        }
      }
    }
  }
  if (const YAML::Node* v = m.get("password_file")) {
    if (auto s = str(*v, "password_file")) {
      if (s->empty()) {
        error(pos(*v), "password_file: must not be empty");
      } else {
        c.auth.password_file = resolve(base_dir_, *s);
      }
    }
  }
}

namespace {

// Empty when `f` is a valid MQTT topic filter (§4.7.1) once %u / %c are
// substituted; otherwise why not.
std::string acl_filter_problem(const std::string& f) {
  if (f.empty()) return "empty topic";
  size_t start = 0;
  while (true) {
    const size_t slash = f.find('/', start);
    const std::string level = f.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (level.find('#') != std::string::npos && (level != "#" || slash != std::string::npos)) {
      return "'#' must be the whole last level";
    }
    if (level.find('+') != std::string::npos && level != "+") return "'+' must be a whole level";
    if (slash == std::string::npos) return {};
    start = slash + 1;
  }
}

}  // namespace

void Loader::load_acl(const YAML::Node& n, Config& c) {
  c.acl.emplace();
  if (!n.IsSequence()) {
    error(pos(n), "acl: expected a list of rules, got " + describe(n));
    return;
  }
  for (const auto& item : n) {
    Map m(*this, item, "acl rule", {"who", "allow", "deny", "topics"});
    if (!m.ok()) continue;
    AclRuleConfig r;
    r.pos = m.pos();
    if (const YAML::Node* w = m.require("who", "acl rule")) {
      if (w->IsScalar() && w->Scalar() == "any") {
        r.who_any = true;
      } else if (w->IsMap()) {
        Map wm(*this, *w, "acl who", {"username", "client_id", "cert_cn", "anonymous"});
        auto glob = [&](const std::string& key, std::optional<std::string>& out) {
          if (const YAML::Node* v = wm.get(key)) {
            if (auto s = str(*v, key)) out = *s;
          }
        };
        glob("username", r.username);
        glob("client_id", r.client_id);
        glob("cert_cn", r.cert_cn);
        if (const YAML::Node* v = wm.get("anonymous")) r.anonymous = boolean(*v, "anonymous");
        if (wm.ok() && !r.username && !r.client_id && !r.cert_cn && !r.anonymous) {
          error(pos(*w), "who: name at least one of username, client_id, cert_cn, anonymous (or write who: any)");
        }
      } else {
        error(pos(*w), "who: expected any or a map of username, client_id, cert_cn, anonymous, got " +
                           describe(*w));
      }
    }
    const YAML::Node* actions = m.get("allow");
    if (m.has("allow") == m.has("deny")) {
      error(m.pos(), "acl rule: give exactly one of allow: or deny:");
    }
    if (actions == nullptr) {
      actions = m.get("deny");
      r.allow = false;
    }
    if (actions != nullptr) {
      for (const auto& [p, a] : string_list(*actions, r.allow ? "allow" : "deny")) {
        if (a == "publish") {
          r.publish = true;
        } else if (a == "subscribe") {
          r.subscribe = true;
        } else {
          error(p, std::string(r.allow ? "allow" : "deny") + ": expected publish or subscribe, got '" + a + "'");
        }
      }
    }
    if (const YAML::Node* t = m.require("topics", "acl rule")) {
      for (auto& [p, f] : string_list(*t, "topics")) {
        if (const std::string why = acl_filter_problem(f); !why.empty()) {
          error(p, "topics: '" + f + "' is not a topic filter: " + why);
          continue;
        }
        r.topics.push_back(std::move(f));
      }
    }
    c.acl->push_back(std::move(r));
  }
}

void Loader::load_store(const YAML::Node* n, Config& c) {
  StoreConfig& s = c.store;
  if (n != nullptr) {
    Map m(*this, *n, "store",
          {"path", "durability", "group_max_messages", "group_window", "max_bytes", "min_free_disk", "on_full",
           "on_expiry"});
    s.pos = m.pos();
    if (m.ok()) {
      if (const YAML::Node* v = m.get("path")) {
        if (auto p = str(*v, "path")) {
          if (p->empty()) {
            error(pos(*v), "path: must not be empty");
          } else {
            s.path = *p;
          }
        }
      }
      set(m, "durability", s.durability, [&](auto& v, auto& k) {
        return choice<Durability>(v, k, {{"fsync", Durability::kFsync}, {"os", Durability::kOs}});
      });
      set(m, "group_max_messages", s.group_max_messages,
          [&](auto& v, auto& k) { return integer(v, k, 1, 1000000); });
      set(m, "group_window", s.group_window, [&](auto& v, auto& k) { return duration(v, k); });
      set(m, "max_bytes", s.max_bytes, [&](auto& v, auto& k) { return size(v, k); });
      set(m, "min_free_disk", s.min_free_disk, [&](auto& v, auto& k) { return size(v, k); });
      set(m, "on_full", s.on_full, [&](auto& v, auto& k) {
        return choice<FullPolicy>(v, k, {{"reject", FullPolicy::kReject}, {"evict", FullPolicy::kEvict}});
      });
      set(m, "on_expiry", s.on_expiry, [&](auto& v, auto& k) {
        return choice<ExpiryPolicy>(v, k,
                                    {{"dead_letter", ExpiryPolicy::kDeadLetter}, {"drop", ExpiryPolicy::kDrop}});
      });
    }
  }
  s.path = resolve(c.gateway.data_dir, s.path);
}

void Loader::uplink_tls(const YAML::Node& n, UplinkConfig& u) {
  if (n.IsScalar()) {
    if (auto b = boolean(n, "tls")) u.tls.enabled = *b;
    return;
  }
  Map m(*this, n, "uplink tls", {"ca_file", "cert", "key"});
  if (!m.ok()) return;
  u.tls.enabled = true;
  auto path = [&](const std::string& key, std::filesystem::path& out) {
    if (const YAML::Node* v = m.get(key)) {
      if (auto s = str(*v, key)) out = resolve(base_dir_, *s);
    }
  };
  path("ca_file", u.tls.ca_file);
  path("cert", u.tls.cert);
  path("key", u.tls.key);
  if (u.tls.cert.empty() != u.tls.key.empty()) {
    error(m.pos(), "uplink tls: cert and key must be given together");
  }
}

void Loader::load_uplinks(const YAML::Node& n, Config& c) {
  if (!n.IsSequence()) {
    error(pos(n), "uplinks: expected a list of uplinks, got " + describe(n));
    return;
  }
  std::map<std::string, SourcePos> seen;
  for (const auto& item : n) {
    UplinkConfig u;
    u.pos = pos(item);
    // The type decides which keys are allowed, so read it first.
    if (item.IsMap() && item["type"]) {
      if (auto t = choice<UplinkType>(item["type"], "type",
                                      {{"mqtt", UplinkType::kMqtt},
                                       {"aws_iot_core", UplinkType::kAwsIotCore},
                                       {"azure_iot_hub", UplinkType::kAzureIotHub}})) {
        u.type = *t;
      }
    }
    const bool cloud = u.type != UplinkType::kMqtt;
    // Keys every type takes, then each type's own.
    std::vector<std::string_view> keys = {"name", "type", "host", "port", "topic", "batch", "compression",
                                          "compression_level", "mqtt_version", "tls", "keepalive", "backoff",
                                          "breaker", "publish_timeout", "replay", "downlink", "limits"};
    const auto add = [&](Keys more) { keys.insert(keys.end(), more.begin(), more.end()); };
    switch (u.type) {
      case UplinkType::kMqtt: add({"client_id", "username", "password"}); break;
      case UplinkType::kAwsIotCore: add({"client_id", "ca_file", "auth", "alpn"}); break;
      case UplinkType::kAzureIotHub: add({"device_id", "ca_file", "auth"}); break;
    }
    const std::string what = "uplink (type " + std::string(to_string(u.type)) + ")";
    Map m(*this, item, what, keys);
    if (!m.ok()) continue;
    if (const YAML::Node* v = m.require("name", "uplink")) {
      if (auto s = name(*v, "name")) {
        u.name = *s;
        auto [it, inserted] = seen.emplace(u.name, pos(*v));
        if (!inserted) {
          error(pos(*v), "duplicate uplink name '" + u.name + "' (first at line " +
                             std::to_string(it->second.line) + ")");
        }
      }
    }
    if (const YAML::Node* v = m.require("host", "uplink")) {
      if (auto s = str(*v, "host")) {
        if (s->empty()) {
          error(pos(*v), "host: must not be empty");
        } else {
          u.host = *s;
        }
      }
    }
    set(m, "port", u.port, [&](auto& v, auto& k) { return integer(v, k, 1, 65535); });
    set(m, "client_id", u.client_id, [&](auto& v, auto& k) { return str(v, k); });
    if (const YAML::Node* v = m.get("topic")) {
      u.topic_pos = pos(*v);
      if (auto s = str(*v, "topic")) {
        // The uplink expands it per batch; only these placeholders exist there.
        u.topic = *s;
        size_t at = 0;
        while ((at = s->find('{', at)) != std::string::npos) {
          const size_t close = s->find('}', at);
          if (close == std::string::npos) {
            error(u.topic_pos, "topic: unclosed '{' in template '" + *s + "'");
            break;
          }
          const std::string ph = s->substr(at + 1, close - at - 1);
          if (ph != "gateway_id" && ph != "route" && ph != "uplink") {
            error(u.topic_pos, "topic: unknown placeholder '{" + ph +
                                   "}' in uplink topic; allowed: {gateway_id}, {route}, {uplink}");
          }
          at = close + 1;
        }
      }
    } else {
      u.topic_pos = m.pos();
    }
    if (const YAML::Node* v = m.get("batch")) {
      Map b(*this, *v, "batch", {"max_messages", "max_bytes", "linger", "fill_billing_unit"});
      if (b.ok()) {
        set(b, "max_messages", u.batch.max_messages, [&](auto& x, auto& k) { return integer(x, k, 1, 1000000); });
        set(b, "max_bytes", u.batch.max_bytes, [&](auto& x, auto& k) { return size(x, k, 1); });
        set(b, "linger", u.batch.linger, [&](auto& x, auto& k) { return duration(x, k); });
        set(b, "fill_billing_unit", u.batch.fill_billing_unit, [&](auto& x, auto& k) { return boolean(x, k); });
      }
    }
    set(m, "compression", u.compression, [&](auto& v, auto& k) {
      return choice<Compression>(
          v, k, {{"gzip", Compression::kGzip}, {"deflate", Compression::kDeflate}, {"none", Compression::kNone}});
    });
    set(m, "compression_level", u.compression_level, [&](auto& v, auto& k) { return integer(v, k, 1, 9); });
    if (const YAML::Node* v = m.get("compression_level"); v != nullptr && u.compression == Compression::kNone) {
      warning(pos(*v), "compression_level: has no effect with compression: none");
    }
    if (u.type == UplinkType::kAzureIotHub) u.mqtt_version = MqttVersion::kV311;
    if (const YAML::Node* v = m.get("mqtt_version")) {
      if (auto mv = choice<MqttVersion>(*v, "mqtt_version",
                                        {{"5", MqttVersion::kV5},
                                         {"5.0", MqttVersion::kV5},
                                         {"3.1.1", MqttVersion::kV311},
                                         {"3", MqttVersion::kV311},
                                         {"4", MqttVersion::kV311}})) {
        if (u.type == UplinkType::kAzureIotHub && *mv != MqttVersion::kV311) {
          error(pos(*v), "mqtt_version: Azure IoT Hub speaks MQTT 3.1.1 only");
        }
        u.mqtt_version = *mv;
      }
    }
    set(m, "username", u.username, [&](auto& v, auto& k) { return str(v, k); });
    set(m, "password", u.password, [&](auto& v, auto& k) { return str(v, k); });
    if (const YAML::Node* v = m.get("tls")) uplink_tls(*v, u);
    if (const YAML::Node* v = m.get("ca_file")) {
      if (auto s = str(*v, "ca_file")) u.tls.ca_file = resolve(base_dir_, *s);
    }
    if (const YAML::Node* v = m.get("auth")) {
      Map a(*this, *v, "auth",
            u.type == UplinkType::kAzureIotHub ? Keys{"sas_key", "token_ttl", "cert", "key"} : Keys{"cert", "key"});
      if (a.ok()) {
        if (const YAML::Node* x = a.get("cert")) {
          if (auto s = str(*x, "cert")) u.tls.cert = resolve(base_dir_, *s);
        }
        if (const YAML::Node* x = a.get("key")) {
          if (auto s = str(*x, "key")) u.tls.key = resolve(base_dir_, *s);
        }
        set(a, "sas_key", u.sas_key, [&](auto& x, auto& k) { return str(x, k); });
        set(a, "token_ttl", u.sas_token_ttl, [&](auto& x, auto& k) { return duration(x, k); });
        if (u.tls.cert.empty() != u.tls.key.empty()) error(a.pos(), "auth: cert and key must be given together");
        if (!u.sas_key.empty() && !u.tls.cert.empty()) {
          error(a.pos(), "auth: give either sas_key or cert and key, not both");
        }
      }
    }
    set(m, "alpn", u.alpn, [&](auto& v, auto& k) { return boolean(v, k); });
    if (const YAML::Node* v = m.get("limits")) {
      Map l(*this, *v, "limits", {"publishes_per_second", "bytes_per_second"});
      if (l.ok()) {
        if (const YAML::Node* x = l.get("publishes_per_second")) {
          u.limits.publishes_pos = pos(*x);
          if (auto n = integer(*x, "publishes_per_second", 1, 1'000'000)) {
            u.limits.publishes_per_second = static_cast<uint32_t>(*n);
          }
        }
        if (const YAML::Node* x = l.get("bytes_per_second")) {
          u.limits.bytes_pos = pos(*x);
          if (auto n = size(*x, "bytes_per_second", 1)) u.limits.bytes_per_second = *n;
        }
      }
    }
    if (const YAML::Node* v = m.get("downlink")) {
      if (!v->IsSequence()) {
        error(pos(*v), "downlink: expected a list of {from: FILTER, to: TOPIC}, got " + describe(*v));
      } else {
        for (const auto& d : *v) {
          Map dm(*this, d, "downlink", {"from", "to"});
          if (!dm.ok()) continue;
          DownlinkConfig dc;
          dc.pos = pos(d);
          if (const YAML::Node* x = dm.require("from", "downlink")) {
            if (auto s = str(*x, "from")) dc.from = *s;
          }
          if (const YAML::Node* x = dm.require("to", "downlink")) {
            if (auto s = str(*x, "to")) dc.to = *s;
          }
          if (dc.to.find_first_of("+#") != std::string::npos) {
            error(dc.pos, "downlink: 'to' must be a topic name, without + or #");
          }
          u.downlink.push_back(std::move(dc));
        }
      }
    }
    set(m, "device_id", u.device_id, [&](auto& v, auto& k) { return name(v, k); });
    if (u.type == UplinkType::kAzureIotHub) {
      (void)m.require("device_id", "uplink (type azure_iot_hub)");
      u.client_id = u.device_id;
      if (u.sas_key.empty() && u.tls.cert.empty()) {
        error(m.pos(), "uplink '" + u.name + "': azure_iot_hub needs auth: {sas_key: ...} or {cert, key}");
      }
    }
    if (!u.tls.ca_file.empty() || !u.tls.cert.empty() || cloud) u.tls.enabled = true;
    set(m, "keepalive", u.keepalive, [&](auto& v, auto& k) { return duration(v, k); });
    if (u.keepalive < std::chrono::seconds(1) || u.keepalive > std::chrono::seconds(65535)) {
      error(m.key_pos("keepalive"), "keepalive: must be from 1s to 65535s");
    }
    set(m, "publish_timeout", u.publish_timeout, [&](auto& v, auto& k) { return duration(v, k); });
    if (u.publish_timeout < std::chrono::seconds(1)) {
      error(m.key_pos("publish_timeout"), "publish_timeout: must be at least 1s");
    }
    if (const YAML::Node* v = m.get("breaker")) {
      Map b(*this, *v, "breaker", {"failures", "open_for"});
      if (b.ok()) {
        set(b, "open_for", u.breaker.open_for, [&](auto& x, auto& k) { return duration(x, k); });
        if (const YAML::Node* x = b.get("failures")) {
          if (auto n = number(*x, "failures")) {
            if (*n < 1 || *n > 1000 || *n != std::floor(*n)) {
              error(pos(*x), "failures: must be a whole number from 1 to 1000, got " + describe(*x));
            } else {
              u.breaker.failures = static_cast<uint32_t>(*n);
            }
          }
        }
        if (u.breaker.open_for < std::chrono::seconds(1)) error(b.key_pos("open_for"), "open_for: must be at least 1s");
      }
    }
    if (const YAML::Node* v = m.get("backoff")) {
      Map b(*this, *v, "backoff", {"initial", "max", "multiplier"});
      if (b.ok()) {
        set(b, "initial", u.backoff.initial, [&](auto& x, auto& k) { return duration(x, k); });
        set(b, "max", u.backoff.max, [&](auto& x, auto& k) { return duration(x, k); });
        if (const YAML::Node* x = b.get("multiplier")) {
          if (auto d = number(*x, "multiplier")) {
            if (*d < 1.0 || *d > 100.0) {
              error(pos(*x), "multiplier: must be from 1 to 100, got " + describe(*x));
            } else {
              u.backoff.multiplier = *d;
            }
          }
        }
        if (u.backoff.initial.count() <= 0) error(b.pos(), "backoff: initial must be more than 0");
        if (u.backoff.initial > u.backoff.max) error(b.pos(), "backoff: initial must not exceed max");
      }
    }
    set(m, "replay", u.replay, [&](auto& v, auto& k) {
      return choice<Replay>(v, k, {{"oldest_first", Replay::kOldestFirst}, {"live_first", Replay::kLiveFirst}});
    });
    if (u.port == 0) u.port = u.tls.enabled ? 8883 : 1883;
    if (u.client_id.empty()) u.client_id = c.gateway.id;
    c.uplinks.push_back(std::move(u));
  }
}

std::vector<UplinkRef> Loader::uplink_refs(const YAML::Node& n) {
  std::vector<UplinkRef> out;
  if (n.IsSequence() && n.size() == 0) {
    error(pos(n), "to: the list of uplinks is empty (use drop: true to drop)");
    return out;
  }
  std::set<std::string> seen;
  for (auto& [p, s] : string_list(n, "to")) {
    if (!seen.insert(s).second) {
      error(p, "to: uplink '" + s + "' is listed twice");
      continue;
    }
    out.push_back({p, s});
  }
  return out;
}

void Loader::check_uplink_refs(const std::vector<UplinkRef>& refs, const Config& c, std::string_view who) {
  for (const auto& r : refs) {
    if (c.find_uplink(r.name) != nullptr) continue;
    std::vector<std::string> names;
    for (const auto& u : c.uplinks) names.push_back(u.name);
    std::string msg = std::string(who) + " sends to unknown uplink '" + r.name + "'";
    const std::string guess = closest(r.name, names);
    if (!guess.empty()) msg += " (did you mean '" + guess + "'?)";
    msg += names.empty() ? "; no uplinks are defined" : "; uplinks: " + join(names);
    error(r.pos, std::move(msg));
  }
}

std::optional<ValueCondition> Loader::value_condition(const YAML::Node& n, const std::string& key,
                                                      const std::string& domain) {
  ValueCondition v;
  v.pos = pos(n);
  // Normalises and checks one value for qos / retain / payload_format.
  auto value = [&](const YAML::Node& x) -> std::optional<std::string> {
    if (!x.IsScalar()) {
      error(pos(x), key + ": expected a value, got " + describe(x));
      return std::nullopt;
    }
    const std::string& s = x.Scalar();
    if (domain == "qos" && s != "0" && s != "1" && s != "2") {
      error(pos(x), key + ": QoS is 0, 1 or 2, got " + describe(x));
      return std::nullopt;
    }
    if (domain == "payload_format" && s != "0" && s != "1") {
      error(pos(x), key + ": payload format is 0 (bytes) or 1 (UTF-8), got " + describe(x));
      return std::nullopt;
    }
    if (domain == "bool") {
      auto b = bool_value(s);
      if (!b) {
        error(pos(x), key + ": expected true or false, got " + describe(x));
        return std::nullopt;
      }
      return std::string(*b ? "true" : "false");
    }
    return s;
  };
  if (n.IsScalar()) {
    auto s = value(n);
    if (!s) return std::nullopt;
    v.equals = *s;
    return v;
  }
  if (n.IsSequence()) {  // shorthand for in:
    v.has_in = true;
    for (const auto& x : n) {
      if (auto s = value(x)) v.in.push_back(*s);
    }
    return v;
  }
  const bool numeric_ok = domain.empty();
  Map m(*this, n, "condition on '" + key + "'",
        numeric_ok ? Keys{"equals", "in", "glob", "regex", "exists", "gt", "gte", "lt", "lte"}
                   : Keys{"equals", "in", "exists"});
  if (!m.ok()) return std::nullopt;
  if (const YAML::Node* x = m.get("equals")) v.equals = value(*x);
  if (const YAML::Node* x = m.get("in")) {
    v.has_in = true;
    if (!x->IsSequence()) {
      error(pos(*x), "in: expected a list of values, got " + describe(*x));
    } else {
      for (const auto& item : *x) {
        if (auto s = value(item)) v.in.push_back(*s);
      }
    }
  }
  set(m, "glob", v.glob, [&](auto& x, auto& k) { return str(x, k); });
  set(m, "regex", v.regex, [&](auto& x, auto& k) { return str(x, k); });
  set(m, "exists", v.exists, [&](auto& x, auto& k) { return boolean(x, k); });
  set(m, "gt", v.gt, [&](auto& x, auto& k) { return number(x, k); });
  set(m, "gte", v.gte, [&](auto& x, auto& k) { return number(x, k); });
  set(m, "lt", v.lt, [&](auto& x, auto& k) { return number(x, k); });
  set(m, "lte", v.lte, [&](auto& x, auto& k) { return number(x, k); });
  if (v.exists == false && v.has_value_test()) {
    error(m.key_pos("exists"), "exists: false cannot be combined with a value test");
  }
  if (!v.exists && !v.has_value_test() && m.get("in") == nullptr) {
    error(m.pos(), "condition on '" + key + "' is empty");
  }
  return v;
}

std::vector<MatchConfig> Loader::match_list(const YAML::Node& n, std::string_view key) {
  std::vector<MatchConfig> out;
  if (n.IsSequence()) {
    if (n.size() == 0) error(pos(n), std::string(key) + ": the list is empty");
    for (const auto& item : n) out.push_back(match(item));
  } else if (n.IsMap()) {
    out.push_back(match(n));
  } else {
    error(pos(n), std::string(key) + ": expected a match map or a list of them, got " + describe(n));
  }
  return out;
}

MatchConfig Loader::match(const YAML::Node& n) {
  MatchConfig mc;
  Map m(*this, n, "match",
        {"topic", "properties", "client_id", "username", "cert_cn", "qos", "retain", "content_type",
         "payload_format", "payload", "all", "any", "not"});
  mc.pos = m.pos();
  if (!m.ok()) return mc;
  if (const YAML::Node* v = m.get("topic")) {
    if (v->IsSequence() && v->size() == 0) error(pos(*v), "topic: the list of topic filters is empty");
    for (auto& [p, s] : string_list(*v, "topic")) mc.topics.push_back({p, s});
  }
  if (const YAML::Node* v = m.get("properties")) {
    if (!v->IsMap()) {
      error(pos(*v), "properties: expected a map of property names to conditions, got " + describe(*v));
    } else {
      std::set<std::string> seen;
      for (const auto& kv : *v) {
        if (!kv.first.IsScalar()) {
          error(pos(kv.first), "properties: names must be strings");
          continue;
        }
        const std::string key = kv.first.Scalar();
        if (!seen.insert(key).second) {
          error(pos(kv.first), "duplicate key '" + key + "' in properties");
          continue;
        }
        if (auto c = value_condition(kv.second, key)) mc.properties.push_back({pos(kv.first), key, *c});
      }
    }
  }
  auto cond = [&](const std::string& key, std::optional<ValueCondition>& out, const std::string& domain) {
    if (const YAML::Node* v = m.get(key)) out = value_condition(*v, key, domain);
  };
  cond("client_id", mc.client_id, "");
  cond("username", mc.username, "");
  cond("cert_cn", mc.cert_cn, "");
  cond("qos", mc.qos, "qos");
  cond("retain", mc.retain, "bool");
  cond("content_type", mc.content_type, "");
  cond("payload_format", mc.payload_format, "payload_format");
  if (const YAML::Node* v = m.get("payload")) {
    if (!v->IsMap()) {
      error(pos(*v), "payload: expected a map of JSON paths ($.a.b) to conditions, got " + describe(*v));
    } else {
      for (const auto& kv : *v) {
        const std::string path = kv.first.IsScalar() ? kv.first.Scalar() : "";
        if (path.empty() || path[0] != '$') {
          error(pos(kv.first), "payload: a JSON path starts with '$', e.g. \"$.severity\"");
          continue;
        }
        if (auto c = value_condition(kv.second, path)) mc.payload.push_back({pos(kv.first), path, *c});
      }
    }
  }
  if (const YAML::Node* v = m.get("all")) mc.all = match_list(*v, "all");
  if (const YAML::Node* v = m.get("any")) mc.any = match_list(*v, "any");
  if (const YAML::Node* v = m.get("not")) mc.none = match_list(*v, "not");
  return mc;
}

std::optional<TemplateConfig> Loader::template_value(const YAML::Node& n, std::string_view key) {
  auto s = str(n, key);
  if (!s) return std::nullopt;
  if (s->empty()) {
    error(pos(n), std::string(key) + ": must not be empty");
    return std::nullopt;
  }
  return TemplateConfig{pos(n), *s};
}

std::optional<RouteConfig> Loader::route(const YAML::Node& n) {
  Map m(*this, n, "route",
        {"name", "match", "to", "drop", "priority", "ttl", "topic", "set_properties", "remove_properties",
         "republish", "continue"});
  if (!m.ok()) return std::nullopt;
  RouteConfig r;
  r.pos = m.pos();
  if (const YAML::Node* v = m.require("name", "route")) {
    if (auto s = name(*v, "name")) r.name = *s;
  }
  if (const YAML::Node* v = m.get("match")) r.match = match(*v);
  if (const YAML::Node* v = m.get("to")) r.to = uplink_refs(*v);
  set(m, "drop", r.drop, [&](auto& v, auto& k) { return boolean(v, k); });
  set(m, "priority", r.priority, [&](auto& v, auto& k) { return integer(v, k, 0, 9); });
  set(m, "ttl", r.ttl, [&](auto& v, auto& k) { return seconds(v, k); });
  if (const YAML::Node* v = m.get("topic")) r.topic = template_value(*v, "topic");
  if (const YAML::Node* v = m.get("republish")) r.republish = template_value(*v, "republish");
  if (const YAML::Node* v = m.get("set_properties")) {
    if (!v->IsMap()) {
      error(pos(*v), "set_properties: expected a map of names to values, got " + describe(*v));
    } else {
      for (const auto& kv : *v) {
        if (!kv.first.IsScalar() || !kv.second.IsScalar()) {
          error(pos(kv.first), "set_properties: names and values must be strings");
          continue;
        }
        r.set_properties.emplace_back(kv.first.Scalar(), TemplateConfig{pos(kv.second), kv.second.Scalar()});
      }
    }
  }
  if (const YAML::Node* v = m.get("remove_properties")) {
    for (auto& [p, s] : string_list(*v, "remove_properties")) r.remove_properties.push_back(s);
  }
  set(m, "continue", r.continue_matching, [&](auto& v, auto& k) { return boolean(v, k); });

  const std::string who = "route '" + r.name + "'";
  if (r.drop) {
    if (!r.to.empty() || r.republish || r.topic || !r.set_properties.empty() || !r.remove_properties.empty()) {
      error(m.key_pos("drop"), who + ": drop: true cannot be combined with to, topic, republish or properties");
    }
    if (r.continue_matching) {
      error(m.key_pos("continue"), who + ": drop: true ends evaluation, so continue: true has no effect");
    }
  } else if (r.to.empty() && !r.republish && !m.has("to")) {
    error(r.pos, who + " has no action: give to: [uplink, ...], republish: TOPIC or drop: true");
  }
  if (r.to.empty() && r.topic) {
    error(m.key_pos("topic"), who + ": topic rewrites the cloud topic, but the route has no to:");
  }
  return r;
}

void Loader::load_routes(const YAML::Node& n, Config& c) {
  if (n.IsNull()) return;
  if (!n.IsSequence()) {
    error(pos(n), "routes: expected a list of routes, got " + describe(n));
    return;
  }
  std::map<std::string, SourcePos> seen;
  for (const auto& item : n) {
    auto r = route(item);
    if (!r) continue;
    if (!r->name.empty()) {
      auto [it, inserted] = seen.emplace(r->name, r->pos);
      if (!inserted) {
        error(pos(item["name"]), "duplicate route name '" + r->name + "' (first at line " +
                                    std::to_string(it->second.line) + ")");
      }
    }
    c.routes.push_back(std::move(*r));
  }
}

void Loader::load_default_route(const YAML::Node& n, Config& c) {
  DefaultRouteConfig& d = c.default_route;
  d.pos = pos(n);
  if (n.IsScalar()) {
    if (n.Scalar() != "drop") {
      error(pos(n), "default_route: expected 'drop' or a map {to: [...], priority, ttl}, got " + describe(n));
    }
    return;
  }
  Map m(*this, n, "default_route", {"to", "drop", "priority", "ttl"});
  if (!m.ok()) return;
  if (const YAML::Node* v = m.get("to")) d.to = uplink_refs(*v);
  bool drop = false;
  set(m, "drop", drop, [&](auto& v, auto& k) { return boolean(v, k); });
  set(m, "priority", d.priority, [&](auto& v, auto& k) { return integer(v, k, 0, 9); });
  set(m, "ttl", d.ttl, [&](auto& v, auto& k) { return seconds(v, k); });
  if (drop && !d.to.empty()) error(m.key_pos("drop"), "default_route: drop: true cannot be combined with to");
  if (!drop && !m.has("to")) error(m.pos(), "default_route: give to: [uplink, ...] or write default_route: drop");
  d.drop = d.to.empty();
}

void Loader::load_telemetry(const YAML::Node& n, Config& c) {
  Map m(*this, n, "telemetry", {"http"});
  if (!m.ok()) return;
  if (const YAML::Node* v = m.get("http")) {
    if (auto hp = host_port(*v, "http")) c.telemetry.http = *hp;
  }
}

std::optional<std::string> Loader::log_level(const YAML::Node& n, std::string_view key) {
  if (n.IsScalar()) {
    for (std::string_view level : log::kLevelNames) {
      if (n.Scalar() == level) return std::string(level);
    }
  }
  std::string msg = std::string(key) + ": expected a log level (" + join(log::kLevelNames) + "), got " + describe(n);
  if (n.IsScalar()) {
    const std::string guess = closest(n.Scalar(), log::kLevelNames);
    if (!guess.empty()) msg += " (did you mean '" + guess + "'?)";
  }
  error(pos(n), std::move(msg));
  return std::nullopt;
}

void Loader::load_log(const YAML::Node& n, Config& c) {
  LogConfig& l = c.log;
  l.pos = pos(n);
  Map m(*this, n, "log", {"level", "file", "max_size", "max_files", "modules", "repeats"});
  if (!m.ok()) return;
  set(m, "level", l.level, [&](auto& v, auto& k) { return log_level(v, k); });
  if (const YAML::Node* v = m.get("file")) {
    if (auto s = str(*v, "file")) {
      if (s->empty()) {
        error(pos(*v), "file: must not be empty (leave the key out to log to stderr)");
      } else {
        l.file = resolve(base_dir_, *s);
      }
    }
  }
  set(m, "max_size", l.max_size, [&](auto& v, auto& k) { return size(v, k, 4096); });
  set(m, "max_files", l.max_files, [&](auto& v, auto& k) { return integer(v, k, 1, 100); });
  if (const YAML::Node* v = m.get("modules")) {
    if (!v->IsMap()) {
      error(pos(*v), "modules: expected a map of module: level (modules: " + join(log::kModuleNames) + "), got " +
                         describe(*v));
    } else {
      std::set<std::string> seen;
      for (const auto& kv : *v) {
        const YAML::Node key = kv.first;
        if (!key.IsScalar()) {
          error(pos(key), "modules: keys must be module names");
          continue;
        }
        const std::string module = key.Scalar();
        if (!log::module_from_name(module)) {
          std::string msg = "modules: unknown module '" + module + "'";
          const std::string guess = closest(module, log::kModuleNames);
          if (!guess.empty()) msg += " (did you mean '" + guess + "'?)";
          msg += "; modules: " + join(log::kModuleNames);
          error(pos(key), std::move(msg));
          continue;
        }
        if (!seen.insert(module).second) {
          error(pos(key), "modules: '" + module + "' is given twice");
          continue;
        }
        if (auto level = log_level(kv.second, module)) l.modules.emplace_back(module, *level);
      }
    }
  }
  if (const YAML::Node* v = m.get("repeats")) {
    Map r(*this, *v, "log.repeats", {"max_lines", "window"});
    if (r.ok()) {
      set(r, "max_lines", l.repeat_max_lines, [&](auto& v2, auto& k) { return integer(v2, k, 0, 1'000'000); });
      set(r, "window", l.repeat_window, [&](auto& v2, auto& k) { return duration(v2, k); });
      if (l.repeat_window.count() <= 0) error(r.key_pos("window"), "window: must be longer than 0");
    }
  }
}

LoadResult finish(Loader& loader, std::optional<Config> config) {
  LoadResult result;
  auto& diags = loader.diags();
  std::stable_sort(diags.begin(), diags.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::pair(a.pos.line, a.pos.column) < std::pair(b.pos.line, b.pos.column);
  });
  if (!has_errors(diags)) {
    result.config = std::move(config);
  } else {
    result.partial = std::move(config);
  }
  result.diagnostics = std::move(diags);
  return result;
}

}  // namespace

LoadResult load_string(std::string_view yaml, const std::string& file_name, const std::filesystem::path& base_dir) {
  std::error_code ec;
  std::filesystem::path base = base_dir.empty() ? std::filesystem::current_path(ec) : base_dir;
  base = std::filesystem::absolute(base, ec);
  Loader loader(file_name, base);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    // e.msg is yaml-cpp's text without the position; the mark is 0-based.
    loader.error(loader.pos(e.mark), "YAML syntax error: " + e.msg);
    return finish(loader, std::nullopt);
  }
  // ${ENV} and !file references become values before anything reads them.
  internal::resolve_references(root, file_name, base, loader.diags());
  try {
    Config c = loader.load(root);
    return finish(loader, std::move(c));
  } catch (const YAML::Exception& e) {
    // Not expected: every access above checks the node type first.
    loader.error(loader.pos(e.mark), "internal error reading YAML: " + e.msg);
    return finish(loader, std::nullopt);
  }
}

LoadResult load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult r;
    r.diagnostics.push_back({{path, 0, 0}, "cannot read the config file: " + std::string(std::strerror(errno))});
    return r;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  std::error_code ec;
  const std::filesystem::path dir = std::filesystem::absolute(std::filesystem::path(path), ec).parent_path();
  return load_string(buf.str(), path, dir);
}

}  // namespace gw::config
