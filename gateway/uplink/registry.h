// Registry: CloudProfile factories by the config's `type:` name (STYLE.md §4).
// Each plugin exposes `void register_profile(uplink::Registry&)`; the app
// calls those it was built with (register_builtin_profiles), no static
// self-registration. Each factory declares the settings keys it accepts, so
// an unknown key (a typo) fails at startup with its name.
//
// Filled once at startup on the main thread, then read-only: const methods
// are safe from any thread afterwards.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/core/status.h"
#include "gateway/uplink/profile.h"

namespace gw::uplink {

// Flat settings as text: "host" -> "broker.local", "port" -> "8883",
// nested config keys dotted ("auth.cert"). Each factory parses its values.
using SettingsMap = std::map<std::string, std::string, std::less<>>;

struct SettingSpec {
  std::string key;
  bool required = false;
  std::string help;  // one line, for error messages and docs
};

struct ProfileFactory {
  std::string type;
  int api_version = kCloudProfileApiVersion;
  std::vector<SettingSpec> settings;
  // The cloud's own quota per connection (AWS: 100 publishes/s, 512 KiB/s);
  // 0 = none. The settings max_publishes_per_s / max_bytes_per_s may only go
  // lower; the app checks an uplink's `limits:` against these before building
  // anything, so the error can name the config file position.
  double max_publishes_per_s = 0;
  double max_bytes_per_s = 0;
  std::function<Result<std::unique_ptr<CloudProfile>>(const SettingsMap&)> create;
};

// The `create` every plugin uses: parse the flat settings into the plugin's
// Settings struct, then build the profile from it.
template <typename Settings>
std::function<Result<std::unique_ptr<CloudProfile>>(const SettingsMap&)> parse_then_make(
    Result<Settings> (*parse)(const SettingsMap&),
    Result<std::unique_ptr<CloudProfile>> (*make)(const Settings&)) {
  return [parse, make](const SettingsMap& map) -> Result<std::unique_ptr<CloudProfile>> {
    auto settings = parse(map);
    if (!settings.is_ok()) return settings.status();
    return make(*settings);
  };
}

class Registry {
 public:
  // Adds a factory. Returns false (and keeps the first) if `type` exists.
  bool add(ProfileFactory factory);

  // nullptr when no profile of that type was registered.
  const ProfileFactory* find(std::string_view type) const;
  // Registered type names, sorted.
  std::vector<std::string> types() const;

  // Checks `settings` against the factory's declared keys, then builds.
  // Errors: kNotFound (unknown type, lists the known ones),
  // kInvalidArgument (unknown key, missing required key, factory's own
  // validation, api_version mismatch).
  Result<std::unique_ptr<CloudProfile>> create(std::string_view type, const SettingsMap& settings) const;

 private:
  std::map<std::string, ProfileFactory, std::less<>> factories_;
};

}  // namespace gw::uplink
