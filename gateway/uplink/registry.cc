#include "gateway/uplink/registry.h"

namespace gw::uplink {

std::string_view to_string(Outcome o) {
  switch (o) {
    case Outcome::kDelivered: return "delivered";
    case Outcome::kRetry: return "retry";
    case Outcome::kReject: return "reject";
  }
  return "?";
}

bool Registry::add(ProfileFactory factory) {
  std::string type = factory.type;
  return factories_.emplace(std::move(type), std::move(factory)).second;
}

const ProfileFactory* Registry::find(std::string_view type) const {
  auto it = factories_.find(type);
  return it == factories_.end() ? nullptr : &it->second;
}

std::vector<std::string> Registry::types() const {
  std::vector<std::string> out;
  for (const auto& [name, f] : factories_) out.push_back(name);
  return out;
}

Result<std::unique_ptr<CloudProfile>> Registry::create(std::string_view type, const SettingsMap& settings) const {
  const ProfileFactory* f = find(type);
  if (f == nullptr) {
    std::string known;
    for (const auto& t : types()) known += (known.empty() ? "" : ", ") + t;
    return not_found("unknown uplink type '" + std::string(type) + "' (known: " + known + ")");
  }
  if (f->api_version != kCloudProfileApiVersion) {
    return invalid_argument("uplink type '" + std::string(type) + "' was built for profile API " +
                            std::to_string(f->api_version) + ", this gateway has " +
                            std::to_string(kCloudProfileApiVersion));
  }
  for (const auto& [key, value] : settings) {
    bool known = false;
    for (const auto& s : f->settings) known = known || s.key == key;
    if (!known) {
      std::string keys;
      for (const auto& s : f->settings) keys += (keys.empty() ? "" : ", ") + s.key;
      return invalid_argument("unknown key '" + key + "' for uplink type '" + std::string(type) +
                              "' (accepted: " + keys + ")");
    }
  }
  for (const auto& s : f->settings) {
    if (s.required && settings.find(s.key) == settings.end()) {
      return invalid_argument("uplink type '" + std::string(type) + "' needs '" + s.key + "' (" + s.help + ")");
    }
  }
  auto profile = f->create(settings);
  if (profile.is_ok() && (*profile)->api_version() != kCloudProfileApiVersion) {
    return invalid_argument("profile '" + std::string(type) + "' reports API version " +
                            std::to_string((*profile)->api_version()));
  }
  return profile;
}

}  // namespace gw::uplink
