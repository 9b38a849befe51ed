// Secret and environment references in the YAML tree, resolved in place
// before validation so that every later check sees the real value:
//   password: ${MQTT_PASSWORD}                 environment variable
//   url: "mqtts://${HOST}:8883"               anywhere inside a string value
//   cost: "$${NOT_A_VAR}"                      "$$" is a literal "$"
//   sas_key: !file /etc/edge-gateway/azure.key file contents, one trailing newline removed
// Only values are resolved, never keys. Relative !file paths resolve against
// the config file's folder. Errors (unset variable, unreadable file) and the
// warning for a world-readable secret file carry FILE:LINE:COL and name the
// variable or the path, never the secret.
//
// Private to gw_config. Not thread-safe with respect to the environment
// (getenv), like the rest of start-up.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "gateway/core/diagnostic.h"

namespace YAML {
class Node;
}

namespace gw::config::internal {

void resolve_references(YAML::Node& root, const std::string& file, const std::filesystem::path& base_dir,
                        std::vector<Diagnostic>& diags);

}  // namespace gw::config::internal
