// TopicTrie: see internal/topic_trie.h for the structure and a worked example.
#include "gateway/rules/internal/topic_trie.h"

#include <algorithm>

namespace gw::rules::internal {

void TopicTrie::add(std::string_view filter, uint32_t route, uint32_t filter_index) {
  uint32_t node = 0;
  size_t start = 0;
  while (true) {
    const size_t slash = filter.find('/', start);
    const std::string_view level =
        filter.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (level == "#") {  // always the last level of a valid filter
      nodes_[node].hash.emplace_back(route, filter_index);
      return;
    }
    uint32_t next = kNone;
    if (level == "+") {
      next = nodes_[node].plus;
    } else {
      for (const auto& [text, index] : nodes_[node].children) {
        if (text == level) next = index;
      }
    }
    if (next == kNone) {
      next = static_cast<uint32_t>(nodes_.size());
      nodes_.emplace_back();  // invalidates references into nodes_
      if (level == "+") {
        nodes_[node].plus = next;
      } else {
        nodes_[node].children.emplace_back(std::string(level), next);
      }
    }
    node = next;
    if (slash == std::string_view::npos) {
      nodes_[node].ends.emplace_back(route, filter_index);
      return;
    }
    start = slash + 1;
  }
}

void TopicTrie::finish() {
  for (auto& n : nodes_) std::sort(n.children.begin(), n.children.end());
}

uint32_t TopicTrie::child(uint32_t node, std::string_view level) const {
  const auto& c = nodes_[node].children;
  auto it = std::lower_bound(c.begin(), c.end(), level,
                             [](const std::pair<std::string, uint32_t>& e, std::string_view l) { return e.first < l; });
  return it != c.end() && it->first == level ? it->second : kNone;
}

void TopicTrie::walk(uint32_t node, std::string_view rest, bool at_end, bool dollar,
                     std::vector<Hit>& hits) const {
  const Node& n = nodes_[node];
  // MQTT 5.0 §4.7.2: wildcards at the first level never match a '$' topic.
  const bool wild_ok = !(dollar && node == 0);
  // "x/#" matches x's level and everything below it (§4.7.1.2).
  if (wild_ok) hits.insert(hits.end(), n.hash.begin(), n.hash.end());
  if (at_end) {
    hits.insert(hits.end(), n.ends.begin(), n.ends.end());
    return;
  }
  const size_t slash = rest.find('/');
  const std::string_view level = rest.substr(0, slash);
  const bool last = slash == std::string_view::npos;
  const std::string_view next = last ? std::string_view() : rest.substr(slash + 1);
  if (const uint32_t c = child(node, level); c != kNone) walk(c, next, last, dollar, hits);
  if (wild_ok && n.plus != kNone) walk(n.plus, next, last, dollar, hits);
}

void TopicTrie::match(std::string_view topic, std::vector<Hit>& hits) const {
  walk(0, topic, false, !topic.empty() && topic.front() == '$', hits);
}

}  // namespace gw::rules::internal
