// Parsing helpers for CloudProfile factories: each plugin reads its flat
// SettingsMap (registry.h) with these, so every profile words its errors the
// same way. Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/core/status.h"

namespace gw::uplink {

// OK when `path` is empty or readable; kInvalidArgument "WHAT 'PATH' cannot be read".
Status check_readable(const std::string& what, const std::string& path);

// A decimal number in 0..max; kInvalidArgument naming `key` otherwise.
Result<uint64_t> parse_uint(const std::string& key, std::string_view value, uint64_t max);

// "true" or "false".
Result<bool> parse_bool(const std::string& key, std::string_view value);

// "90" (seconds), "90s", "1500ms", "2m", "1h".
Result<std::chrono::milliseconds> parse_duration(const std::string& key, std::string_view value);

}  // namespace gw::uplink
