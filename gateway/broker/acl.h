// Acl: who may publish and subscribe where (the YAML `acl:` list).
//
// Rules are tried in order; the first rule whose `who` matches the client,
// that names the action (publish / subscribe) and one of whose topic
// patterns matches decides, allow or deny. No rule decides: deny. With no
// ACL at all (BrokerOptions::acl unset) every authenticated client may do
// everything.
//
// Example (from the issue):
//   - {who: {username: "line-*"}, allow: [publish], topics: ["plant/%u/#"]}
//   - {who: {anonymous: true}, deny: [subscribe], topics: ["test/nosubscribe"]}
//   - {who: any, allow: [publish, subscribe], topics: ["#"]}
// user "line-3" publishing plant/line-3/temp: rule 1 allows. Anonymous
// subscribing "#": rule 2's pattern does not cover "#", rule 3 allows; a
// message on test/nosubscribe is then still not delivered to it, because
// each delivery is checked as a subscribe to the concrete topic (rule 2
// denies).
//
// Patterns are MQTT topic filters; %u is replaced by the verified username
// and %c by the client id. A rule with %u (%c) does not match a client whose
// username (client id) is empty or contains '/', '+' or '#'.
// A subscription filter matches a pattern when every topic the filter can
// match is matched by the pattern ("plant/+/x" is covered by "plant/#").
//
// Immutable after construction; thread-safe to read.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/broker/auth.h"

namespace gw::broker {

struct AclWho {
  bool any = false;                        // `who: any`
  std::optional<bool> anonymous;           // `anonymous: true|false`
  std::optional<std::string> username;     // glob ('*' any run, '?' one character)
  std::optional<std::string> client_id;    // glob
  std::optional<std::string> cert_cn;      // glob
};

struct AclRule {
  AclWho who;  // keys in one who are ANDed
  bool allow = true;
  bool publish = false;
  bool subscribe = false;
  std::vector<std::string> topics;  // patterns (valid filters once substituted)
};

class Acl {
 public:
  explicit Acl(std::vector<AclRule> rules) : rules_(std::move(rules)) {}

  bool may_publish(const ClientIdentity& who, std::string_view topic) const;
  // A SUBSCRIBE for `filter` (without its $share/group/ prefix).
  bool may_subscribe(const ClientIdentity& who, std::string_view filter) const;
  // One delivery of a message on `topic` to a subscriber.
  bool may_receive(const ClientIdentity& who, std::string_view topic) const;

 private:
  enum class Test { kPublish, kSubscribe, kReceive };
  bool decide(const ClientIdentity& who, std::string_view topic, Test test) const;
  std::vector<AclRule> rules_;
};

// '*' matches any run of characters, '?' one character; nothing else is special.
bool glob_match(std::string_view pattern, std::string_view text);
// True when every topic `filter` matches is also matched by `pattern`.
bool filter_covered(std::string_view pattern, std::string_view filter);

}  // namespace gw::broker
