#include "gateway/telemetry/logging.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "gateway/core/log.h"

namespace gw::telemetry {
namespace {

// A sink that writes "<N>message" lines, N being the syslog priority, which
// journald reads as the line's level (sd-daemon(3)).
class JournalPrefixSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::fprintf(stderr, "<%d>%.*s", priority(msg.level), static_cast<int>(formatted.size()), formatted.data());
  }
  void flush_() override { std::fflush(stderr); }

 private:
  static int priority(spdlog::level::level_enum level) {
    switch (level) {
      case spdlog::level::critical: return 2;
      case spdlog::level::err: return 3;
      case spdlog::level::warn: return 4;
      case spdlog::level::info: return 6;
      default: return 7;
    }
  }
};

Result<spdlog::level::level_enum> parse_level(const std::string& text) {
  static const std::map<std::string, spdlog::level::level_enum, std::less<>> kLevels = {
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug}, {"info", spdlog::level::info},
      {"warn", spdlog::level::warn},   {"error", spdlog::level::err},   {"critical", spdlog::level::critical},
      {"off", spdlog::level::off}};
  auto it = kLevels.find(text);
  if (it == kLevels.end()) {
    return invalid_argument("unknown log level '" + text + "' (trace, debug, info, warn, error, critical, off)");
  }
  return it->second;
}

// Every module's level from `level` and `module_levels`.
Result<std::array<spdlog::level::level_enum, log::kModuleCount>> module_levels(const LoggingOptions& options) {
  auto base = parse_level(options.level);
  if (!base.is_ok()) return base.status();
  std::array<spdlog::level::level_enum, log::kModuleCount> levels;
  levels.fill(*base);
  for (const auto& [module, text] : options.module_levels) {
    const auto m = log::module_from_name(module);
    if (!m) return invalid_argument("unknown log module '" + module + "'");
    auto level = parse_level(text);
    if (!level.is_ok()) return level.status();
    levels[static_cast<size_t>(*m)] = *level;
  }
  return levels;
}

// The loggers installed last; kept alive here as well as in spdlog's registry.
std::array<std::shared_ptr<spdlog::logger>, log::kModuleCount> g_installed;

}  // namespace

bool stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  struct stat st {};
  if (fstat(2, &st) != 0) return false;
  const std::string expected = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  return expected == stream;
}

Status setup_logging(const LoggingOptions& options) {
  // Levels first: nothing changes unless the whole set is valid.
  auto parsed = module_levels(options);
  if (!parsed.is_ok()) return parsed.status();
  const auto& levels = *parsed;

  try {
    std::shared_ptr<spdlog::sinks::sink> sink;
    std::string pattern;
    if (!options.file.empty()) {
      sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
          options.file.string(), static_cast<size_t>(options.max_file_bytes), options.max_files);
      pattern = "%Y-%m-%dT%H:%M:%S.%e %l %v";
    } else if (options.syslog_prefix) {
      sink = std::make_shared<JournalPrefixSink>();
      pattern = "%v";  // journald adds time, level and the unit
    } else {
      sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
      pattern = "%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v";
    }
    if (options.repeats.max_lines != 0) {
      sink = std::make_shared<RepeatFilterSink>(
          std::move(sink), options.repeats, options.clock != nullptr ? *options.clock : SystemClock::instance());
    }
    sink->set_pattern(pattern);

    std::array<std::shared_ptr<spdlog::logger>, log::kModuleCount> loggers;
    for (size_t i = 0; i < log::kModuleCount; ++i) {
      auto l = std::make_shared<spdlog::logger>(std::string(log::kModuleNames[i]), sink);
      l->set_level(levels[i]);
      // stderr is unbuffered; a file is flushed at once for warnings and
      // otherwise by flush_logs() within a second.
      l->flush_on(spdlog::level::warn);
      loggers[i] = std::move(l);
    }
    // Publish the new loggers before the old ones can go away.
    for (size_t i = 0; i < log::kModuleCount; ++i) log::install(static_cast<log::Module>(i), loggers[i].get());
    for (size_t i = 0; i < log::kModuleCount; ++i) {
      if (static_cast<log::Module>(i) == log::Module::kApp) {
        spdlog::set_default_logger(loggers[i]);  // strays (third-party) go to the same place
      } else {
        spdlog::drop(loggers[i]->name());
        spdlog::register_logger(loggers[i]);
      }
    }
    g_installed = loggers;
  } catch (const spdlog::spdlog_ex& e) {
    if (!options.file.empty()) {
      return unavailable("cannot open the log file " + options.file.string() + ": " + e.what());
    }
    return internal_error(std::string("logging set-up failed: ") + e.what());
  }
  return Status::ok();
}

Status set_log_levels(const LoggingOptions& options) {
  auto levels = module_levels(options);
  if (!levels.is_ok()) return levels.status();
  for (size_t i = 0; i < log::kModuleCount; ++i) log::get(static_cast<log::Module>(i)).set_level((*levels)[i]);
  return Status::ok();
}

void flush_logs() {
  // Every module logger writes to the same sink: flushing one flushes it.
  log::get(log::Module::kApp).flush();
}

}  // namespace gw::telemetry
