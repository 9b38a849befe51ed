#include "gateway/core/cpu_affinity.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cstring>

namespace gw {

std::vector<int> usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> out;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return out;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) out.push_back(cpu);
  }
  return out;
}

Status pin_this_thread(const std::vector<int>& cpus) {
  if (cpus.empty()) return Status::ok();
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int cpu : cpus) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) return invalid_argument("CPU " + std::to_string(cpu) + " is out of range");
    CPU_SET(cpu, &set);
  }
  if (const int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set); rc != 0) {
    return internal_error("cannot pin the thread to CPUs " + cpu_list(cpus) + ": " + std::strerror(rc));
  }
  return Status::ok();
}

void pin_this_thread_logged(const std::vector<int>& cpus, spdlog::logger& log, const std::string& who) {
  if (cpus.empty()) return;
  if (Status st = pin_this_thread(cpus); !st.is_ok()) {
    log.warn("{}: {}; running unpinned", who, st.message());
    return;
  }
  log.info("{}: pinned to CPU {}", who, cpu_list(cpus));
}

std::string cpu_list(const std::vector<int>& cpus) {
  std::vector<int> sorted = cpus;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::string out;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i;
    while (j + 1 < sorted.size() && sorted[j + 1] == sorted[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(sorted[i]);
    if (j > i) {
      out += '-';
      out += std::to_string(sorted[j]);
    }
    i = j + 1;
  }
  return out;
}

}  // namespace gw
