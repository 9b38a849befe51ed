#include "gateway/telemetry/metrics.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <charconv>

namespace gw::telemetry {
namespace {

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// The shortest text that reads back as the same double (std::to_chars);
// integers print without an exponent up to 2^53.
void append_value(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0) {
    out += std::to_string(static_cast<int64_t>(v));
  } else {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
  }
}

// Text format 0.0.4: label values escape backslash, double quote and newline;
// HELP escapes backslash and newline.
void append_escaped(std::string& out, std::string_view s, bool quote) {
  for (const char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

void append_labels(std::string& out, const Labels& labels, const char* extra_name = nullptr,
                   std::string_view extra_value = {}) {
  if (labels.empty() && extra_name == nullptr) return;
  out += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    append_escaped(out, v, true);
    out += '"';
  }
  if (extra_name != nullptr) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

}  // namespace

// ------------------------------------------------------------------ Histogram
Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  assert(std::is_sorted(bounds_.begin(), bounds_.end()));
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double value) {
  const size_t i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

HistogramSnapshot Histogram::snapshot() const {
  HistogramSnapshot s;
  s.bounds = bounds_;
  uint64_t running = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  // Read +Inf as the sum of the buckets so that the snapshot is monotonic
  // even while observe() runs concurrently.
  s.count = running + buckets_[bounds_.size()].load(std::memory_order_relaxed);
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> Histogram::latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

// ------------------------------------------------------------- LabeledCounter
void LabeledCounter::add(std::string_view key, uint64_t n) {
  std::lock_guard lock(mu_);
  auto it = counts_.find(key);
  if (it == counts_.end()) it = counts_.emplace(std::string(key), 0).first;
  it->second += n;
}

std::vector<std::pair<std::string, uint64_t>> LabeledCounter::snapshot() const {
  std::lock_guard lock(mu_);
  return {counts_.begin(), counts_.end()};
}

// ----------------------------------------------------------------- Exposition
Exposition::Family& Exposition::family(std::string_view name, std::string_view help, MetricType type) {
  assert(valid_name(name));
  for (auto& f : families_) {
    if (f.name == name) {
      assert(f.type == type);
      return f;
    }
  }
  families_.push_back(Family{std::string(name), std::string(help), type, {}});
  return families_.back();
}

void Exposition::counter(std::string_view name, std::string_view help, double value, Labels labels) {
  family(name, help, MetricType::kCounter).samples.push_back({std::move(labels), value, {}});
}

void Exposition::gauge(std::string_view name, std::string_view help, double value, Labels labels) {
  family(name, help, MetricType::kGauge).samples.push_back({std::move(labels), value, {}});
}

void Exposition::histogram(std::string_view name, std::string_view help, const HistogramSnapshot& h,
                           Labels labels) {
  family(name, help, MetricType::kHistogram).samples.push_back({std::move(labels), 0, h});
}

std::string Exposition::render() const {
  std::string out;
  out.reserve(families_.size() * 160);
  for (const auto& f : families_) {
    if (!valid_name(f.name)) continue;  // never emit a line a scraper would reject
    out += "# HELP ";
    out += f.name;
    out += ' ';
    append_escaped(out, f.help, false);
    out += "\n# TYPE ";
    out += f.name;
    out += f.type == MetricType::kCounter ? " counter\n" : f.type == MetricType::kGauge ? " gauge\n" : " histogram\n";
    for (const auto& s : f.samples) {
      if (f.type != MetricType::kHistogram) {
        out += f.name;
        append_labels(out, s.labels);
        out += ' ';
        append_value(out, s.value);
        out += '\n';
        continue;
      }
      const auto& h = s.histogram;
      for (size_t i = 0; i < h.bounds.size(); ++i) {
        std::string le;
        append_value(le, h.bounds[i]);
        out += f.name;
        out += "_bucket";
        append_labels(out, s.labels, "le", le);
        out += ' ';
        append_value(out, static_cast<double>(h.cumulative[i]));
        out += '\n';
      }
      out += f.name;
      out += "_bucket";
      append_labels(out, s.labels, "le", "+Inf");
      out += ' ';
      append_value(out, static_cast<double>(h.count));
      out += '\n';
      out += f.name;
      out += "_sum";
      append_labels(out, s.labels);
      out += ' ';
      append_value(out, h.sum);
      out += '\n';
      out += f.name;
      out += "_count";
      append_labels(out, s.labels);
      out += ' ';
      append_value(out, static_cast<double>(h.count));
      out += '\n';
    }
  }
  return out;
}

// ------------------------------------------------------------------- Registry
void Registry::add(Collector collector) { collectors_.push_back(std::move(collector)); }

std::string Registry::scrape() const {
  Exposition out;
  for (const auto& c : collectors_) c(out);
  return out.render();
}

}  // namespace gw::telemetry
