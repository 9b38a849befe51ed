#include "gateway/telemetry/logging.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <string>

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
  const auto level = spdlog::level::from_str(std::string(options.level));
  if (level == spdlog::level::off && options.level != "off") {
    return invalid_argument("unknown log level '" + std::string(options.level) + "'");
  }
  try {
    std::shared_ptr<spdlog::logger> logger;
    if (options.syslog_prefix) {
      logger = std::make_shared<spdlog::logger>("gw", std::make_shared<JournalPrefixSink>());
      logger->set_pattern("%n: %v");  // journald adds time and level
    } else {
      logger = std::make_shared<spdlog::logger>("gw", std::make_shared<spdlog::sinks::stderr_sink_mt>());
      logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    }
    logger->set_level(level);
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(std::move(logger));
  } catch (const spdlog::spdlog_ex& e) {
    return internal_error(std::string("logging set-up failed: ") + e.what());
  }
  return Status::ok();
}

}  // namespace gw::telemetry
