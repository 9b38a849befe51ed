// The compiled form of a route table (private to gw_rules). Built once by
// compile.cc, read by evaluate.cc; immutable afterwards.
//
// Worked example: the route
//   match: {topic: ["plant/{site}/+/alarm/#"], properties: {severity: {in: [high, critical]}}}
//   topic: "alarms/{gateway_id}/{site}/{topic[3]}"
// compiles to a Matcher with filters = ["plant/+/+/alarm/#"] (capture "site" =
// level 1 of filter 0), one PropertyTest {key "severity", in {high, critical}},
// and a Template of parts [lit "alarms/gw1/", capture site, lit "/", topic[3]]
// ({gateway_id} and {route} are folded into literals at compile time).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/rules/route_table.h"

namespace gw::rules::internal {

// A compiled ValueCondition: every operator present must hold.
struct ValueTest {
  std::optional<std::string> equals;
  bool has_in = false;
  std::vector<std::string> in;
  std::optional<std::string> glob;
  std::shared_ptr<const std::regex> regex;
  std::optional<double> gt, gte, lt, lte;
  std::optional<bool> exists;
  bool has_value_test = false;

  // True when `value` passes every value operator (equals, in, glob, regex,
  // numeric). Does not look at `exists`.
  bool test(std::string_view value) const;
};

struct PropertyTest {
  std::string key;
  ValueTest test;
};

// "$.a.b[2]" as segments: a key, or an index when is_index.
struct PathSegment {
  std::string key;
  size_t index = 0;
  bool is_index = false;
};
struct PayloadTest {
  std::vector<PathSegment> path;
  ValueTest test;
};

struct Filter {
  std::string filter;  // MQTT filter, captures replaced by '+'
  // The literal text before the first wildcard level, without its trailing
  // '/': every matching topic starts with it, so a memcmp rejects most
  // non-matching routes before the level-by-level match.
  std::string prefix;
  std::vector<std::pair<std::string, int>> captures;  // name -> level index
};

struct Matcher {
  std::vector<Filter> topics;  // ORed
  std::vector<PropertyTest> properties;
  std::optional<ValueTest> client_id, username, cert_cn, qos, retain, content_type, payload_format;
  std::vector<PayloadTest> payload;
  std::vector<Matcher> all, any, none;
  bool needs_payload = false;  // this matcher or a nested one reads the payload
};

struct TemplatePart {
  enum class Kind { kLiteral, kClientId, kUsername, kTopic, kTopicLevel, kCapture, kProperty };
  Kind kind = Kind::kLiteral;
  std::string text;                // literal text, or the property name
  int level = 0;                   // kTopicLevel
  std::vector<int> capture_level;  // kCapture: level index per top-level filter
};
struct Template {
  std::vector<TemplatePart> parts;
  bool needs_topic_filter = false;  // uses a capture
};

struct CompiledRoute {
  std::string name;
  Matcher match;
  std::vector<std::string> to;
  bool drop = false;
  bool continue_matching = false;
  uint8_t priority = config::kDefaultPriority;
  std::chrono::seconds ttl{0};
  std::optional<Template> topic;
  std::optional<Template> republish;
  std::vector<std::pair<std::string, Template>> set_properties;
  std::vector<std::string> remove_properties;
  bool rewrites_properties = false;
};

struct CompiledDefault {
  bool drop = true;
  std::vector<std::string> to;
  uint8_t priority = config::kDefaultPriority;
  std::chrono::seconds ttl{0};
};

bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace gw::rules::internal

namespace gw::rules {
struct RouteTable::Impl {
  std::string gateway_id;
  std::vector<internal::CompiledRoute> routes;
  internal::CompiledDefault default_route;
};
}  // namespace gw::rules
