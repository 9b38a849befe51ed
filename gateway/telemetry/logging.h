// Logging set-up: the one place that configures spdlog's sinks (STYLE §3).
// Call once from main before any other thread starts.
#pragma once

#include <string_view>

#include "gateway/core/status.h"

namespace gw::telemetry {

struct LoggingOptions {
  std::string_view level = "info";  // trace | debug | info | warn | error | critical | off
  // Prefix each line with its syslog priority ("<3>") so journald keeps the
  // level. Default: on when stderr is connected to the journal (JOURNAL_STREAM).
  bool syslog_prefix = false;
};

// Detects whether stderr goes to the systemd journal.
bool stderr_is_journal();

// Installs a stderr logger as spdlog's default. Errors: kInvalidArgument for
// an unknown level.
Status setup_logging(const LoggingOptions& options);

}  // namespace gw::telemetry
