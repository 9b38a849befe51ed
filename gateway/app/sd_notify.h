// The systemd notification protocol (sd_notify(3), "Notes"), without
// libsystemd: one datagram with the state text to the AF_UNIX socket that
// $NOTIFY_SOCKET names (a path, or "@name" in the abstract namespace).
// systemd documents the protocol as a stable interface that programs may
// implement themselves. libsystemd would map six more shared libraries
// (libgcrypt, liblzma, libzstd, ...; about 1 MB resident) for two calls.
//
// Threads: both functions are thread-safe (they only read the environment,
// which the gateway never changes after start).
#pragma once

#include <chrono>
#include <string_view>

namespace gw::app::sd {

// Sends `state` ("READY=1", "WATCHDOG=1", "STOPPING=1", ...). Returns false
// when not run by systemd ($NOTIFY_SOCKET unset) or when the send failed;
// never blocks.
bool notify(std::string_view state);

// The watchdog interval (WatchdogSec=) when $WATCHDOG_USEC is set and
// $WATCHDOG_PID is unset or this process, else 0 (as sd_watchdog_enabled).
std::chrono::microseconds watchdog_interval();

}  // namespace gw::app::sd
