#include "gateway/broker/subscriptions.h"

#include <algorithm>
#include <iterator>

namespace gw::broker {

struct SubscriptionStore::SharedGroup {
  std::map<std::string, SubscriptionOptions, std::less<>> members;
  size_t next = 0;  // round-robin position
};

struct SubscriptionStore::Node {
  std::map<std::string, std::unique_ptr<Node>, std::less<>> children;
  std::map<std::string, SubscriptionOptions, std::less<>> subscribers;
  std::map<std::string, SharedGroup, std::less<>> shared;

  bool empty() const { return children.empty() && subscribers.empty() && shared.empty(); }
};

namespace {

// std::map::erase by a heterogeneous key is C++23.
template <typename Map>
bool erase_key(Map& m, std::string_view key) {
  auto it = m.find(key);
  if (it == m.end()) return false;
  m.erase(it);
  return true;
}

// Splits "a/b/c" level by level. `pos` == npos means no level is left.
std::string_view next_level(std::string_view s, size_t& pos) {
  const size_t slash = s.find('/', pos);
  std::string_view level = s.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
  pos = slash == std::string_view::npos ? std::string_view::npos : slash + 1;
  return level;
}

}  // namespace

std::optional<ParsedFilter> parse_shared_filter(std::string_view full_filter) {
  constexpr std::string_view kPrefix = "$share/";
  if (full_filter.substr(0, kPrefix.size()) != kPrefix) return ParsedFilter{{}, full_filter};
  const std::string_view rest = full_filter.substr(kPrefix.size());
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= rest.size()) return std::nullopt;
  const std::string_view group = rest.substr(0, slash);
  if (group.find_first_of("+#") != std::string_view::npos) return std::nullopt;
  return ParsedFilter{group, rest.substr(slash + 1)};
}

SubscriptionStore::SubscriptionStore() : root_(std::make_unique<Node>()) {}
SubscriptionStore::~SubscriptionStore() = default;

bool SubscriptionStore::subscribe(std::string_view client_id, std::string_view full_filter,
                                  const SubscriptionOptions& options) {
  const std::optional<ParsedFilter> parsed = parse_shared_filter(full_filter);
  if (!parsed) return false;
  Node* node = root_.get();
  size_t pos = 0;
  while (pos != std::string_view::npos) {
    const std::string_view level = next_level(parsed->filter, pos);
    auto it = node->children.find(level);
    if (it == node->children.end()) {
      it = node->children.emplace(std::string(level), std::make_unique<Node>()).first;
    }
    node = it->second.get();
  }
  auto& subs = parsed->group.empty() ? node->subscribers
                                     : [&]() -> auto& {
                                         auto g = node->shared.find(parsed->group);
                                         if (g == node->shared.end()) {
                                           g = node->shared.emplace(std::string(parsed->group), SharedGroup{}).first;
                                         }
                                         return g->second.members;
                                       }();
  auto it = subs.find(client_id);
  if (it != subs.end()) {
    it->second = options;
    return false;
  }
  subs.emplace(std::string(client_id), options);
  by_client_[std::string(client_id)].emplace_back(full_filter);
  ++count_;
  return true;
}

bool SubscriptionStore::unsubscribe(std::string_view client_id, std::string_view full_filter) {
  const std::optional<ParsedFilter> parsed = parse_shared_filter(full_filter);
  if (!parsed) return false;
  Node* node = find_node(parsed->filter);
  if (node == nullptr) return false;
  bool removed = false;
  if (parsed->group.empty()) {
    removed = erase_key(node->subscribers, client_id);
  } else if (auto g = node->shared.find(parsed->group); g != node->shared.end()) {
    removed = erase_key(g->second.members, client_id);
    if (g->second.members.empty()) node->shared.erase(g);
  }
  if (!removed) return false;
  --count_;
  auto c = by_client_.find(std::string(client_id));
  if (c != by_client_.end()) {
    auto& filters = c->second;
    filters.erase(std::remove(filters.begin(), filters.end(), full_filter), filters.end());
    if (filters.empty()) by_client_.erase(c);
  }
  prune(parsed->filter);
  return true;
}

