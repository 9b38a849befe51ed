// CPU affinity for the gateway's busy threads (`gateway.cpu_affinity`):
// which CPUs the process may use, and pinning the calling thread to some.
#pragma once

#include <spdlog/logger.h>

#include <string>
#include <vector>

#include "gateway/core/status.h"

namespace gw {

// The CPUs this process may run on (its affinity mask), ascending.
std::vector<int> usable_cpus();

// Pins the calling thread to `cpus`. Empty: leaves the thread as it is.
Status pin_this_thread(const std::vector<int>& cpus);

// The same at a thread's start, logged to the module's `log` as `who`
// ("broker", "uplink cloud"): a line when pinned, a warning when the kernel
// refused (the thread runs unpinned).
void pin_this_thread_logged(const std::vector<int>& cpus, spdlog::logger& log, const std::string& who);

// "0-2,5": a list as Linux writes one (taskset, Cpus_allowed_list).
std::string cpu_list(const std::vector<int>& cpus);

}  // namespace gw
