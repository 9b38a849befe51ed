#include "gateway/telemetry/repeat_filter.h"

#include <spdlog/details/log_msg.h>
#include <spdlog/pattern_formatter.h>

#include <algorithm>

namespace gw::telemetry {

RepeatFilterSink::RepeatFilterSink(std::shared_ptr<spdlog::sinks::sink> inner, RepeatLimit limit,
                                   const Clock& clock)
    : inner_(std::move(inner)), limit_(limit), clock_(clock) {}

RepeatFilterSink::~RepeatFilterSink() {
  try {
    std::lock_guard lock(mutex_);
    // Not clock_.now(): at exit the sink may outlive a static clock.
    close_windows(std::chrono::steady_clock::time_point{}, true);
    inner_->flush();
  } catch (...) {
    // A destructor must not throw; a lost summary line is the least harm.
  }
}

size_t RepeatFilterSink::suppressed_total() {
  std::lock_guard lock(mutex_);
  return suppressed_total_;
}

std::string RepeatFilterSink::shape_of(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool in_digits = false;
  for (char c : text) {
    const bool digit = c >= '0' && c <= '9';
    if (digit && !in_digits) out += '#';
    if (!digit) out += c;
    in_digits = digit;
  }
  return out;
}

void RepeatFilterSink::sink_it_(const spdlog::details::log_msg& msg) {
  if (limit_.max_lines == 0) {
    inner_->log(msg);
    return;
  }
  // Any line, filtered or not, first closes the windows that ended.
  const auto now = clock_.now();
  if (now >= next_close_) close_windows(now, false);
  if (msg.level < limit_.min_level) {
    inner_->log(msg);
    return;
  }

  const std::string_view text(msg.payload.data(), msg.payload.size());
  std::string key(msg.logger_name.data(), msg.logger_name.size());
  key += '\x1f';
  key += static_cast<char>('0' + static_cast<int>(msg.level));
  key += '\x1f';
  key += shape_of(text);

  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= kMaxKinds) {
      inner_->log(msg);
      return;
    }
    it = entries_.emplace(std::move(key), Entry{}).first;
    it->second.window_start = now;
  }
  Entry& e = it->second;
  if (e.passed < limit_.max_lines) {
    ++e.passed;
    inner_->log(msg);
    return;
  }
  ++e.suppressed;
  ++suppressed_total_;
  e.level = msg.level;
  e.logger.assign(msg.logger_name.data(), msg.logger_name.size());
  e.last_text.assign(text);
}

void RepeatFilterSink::close_windows(std::chrono::steady_clock::time_point now, bool all) {
  auto next = now + limit_.window;
  for (auto it = entries_.begin(); it != entries_.end();) {
    const auto ends = it->second.window_start + limit_.window;
    if (all || now >= ends) {
      if (it->second.suppressed > 0) emit_summary(it->second);
      it = entries_.erase(it);
    } else {
      next = std::min(next, ends);
      ++it;
    }
  }
  next_close_ = next;
}

void RepeatFilterSink::emit_summary(const Entry& e) {
  const std::string text = e.last_text + " (suppressed " + std::to_string(e.suppressed) + " similar line" +
                           (e.suppressed == 1 ? "" : "s") + ")";
  spdlog::details::log_msg summary(spdlog::source_loc{}, e.logger, e.level, text);
  inner_->log(summary);
}

void RepeatFilterSink::flush_() {
  if (limit_.max_lines != 0) {
    const auto now = clock_.now();
    if (now >= next_close_) close_windows(now, false);
  }
  inner_->flush();
}

void RepeatFilterSink::set_pattern_(const std::string& pattern) { inner_->set_pattern(pattern); }

void RepeatFilterSink::set_formatter_(std::unique_ptr<spdlog::formatter> formatter) {
  inner_->set_formatter(std::move(formatter));
}

}  // namespace gw::telemetry
