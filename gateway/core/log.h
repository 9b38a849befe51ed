// Per-module loggers. Every module logs through its own named spdlog logger,
// obtained one way only:
//
//   gw::log::get(gw::log::Module::kStore).warn("store: {} bytes free", n);
//
// so that the `log.modules` section of the YAML can give each module its own
// level. Which sinks the loggers write to (stderr, the journal, a rotating
// file) and the levels are telemetry's business (telemetry/logging.h); until
// telemetry installs them, get() returns spdlog's default logger, so tests
// and tools that never set logging up still log to stderr.
//
// Messages keep their own prefix ("store: ...", "uplink cloud: ...") so a
// line reads the same in the journal, a file and a test log.
//
// Threads: get() is thread-safe and lock-free (one atomic load). install()
// is called by telemetry before other threads start (STYLE §4: the logger
// registry is the one accepted global; this table only caches it).
#pragma once

#include <spdlog/logger.h>

#include <array>
#include <optional>
#include <string_view>

namespace gw::log {

enum class Module : int { kApp, kBroker, kRules, kStore, kUplink, kTelemetry };

inline constexpr size_t kModuleCount = 6;

// The names used in the YAML (`log.modules`) and as spdlog logger names, in
// Module order: app, broker, rules, store, uplink, telemetry.
inline constexpr std::array<std::string_view, kModuleCount> kModuleNames = {
    "app", "broker", "rules", "store", "uplink", "telemetry"};

// The level names `log.level` and `log.modules` accept, most verbose first.
inline constexpr std::array<std::string_view, 7> kLevelNames = {"trace", "debug", "info", "warn",
                                                                "error", "critical", "off"};

constexpr std::string_view name(Module m) { return kModuleNames[static_cast<size_t>(m)]; }
std::optional<Module> module_from_name(std::string_view name);

// The module's logger, or spdlog's default logger when none is installed.
spdlog::logger& get(Module m);

// Makes `logger` the one get(m) returns; nullptr goes back to the default.
// The caller keeps it alive (telemetry registers it with spdlog's registry).
// Requires: no other thread logs through get(m) meanwhile.
void install(Module m, spdlog::logger* logger);

}  // namespace gw::log