void SubscriptionStore::remove_client(std::string_view client_id) {
  auto c = by_client_.find(std::string(client_id));
  if (c == by_client_.end()) return;
  const std::vector<std::string> filters = std::move(c->second);
  by_client_.erase(c);
  for (const std::string& f : filters) {
    // by_client_ is already gone, so unsubscribe only touches the trie.
    const std::optional<ParsedFilter> parsed = parse_shared_filter(f);
    Node* node = find_node(parsed->filter);
    if (node == nullptr) continue;
    bool removed = false;
    if (parsed->group.empty()) {
      removed = erase_key(node->subscribers, client_id);
    } else if (auto g = node->shared.find(parsed->group); g != node->shared.end()) {
      removed = erase_key(g->second.members, client_id);
      if (g->second.members.empty()) node->shared.erase(g);
    }
    if (removed) --count_;
    prune(parsed->filter);
  }
}

void SubscriptionStore::match(std::string_view topic, std::vector<SubscriptionMatch>& out) {
  collect(*root_, topic, 0, true, out);
}

std::vector<std::string> SubscriptionStore::filters_of(std::string_view client_id) const {
  auto c = by_client_.find(std::string(client_id));
  return c == by_client_.end() ? std::vector<std::string>{} : c->second;
}

SubscriptionStore::Node* SubscriptionStore::find_node(std::string_view filter) const {
  Node* node = root_.get();
  size_t pos = 0;
  while (pos != std::string_view::npos) {
    auto it = node->children.find(next_level(filter, pos));
    if (it == node->children.end()) return nullptr;
    node = it->second.get();
  }
  return node;
}

void SubscriptionStore::collect_node(Node& node, std::vector<SubscriptionMatch>& out) {
  for (const auto& [client, options] : node.subscribers) out.push_back({client, &options});
  for (auto& [name, group] : node.shared) {
    if (group.members.empty()) continue;
    group.next %= group.members.size();
    auto it = std::next(group.members.begin(), static_cast<std::ptrdiff_t>(group.next));
    ++group.next;
    out.push_back({it->first, &it->second});
  }
}

void SubscriptionStore::collect(Node& node, std::string_view topic, size_t pos, bool first_level,
                                std::vector<SubscriptionMatch>& out) {
  // §4.7.2: a wildcard in the first level does not match a '$' topic.
  const bool wildcards_ok = !(first_level && !topic.empty() && topic.front() == '$');
  if (wildcards_ok) {
    // '#' matches this level and everything below, and also the parent alone.
    if (auto hash = node.children.find(std::string_view("#")); hash != node.children.end()) {
      collect_node(*hash->second, out);
    }
  }
  if (pos == std::string_view::npos) {
    collect_node(node, out);
    return;
  }
  size_t next = pos;
  const std::string_view level = next_level(topic, next);
  if (auto exact = node.children.find(level); exact != node.children.end()) {
    collect(*exact->second, topic, next, false, out);
  }
  if (wildcards_ok && level != "+") {
    if (auto plus = node.children.find(std::string_view("+")); plus != node.children.end()) {
      collect(*plus->second, topic, next, false, out);
    }
  }
}

void SubscriptionStore::prune(std::string_view filter) {
  std::vector<std::pair<Node*, std::string_view>> path;  // (parent, level of child)
  Node* node = root_.get();
  size_t pos = 0;
  while (pos != std::string_view::npos) {
    const std::string_view level = next_level(filter, pos);
    auto it = node->children.find(level);
    if (it == node->children.end()) return;
    path.emplace_back(node, level);
    node = it->second.get();
  }
  for (auto it = path.rbegin(); it != path.rend(); ++it) {
    auto child = it->first->children.find(it->second);
    if (!child->second->empty()) break;
    it->first->children.erase(child);
  }
}

}  // namespace gw::broker
