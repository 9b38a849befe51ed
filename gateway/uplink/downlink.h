// Downlink rules (cloud -> device): each uplink maps cloud topic filters to
// local topics, and the app republishes matched messages on the broker.
//
//   downlink:
//     - {from: "cmd/{gateway_id}/#", to: "local/cmd/{topic[2]}"}
//
// `from` is an MQTT topic filter (+ and #) on the cloud topic, after the
// profile normalised it (Azure: devices/<id>/messages/devicebound, property
// bag moved to user properties). `to` is the local topic; placeholders:
// {gateway_id}, {topic} (the whole cloud topic) and {topic[N]} (its level N,
// counting from 0; empty when missing). The first matching rule wins.
//
// Pure functions; thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/core/status.h"
#include "gateway/uplink/profile.h"

namespace gw::uplink {

struct DownlinkRule {
  std::string from;  // cloud topic filter
  std::string to;    // local topic template
};

// Receives a downlink message with its local topic. Called on the engine
// thread; must not block for long (post to the broker).
using DownlinkHandler = std::function<void(Publish)>;

// MQTT 3.1.1 §4.7 matching of a topic name against a filter ('+' one level,
// '#' the rest including the parent; '$' topics match no leading wildcard).
bool topic_matches(std::string_view filter, std::string_view topic);

// Checks a rule after {gateway_id} was substituted: `from` is a valid filter,
// `to` a topic name without wildcards using only known placeholders.
// Errors: kInvalidArgument.
Status validate(const DownlinkRule& rule);

// Replaces {gateway_id} in both fields.
DownlinkRule bind_gateway_id(DownlinkRule rule, std::string_view gateway_id);

// The local topic for `cloud_topic` by the first matching rule, or nullopt.
std::optional<std::string> map_downlink(const std::vector<DownlinkRule>& rules, std::string_view cloud_topic);

}  // namespace gw::uplink
