// `edge-gateway queue ...`: inspect and repair the queue database, also while
// a gateway runs on it. Read-only unless the command modifies (purge, replay).
#pragma once

#include <string>
#include <vector>

namespace gw::app {

// args: everything after `queue`. Returns the exit code (0 ok, 1 failure,
// 2 bad usage).
int cmd_queue(const std::vector<std::string>& args);

// Usage lines for the top-level help.
extern const char* const kQueueUsage;

}  // namespace gw::app
