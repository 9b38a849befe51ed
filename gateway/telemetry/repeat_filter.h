// RepeatFilterSink: an spdlog sink in front of the real one that keeps a
// flapping condition (a cloud that refuses every reconnect, a device that
// retries a bad login) from flooding the journal or the log file.
//
// Only warnings and worse are filtered (`min_level`): repeats are what a
// flapping condition produces, while info lines record things that happened
// (a reload, a connect) and debug output is asked for.
//
// Lines are "similar" when they come from the same logger at the same level
// and their text is equal once every run of digits is treated alike
// ("attempt 7, next in 400 ms" ~ "attempt 8, next in 800 ms"). Of similar
// lines, the first `max_lines` of a window pass; the rest are counted, and
// when the window ends one line follows, at the same level:
//
//   <the last suppressed text> (suppressed K similar lines)
//
// A window starts with the first line of its kind and lasts `window`. Ended
// windows are closed on the next line through the sink or on flush() (the
// app flushes every second), and the destructor reports what is left.
//
// Threads: thread-safe (base_sink's mutex); the inner sink is only called
// with that mutex held. Time comes from the injected Clock, so tests run it
// on fake time.
#pragma once

#include <spdlog/sinks/base_sink.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "gateway/core/clock.h"

namespace gw::telemetry {

struct RepeatLimit {
  size_t max_lines = 10;  // similar lines let through per window; 0 = no limit
  std::chrono::milliseconds window{60'000};
  spdlog::level::level_enum min_level = spdlog::level::warn;  // less severe lines always pass
};

class RepeatFilterSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  // `inner` receives what passes; `clock` is borrowed and must outlive every
  // call but the destructor (which reports what is left without asking it).
  RepeatFilterSink(std::shared_ptr<spdlog::sinks::sink> inner, RepeatLimit limit, const Clock& clock);
  ~RepeatFilterSink() override;

  // Lines suppressed since construction (for tests and metrics).
  size_t suppressed_total();

  // The key similar lines share: `text` with each digit run replaced by '#'.
  static std::string shape_of(std::string_view text);

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override;
  void set_pattern_(const std::string& pattern) override;
  void set_formatter_(std::unique_ptr<spdlog::formatter> formatter) override;

 private:
  struct Entry {
    std::chrono::steady_clock::time_point window_start;
    size_t passed = 0;
    size_t suppressed = 0;
    std::string logger;     // of the last suppressed line
    spdlog::level::level_enum level = spdlog::level::info;
    std::string last_text;  // of the last suppressed line
  };
  // Emits summaries of ended windows and forgets them. Requires: mutex_.
  void close_windows(std::chrono::steady_clock::time_point now, bool all);
  void emit_summary(const Entry& e);

  // Bounds the memory a storm of distinct lines can take: past this many
  // kinds in their window, new kinds pass unfiltered.
  static constexpr size_t kMaxKinds = 1024;

  std::shared_ptr<spdlog::sinks::sink> inner_;
  const RepeatLimit limit_;
  const Clock& clock_;
  std::map<std::string, Entry> entries_;  // by key; mutex_
  std::chrono::steady_clock::time_point next_close_{};
  size_t suppressed_total_ = 0;
};

}  // namespace gw::telemetry
