// A strict parser for the Prometheus text exposition format 0.0.4, written
// for tests (no promtool in Debian's base). It rejects, with the line number:
// bad metric or label names, bad escapes, unparsable values, samples before
// their family's TYPE, a second HELP/TYPE, families split into several
// groups, duplicate series, histogram buckets that are unsorted or not
// cumulative, a missing +Inf bucket or one that differs from _count, negative
// counters, and text that does not end in a newline.
#pragma once

#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace gw::testing::prom {

struct Sample {
  std::string name;  // as written: x, x_bucket, x_sum, x_count
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Family {
  std::string name;
  std::string type;  // counter | gauge | histogram | summary | untyped
  std::string help;
  std::vector<Sample> samples;
};

struct Parsed {
  std::map<std::string, Family> families;
  std::string error;  // empty when the text is valid
  bool ok() const { return error.empty(); }
  // Value of the sample `name` whose labels include all of `labels`; NaN when none.
  double value(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    for (const auto& [_, f] : families) {
      for (const auto& s : f.samples) {
        if (s.name != name) continue;
        bool all = true;
        for (const auto& [k, v] : labels) {
          auto it = s.labels.find(k);
          if (it == s.labels.end() || it->second != v) all = false;
        }
        if (all) return s.value;
      }
    }
    return std::nan("");
  }
};

inline bool valid_metric_name(std::string_view n) {
  if (n.empty()) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

inline bool valid_label_name(std::string_view n) {
  if (n.empty()) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return n.substr(0, 2) != "__";
}

inline bool parse_value(std::string_view t, double& out) {
  if (t == "NaN") return out = std::nan(""), true;
  if (t == "+Inf" || t == "Inf") return out = HUGE_VAL, true;
  if (t == "-Inf") return out = -HUGE_VAL, true;
  if (t.empty()) return false;
  std::string s(t);
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  // strtod accepts "inf"/"nan" spellings the format does not.
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')) return false;
  }
  return end == s.c_str() + s.size();
}

// The family a sample name belongs to, given the declared types.
inline std::string family_of(const std::string& name, const std::map<std::string, Family>& families) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string_view sv(suffix);
    if (name.size() > sv.size() && name.compare(name.size() - sv.size(), sv.size(), sv) == 0) {
      const std::string base = name.substr(0, name.size() - sv.size());
      auto it = families.find(base);
      if (it != families.end() && (it->second.type == "histogram" || it->second.type == "summary")) return base;
    }
  }
  return name;
}

