#include "gateway/core/log.h"

#include <spdlog/spdlog.h>

#include <atomic>

namespace gw::log {
namespace {

std::array<std::atomic<spdlog::logger*>, kModuleCount> g_loggers{};

}  // namespace

std::optional<Module> module_from_name(std::string_view name) {
  for (size_t i = 0; i < kModuleNames.size(); ++i) {
    if (kModuleNames[i] == name) return static_cast<Module>(i);
  }
  return std::nullopt;
}

spdlog::logger& get(Module m) {
  spdlog::logger* l = g_loggers[static_cast<size_t>(m)].load(std::memory_order_acquire);
  return l != nullptr ? *l : *spdlog::default_logger_raw();
}

void install(Module m, spdlog::logger* logger) {
  g_loggers[static_cast<size_t>(m)].store(logger, std::memory_order_release);
}

}  // namespace gw::log
