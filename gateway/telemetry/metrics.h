// Metrics in the Prometheus text exposition format 0.0.4, without knowing any
// other module: the app registers collectors (callbacks) that read its
// modules' stats snapshots and write samples into an Exposition; a scrape
// runs every collector and renders the text.
//
//   Registry registry;
//   registry.add([&](Exposition& out) {
//     out.counter("edge_gateway_bytes_in_total", "Bytes received from devices.", stats().bytes_in);
//   });
//   std::string body = registry.scrape();
//
// Histogram and LabeledCounter are the two instruments the app owns itself
// (thread-safe, cheap on the hot path); everything else is a snapshot of
// counters the modules already keep.
//
// Threads: Histogram and LabeledCounter are thread-safe. Registry::add() is
// called before serving starts; scrape() may then be called from any thread
// (the HTTP thread), one at a time or concurrently (collectors must be
// thread-safe, which the modules' stats() are).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gw::telemetry {

using Labels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { kCounter, kGauge, kHistogram };

// A histogram at one instant. `cumulative[i]` counts observations <= bounds[i];
// `count` is the +Inf bucket.
struct HistogramSnapshot {
  std::vector<double> bounds;
  std::vector<uint64_t> cumulative;
  double sum = 0;
  uint64_t count = 0;
};

// Fixed-bucket histogram; observe() is lock-free.
class Histogram {
 public:
  // `bounds`: ascending upper bounds, without +Inf.
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  HistogramSnapshot snapshot() const;

  // 0.5 ms .. 10 s, for commit and publish latencies in seconds.
  static std::vector<double> latency_buckets();

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // per bucket (not cumulative), +Inf last
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Counts per label value (route name, drop reason). add() takes a mutex; the
// set of keys is small and bounded by the configuration.
class LabeledCounter {
 public:
  void add(std::string_view key, uint64_t n = 1);
  std::vector<std::pair<std::string, uint64_t>> snapshot() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, uint64_t, std::less<>> counts_;
};

// The samples of one scrape, grouped into families in first-use order.
class Exposition {
 public:
  // Adds one sample to family `name` (created with `help` and the type on
  // first use; later calls with the same name must use the same type).
  // Names must match [a-zA-Z_:][a-zA-Z0-9_:]*; counters end in _total.
  void counter(std::string_view name, std::string_view help, double value, Labels labels = {});
  void gauge(std::string_view name, std::string_view help, double value, Labels labels = {});
  // `name` is the base name: _bucket, _sum and _count lines are rendered.
  void histogram(std::string_view name, std::string_view help, const HistogramSnapshot& h,
                 Labels labels = {});

  // HELP and TYPE once per family, then its samples; label values and help
  // escaped as the format requires.
  std::string render() const;

 private:
  struct Sample {
    Labels labels;
    double value = 0;
    HistogramSnapshot histogram;
  };
  struct Family {
    std::string name;
    std::string help;
    MetricType type;
    std::vector<Sample> samples;
  };
  Family& family(std::string_view name, std::string_view help, MetricType type);
  std::vector<Family> families_;
};

class Registry {
 public:
  using Collector = std::function<void(Exposition&)>;
  void add(Collector collector);
  // Runs every collector in registration order and renders the result.
  std::string scrape() const;

 private:
  std::vector<Collector> collectors_;
};

// "text/plain; version=0.0.4; charset=utf-8"
inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace gw::telemetry
