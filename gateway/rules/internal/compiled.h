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
#include <functional>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/rules/internal/topic_trie.h"
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
  // non-matching filters before the level-by-level match. (Nested filters,
  // in all:/any:/not:, are matched this way; top-level ones by the trie.)
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
  // A precomputed pre-check of `properties` (a 64-bit Bloom filter): the
  // bits of the keys that must be present and of the key=value pairs that
  // `equals` requires; any_of_bits: per `in:` condition, the bits of its
  // key=value pairs, one of which must be present. A message whose
  // property_bits() lacks a required bit cannot match, so the route is
  // skipped without comparing strings; a message that has them all is then
  // checked exactly. Filled for top-level matchers only.
  uint64_t required_bits = 0;
  std::vector<uint64_t> any_of_bits;
};

// Bloom bits of a user property key, and of a key=value pair.
inline uint64_t bloom_bit(size_t hash) { return uint64_t{1} << ((hash * 0x9E3779B97F4A7C15ull) >> 58); }
inline size_t key_hash(std::string_view key) { return std::hash<std::string_view>{}(key); }
inline uint64_t pair_bit(size_t key_hash, std::string_view value) {
  return bloom_bit(key_hash ^ (std::hash<std::string_view>{}(value) * 31 + 0x51ED27ull));
}
// The bits of every key and key=value pair of a message's user properties.
inline uint64_t property_bits(const std::vector<UserProperty>& user) {
  uint64_t bits = 0;
  for (const auto& [k, v] : user) {
    const size_t h = key_hash(k);
    bits |= bloom_bit(h) | pair_bit(h, v);
  }
  return bits;
}

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
  // The top-level `topic:` filters of all routes; a route without one is in
  // `topicless` (ascending), because it is a candidate for every message.
  internal::TopicTrie trie;
  std::vector<uint32_t> topicless;
};
}  // namespace gw::rules
