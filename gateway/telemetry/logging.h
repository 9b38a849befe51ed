// Logging set-up: the one place that configures spdlog's sinks and levels
// (STYLE §3). Modules log through gw::log::get(Module) (core/log.h); this
// gives every module its logger, all writing to one sink chain:
//
//   module loggers (own level each) -> RepeatFilterSink -> stderr | journal | rotating file
//
// Call setup_logging() from main before any other thread starts (it may be
// called again, e.g. once the config is read, under the same rule).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "gateway/core/clock.h"
#include "gateway/core/status.h"
#include "gateway/telemetry/repeat_filter.h"

namespace gw::telemetry {

struct LoggingOptions {
  // trace | debug | info | warn | error | critical | off: every module's
  // level unless `module_levels` names it.
  std::string level = "info";
  // (module, level), module one of gw::log::kModuleNames.
  std::vector<std::pair<std::string, std::string>> module_levels;
  // Empty: stderr. Otherwise a file rotated at `max_file_bytes`, keeping
  // `max_files` old ones (FILE.1 ... FILE.N).
  std::filesystem::path file;
  uint64_t max_file_bytes = 10ull * 1024 * 1024;
  size_t max_files = 5;
  // Prefix each stderr line with its syslog priority ("<3>") so journald
  // keeps the level (`journalctl -p err`). Default: on when stderr is
  // connected to the journal (stderr_is_journal()). Ignored for a file.
  bool syslog_prefix = false;
  // Similar lines beyond this are suppressed and counted (repeat_filter.h).
  RepeatLimit repeats;
  // Time for the repeat filter; default SystemClock. Borrowed.
  const Clock* clock = nullptr;
};

// Whether stderr goes to the systemd journal: JOURNAL_STREAM names the
// device:inode of stderr (systemd.exec(5)). INVOCATION_ID alone is not enough,
// since a unit may send stderr to a file or a pipe.
bool stderr_is_journal();

// Installs the sinks and one logger per module (the "app" logger is also
// spdlog's default). Errors, with nothing changed: kInvalidArgument for an
// unknown level or module name, kUnavailable when the log file cannot be
// opened.
Status setup_logging(const LoggingOptions& options);

// Sets each module's level from `level` and `module_levels`, nothing else
// (sinks, file and repeat limits stay as set up). Thread-safe: for SIGHUP
// while the gateway runs. Errors as setup_logging()'s, with nothing changed.
Status set_log_levels(const LoggingOptions& options);

// Flushes every module logger; the repeat filter then reports windows that
// ended. Thread-safe; the app calls it about once a second.
void flush_logs();

}  // namespace gw::telemetry