inline Parsed parse(const std::string& text) {
  Parsed p;
  if (!text.empty() && text.back() != '\n') {
    p.error = "text does not end with a newline";
    return p;
  }
  std::set<std::string> series;
  std::set<std::string> closed;  // families whose group has ended
  std::string current;           // family of the previous sample/comment
  size_t pos = 0;
  int line_no = 0;
  auto fail = [&](const std::string& why) {
    p.error = "line " + std::to_string(line_no) + ": " + why;
    return p;
  };
  auto enter = [&](const std::string& fam) -> bool {
    if (fam == current) return true;
    if (closed.count(fam)) return false;
    if (!current.empty()) closed.insert(current);
    current = fam;
    return true;
  };
  while (pos < text.size()) {
    ++line_no;
    const size_t eol = text.find('\n', pos);
    const std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.empty()) continue;
    if (line[0] == '#') {
      // "# HELP name text" / "# TYPE name type"; other comments are allowed.
      if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
        const bool help = line[2] == 'H';
        const std::string rest = line.substr(7);
        const size_t sp = rest.find(' ');
        const std::string name = rest.substr(0, sp);
        const std::string arg = sp == std::string::npos ? "" : rest.substr(sp + 1);
        if (!valid_metric_name(name)) return fail("bad metric name '" + name + "'");
        if (!enter(name)) return fail("family '" + name + "' is split into several groups");
        Family& f = p.families[name];
        f.name = name;
        if (help) {
          if (!f.help.empty()) return fail("second HELP for " + name);
          for (size_t i = 0; i < arg.size(); ++i) {
            if (arg[i] == '\\' && (i + 1 >= arg.size() || (arg[i + 1] != '\\' && arg[i + 1] != 'n'))) {
              return fail("bad escape in HELP of " + name);
            }
            if (arg[i] == '\\') ++i;
          }
          f.help = arg.empty() ? " " : arg;
        } else {
          if (!f.type.empty()) return fail("second TYPE for " + name);
          if (!f.samples.empty()) return fail("TYPE after samples for " + name);
          static const std::set<std::string> kTypes{"counter", "gauge", "histogram", "summary", "untyped"};
          if (!kTypes.count(arg)) return fail("bad type '" + arg + "'");
          f.type = arg;
        }
      }
      continue;
    }
    // name{labels} value [timestamp]
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    Sample s;
    s.name = line.substr(0, i);
    if (!valid_metric_name(s.name)) return fail("bad metric name '" + s.name + "'");
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (true) {
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        size_t eq = line.find('=', i);
        if (eq == std::string::npos) return fail("label without '='");
        const std::string lname = line.substr(i, eq - i);
        if (!valid_label_name(lname)) return fail("bad label name '" + lname + "'");
        i = eq + 1;
        if (i >= line.size() || line[i] != '"') return fail("label value not quoted");
        ++i;
        std::string v;
        while (true) {
          if (i >= line.size()) return fail("unterminated label value");
          const char c = line[i++];
          if (c == '"') break;
          if (c == '\\') {
            if (i >= line.size()) return fail("bad escape");
            const char e = line[i++];
            if (e == 'n') {
              v += '\n';
            } else if (e == '\\' || e == '"') {
              v += e;
            } else {
              return fail("bad escape \\" + std::string(1, e));
            }
          } else {
            v += c;
          }
        }
        if (s.labels.count(lname)) return fail("duplicate label " + lname);
        s.labels[lname] = v;
        if (i < line.size() && line[i] == ',') {
          ++i;
        } else if (i >= line.size() || line[i] != '}') {
          return fail("expected ',' or '}' after a label");
        }
      }
    }
    if (i >= line.size() || line[i] != ' ') return fail("no value");
    const std::string rest = line.substr(i + 1);
    const size_t sp = rest.find(' ');
    if (!parse_value(rest.substr(0, sp), s.value)) return fail("bad value '" + rest + "'");
    if (sp != std::string::npos) {
      const std::string ts = rest.substr(sp + 1);
      if (ts.empty() || ts.find_first_not_of("-0123456789") != std::string::npos) return fail("bad timestamp");
    }
    const std::string fam = family_of(s.name, p.families);
    auto it = p.families.find(fam);
    if (it == p.families.end() || it->second.type.empty()) return fail("sample of '" + fam + "' before its TYPE");
    if (!enter(fam)) return fail("family '" + fam + "' is split into several groups");
    Family& f = it->second;
    if (f.type == "counter" && (std::isnan(s.value) || s.value < 0)) return fail("negative counter " + s.name);
    if (f.type == "histogram" && s.name == fam) return fail("histogram sample without suffix: " + s.name);
    if (f.type == "histogram" && s.name == fam + "_bucket" && !s.labels.count("le")) return fail("bucket without le");
    std::string key = s.name + "{";
    for (const auto& [k, v] : s.labels) key += k + "=" + v + ",";
    if (!series.insert(key).second) return fail("duplicate series " + key);
    f.samples.push_back(std::move(s));
  }
  // Histogram consistency, per label set (without le).
  for (const auto& [name, f] : p.families) {
    if (f.type.empty()) return p.error = "family " + name + " has HELP but no TYPE", p;
    if (f.type != "histogram") continue;
    std::map<std::string, std::vector<std::pair<double, double>>> buckets;
    std::map<std::string, double> counts;
    for (const auto& s : f.samples) {
      std::string key;
      for (const auto& [k, v] : s.labels) {
        if (k != "le") key += k + "=" + v + ",";
      }
      if (s.name == name + "_bucket") {
        double le = 0;
        if (!parse_value(s.labels.at("le"), le)) return p.error = name + ": bad le", p;
        buckets[key].emplace_back(le, s.value);
      } else if (s.name == name + "_count") {
        counts[key] = s.value;
      }
    }
    for (const auto& [key, bs] : buckets) {
      for (size_t k = 1; k < bs.size(); ++k) {
        if (!(bs[k].first > bs[k - 1].first)) return p.error = name + ": buckets not sorted by le", p;
        if (bs[k].second < bs[k - 1].second) return p.error = name + ": buckets not cumulative", p;
      }
      if (bs.empty() || !std::isinf(bs.back().first)) return p.error = name + ": no +Inf bucket", p;
      if (!counts.count(key) || counts[key] != bs.back().second) return p.error = name + ": +Inf bucket != _count", p;
    }
  }
  return p;
}

}  // namespace gw::testing::prom
