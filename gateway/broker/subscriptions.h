// SubscriptionStore: every session's topic filters in one trie, so a PUBLISH
// finds its subscribers by walking the topic's levels once instead of testing
// every filter. Owned by the broker; broker io thread only (not thread-safe).
//
// Subscribers are named by client id (the session), not by connection, so a
// persistent session keeps its subscriptions while it is offline (issue 3).
//
// Worked example. Three sessions subscribe:
//   c1: "plant/+/temp"  (QoS 1)
//   c2: "plant/#"       (QoS 0)
//   c3: "plant/a/temp"  (QoS 2)
//   c4: "$share/g/plant/+/temp"  (QoS 1, shared group "g")
//   c5: "$share/g/plant/+/temp"  (QoS 0, shared group "g")
// The trie has one node per filter level; a node keeps the sessions whose
// filter ends there (plain) and the shared groups whose filter ends there:
//
//   root
//    └─ "plant"
//        ├─ "#"                 {c2}
//        ├─ "+" ─── "temp"      {c1}, shared {g: [c4, c5]}
//        └─ "a" ─── "temp"      {c3}
//
// match("plant/a/temp") walks level by level, following at each node the
// exact child ("a"), the '+' child and the '#' child ('#' matches the rest,
// including nothing: "plant/#" also matches "plant"). It yields c2 (via "#"),
// c1 and one of c4/c5 (via "+/temp", shared groups pick one member in turn),
// and c3 (via "a/temp"). A session reached by several filters appears once per
// filter; the caller merges them (MQTT 5.0 §3.3.4: one delivery, max QoS, all
// subscription identifiers). Filters starting with a wildcard never match a
// topic starting with '$' (§4.7.2).
//
// unsubscribe() removes the entry and prunes nodes left empty, so memory
// follows the live filters. Cost: match is O(levels × branching on + and #),
// subscribe/unsubscribe O(levels).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace gw::broker {

// MQTT 5.0 §3.8.3.1 subscription options, plus the subscription identifier
// (§3.8.2.1.2). For MQTT 3.1.1 only `qos` is used.
struct SubscriptionOptions {
  uint8_t qos = 0;
  bool no_local = false;
  bool retain_as_published = false;
  uint8_t retain_handling = 0;  // 0 send retained, 1 only if new, 2 never
  std::optional<uint32_t> subscription_id;

  bool operator==(const SubscriptionOptions&) const = default;
};

// One matching (session, filter) pair.
struct SubscriptionMatch {
  std::string_view client_id;  // valid until the store is next modified
  const SubscriptionOptions* options;
};

// "$share/group/filter" split into its parts (MQTT 5.0 §4.8.2). `group` is
// empty for a plain filter.
struct ParsedFilter {
  std::string_view group;
  std::string_view filter;
};
// Returns nullopt when a "$share/" filter is malformed (no group, group with
// wildcards, or no filter after the group).
std::optional<ParsedFilter> parse_shared_filter(std::string_view full_filter);

class SubscriptionStore {
 public:
  SubscriptionStore();
  ~SubscriptionStore();
  SubscriptionStore(const SubscriptionStore&) = delete;
  SubscriptionStore& operator=(const SubscriptionStore&) = delete;

  // Adds or replaces `client_id`'s subscription to `full_filter` (validated by
  // the caller, may be "$share/group/filter"). Returns true when it is new,
  // false when it replaced an existing one (MQTT 5.0 §3.8.4).
  bool subscribe(std::string_view client_id, std::string_view full_filter, const SubscriptionOptions& options);

  // Removes one subscription. Returns false when there was none.
  bool unsubscribe(std::string_view client_id, std::string_view full_filter);

  // Removes every subscription of `client_id` (clean start, session expiry).
  void remove_client(std::string_view client_id);

  // Appends to `out` every subscription whose filter matches `topic` (a valid
  // topic name). Shared groups contribute one member each, chosen in turn.
  // Not const: the round-robin position of shared groups advances.
  void match(std::string_view topic, std::vector<SubscriptionMatch>& out);

  // The filters (as subscribed, "$share/..." included) of one session.
  std::vector<std::string> filters_of(std::string_view client_id) const;

  size_t size() const { return count_; }

 private:
  struct Node;
  struct SharedGroup;
  Node* find_node(std::string_view filter) const;
  void collect(Node& node, std::string_view topic, size_t pos, bool first_level,
               std::vector<SubscriptionMatch>& out);
  static void collect_node(Node& node, std::vector<SubscriptionMatch>& out);
  void prune(std::string_view filter);

  std::unique_ptr<Node> root_;
  // client id -> the full filters it holds, for remove_client().
  std::unordered_map<std::string, std::vector<std::string>> by_client_;
  size_t count_ = 0;
};

}  // namespace gw::broker
