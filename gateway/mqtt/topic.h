// MQTT topic names and topic filters (MQTT 5.0 §4.7, 3.1.1 §4.7): validation
// and matching. Pure functions, no allocation; thread-safe.
#pragma once

#include <string_view>
#include <vector>

namespace gw::mqtt {

// A topic name a client may PUBLISH to: non-empty, at most 65535 bytes, no
// wildcard characters, no NUL (§4.7.3). Returns an empty string_view when
// valid, otherwise a short reason.
std::string_view check_topic_name(std::string_view topic);

// A topic filter a client may SUBSCRIBE to: '#' only as the whole last level,
// '+' only as a whole level, non-empty, no NUL (§4.7.1). Shared subscriptions
// ($share/group/filter) are not accepted here; strip the prefix first.
// Returns an empty string_view when valid, otherwise a short reason.
std::string_view check_topic_filter(std::string_view filter);

// The levels of a topic name or filter: "a//b/" -> {"a", "", "b", ""}.
std::vector<std::string_view> split_topic_levels(std::string_view topic);

// True when `topic` (a valid name) matches `filter` (a valid filter).
// Wildcards at the first level never match a topic starting with '$' (§4.7.2).
bool topic_matches(std::string_view filter, std::string_view topic);

}  // namespace gw::mqtt
