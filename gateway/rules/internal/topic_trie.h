// TopicTrie: every top-level topic filter of a route table in one trie, so a
// message's topic is matched against all routes in one walk of its levels
// instead of one filter at a time. Private to gw_rules; built by compile.cc,
// read by evaluate.cc. Immutable after build; match() is const and
// thread-safe, and allocates nothing once `hits` has grown.
//
// Worked example. The routes
//   0: topic: ["plant/{site}/+/alarm/#", "legacy/alarm"]   ({site} is '+')
//   1: topic: "plant/#"
//   2: topic: "+/status"
// give (filter f of route r is written r.f):
//
//   root ─ "plant" ─ '+' ─ '+' ─ "alarm"  [#: 0.0]
//        │         [#: 1.0]
//        ├ "legacy" ─ "alarm"  [end: 0.1]
//        └ '+' ─ "status"  [end: 2.0]
//
// A node has literal children (sorted, binary-searched), at most one '+'
// child, the filters that end exactly there ("end") and the filters whose
// next and last level is '#' ("#"). Matching "plant/s1/l2/alarm/hot" walks
// level by level, following both the literal child and the '+' child:
//   root      -> "plant" and '+'            ('+' has no "s1"/'+' child below
//                                            that leads anywhere; dies out)
//   "plant"   -> '#' list: 1.0 matches (a '#' matches any rest, even none)
//             -> '+' (s1) -> '+' (l2) -> "alarm" -> '#' list: 0.0 matches
// and yields hits {(0,0), (1,0)}. "plant" alone also yields 1.0, because
// "plant/#" matches its parent level (MQTT 5.0 §4.7.1.2). A topic starting
// with '$' skips the root's '+' child and '#' list (§4.7.2).
//
// Each node is reached by one path only, so a walk visits each node at most
// once, and the recursion is no deeper than the longest filter.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gw::rules::internal {

class TopicTrie {
 public:
  // (route index, filter index within the route's top-level `topic:` list).
  using Hit = std::pair<uint32_t, uint32_t>;

  // Adds a valid MQTT filter (captures already replaced by '+').
  void add(std::string_view filter, uint32_t route, uint32_t filter_index);
  // Sorts the children for binary search; call once after the last add().
  void finish();

  // Appends every (route, filter) whose filter matches `topic` to `hits`, in
  // no particular order. `hits` is not cleared.
  void match(std::string_view topic, std::vector<Hit>& hits) const;

  bool empty() const { return nodes_.size() <= 1 && nodes_[0].ends.empty() && nodes_[0].hash.empty(); }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Node {
    std::vector<std::pair<std::string, uint32_t>> children;  // literal level -> node, sorted
    uint32_t plus = kNone;
    std::vector<Hit> ends;  // filters that end at this node
    std::vector<Hit> hash;  // filters "<this node>/#"
  };
  uint32_t child(uint32_t node, std::string_view level) const;
  void walk(uint32_t node, std::string_view rest, bool at_end, bool dollar, std::vector<Hit>& hits) const;

  std::vector<Node> nodes_ = std::vector<Node>(1);  // nodes_[0] is the root
};

}  // namespace gw::rules::internal
