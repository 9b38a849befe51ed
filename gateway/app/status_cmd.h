// `edge-gateway status [--url URL] [--interval DURATION]`: reads /healthz and
// two /metrics scrapes of a running gateway and prints a short summary for a
// person. Returns 0 when healthy, 1 when unhealthy or unreachable, 2 on bad
// usage.
#pragma once

#include <string>
#include <vector>

namespace gw::app {

int cmd_status(const std::vector<std::string>& args);

}  // namespace gw::app
