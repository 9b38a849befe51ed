// Acl rule semantics (first matching rule decides, default deny, %u/%c,
// subscription coverage) and the glob / coverage helpers. Table-driven.
#include "gateway/broker/acl.h"

#include <gtest/gtest.h>

namespace gw::broker {
namespace {

ClientIdentity user(std::string name, std::string cid = "c1", std::string cn = "") {
  return ClientIdentity{std::move(name), std::move(cid), std::move(cn), false};
}
ClientIdentity anon(std::string cid = "c1") { return ClientIdentity{"", std::move(cid), "", true}; }

// The issue's example.
Acl issue_acl() {
  AclRule r1;
  r1.who.username = "line-*";
  r1.publish = true;
  r1.topics = {"plant/%u/#"};
  AclRule r2;
  r2.who.anonymous = true;
  r2.allow = false;
  r2.subscribe = true;
  r2.topics = {"test/nosubscribe"};
  AclRule r3;
  r3.who.any = true;
  r3.publish = r3.subscribe = true;
  r3.topics = {"#"};
  return Acl({r1, r2, r3});
}

TEST(Acl, IssueExample) {
  const Acl acl = issue_acl();
  EXPECT_TRUE(acl.may_publish(user("line-3"), "plant/line-3/temp"));
  EXPECT_TRUE(acl.may_publish(user("line-3"), "plant/line-4/temp"));  // rule 3 ("#") still allows
  EXPECT_FALSE(acl.may_subscribe(anon(), "test/nosubscribe"));
  EXPECT_TRUE(acl.may_subscribe(anon(), "#"));         // rule 2 does not cover "#"
  EXPECT_FALSE(acl.may_receive(anon(), "test/nosubscribe"));  // ...but each delivery is checked
  EXPECT_TRUE(acl.may_receive(anon(), "test/other"));
  EXPECT_TRUE(acl.may_subscribe(user("bob"), "test/nosubscribe"));
}

TEST(Acl, FirstMatchDecidesAndNoMatchDenies) {
  AclRule deny;
  deny.who.client_id = "sensor-*";
  deny.allow = false;
  deny.publish = true;
  deny.topics = {"cmd/#"};
  AclRule own;
  own.who.any = true;
  own.publish = own.subscribe = true;
  own.topics = {"dev/%c/#", "cmd/%c"};
  const Acl acl({deny, own});
  EXPECT_FALSE(acl.may_publish(user("u", "sensor-1"), "cmd/sensor-1"));  // deny comes first
  EXPECT_TRUE(acl.may_publish(user("u", "pump-1"), "cmd/pump-1"));
  EXPECT_TRUE(acl.may_publish(anon("pump-1"), "dev/pump-1/x"));
  EXPECT_FALSE(acl.may_publish(anon("pump-1"), "dev/pump-2/x"));  // no rule: deny
  EXPECT_FALSE(acl.may_subscribe(anon("a/b"), "dev/a/b/x"));      // %c with '/' never matches
  EXPECT_FALSE(Acl({}).may_publish(user("u"), "t"));              // empty ACL denies all
}

TEST(Acl, WhoKinds) {
  AclRule cn;
  cn.who.cert_cn = "plc-??";
  cn.subscribe = true;
  cn.topics = {"plc/#"};
  AclRule u;
  u.who.username = "alice";
  u.who.client_id = "alice-*";  // both must match
  u.subscribe = true;
  u.topics = {"alice/#"};
  const Acl acl({cn, u});
  EXPECT_TRUE(acl.may_subscribe(user("", "x", "plc-07"), "plc/+/state"));
  EXPECT_FALSE(acl.may_subscribe(user("", "x", "plc-007"), "plc/+/state"));
  EXPECT_FALSE(acl.may_subscribe(user("", "x"), "plc/#"));
  EXPECT_TRUE(acl.may_subscribe(user("alice", "alice-phone"), "alice/#"));
  EXPECT_FALSE(acl.may_subscribe(user("alice", "bob-phone"), "alice/#"));
  // An unverified (anonymous) client never matches a username rule.
  ClientIdentity claimed = anon("alice-phone");
  claimed.username = "alice";
  EXPECT_FALSE(acl.may_subscribe(claimed, "alice/#"));
}

TEST(Acl, Glob) {
  struct Case {
    const char* pattern;
    const char* text;
    bool match;
  } cases[] = {
      {"line-*", "line-1", true}, {"line-*", "line-", true},  {"line-*", "lin", false},
      {"*-gw", "a-b-gw", true},   {"a?c", "abc", true},       {"a?c", "ac", false},
      {"*", "", true},            {"a*b*c", "axxbyyc", true}, {"a*b*c", "axxbyy", false},
      {"exact", "exact", true},   {"exact", "exactly", false},
  };
  for (const Case& c : cases) EXPECT_EQ(glob_match(c.pattern, c.text), c.match) << c.pattern << " " << c.text;
}

TEST(Acl, FilterCoverage) {
  struct Case {
    const char* pattern;
    const char* filter;
    bool covered;
  } cases[] = {
      {"#", "a/b", true},         {"#", "#", true},           {"a/#", "a", true},
      {"a/#", "a/+/c", true},     {"a/+", "a/b", true},       {"a/+", "a/+", true},
      {"a/+", "a/#", false},      {"a/+", "a/b/c", false},    {"a/b", "a/+", false},
      {"a/b", "a/b", true},       {"+/b", "x/b", true},       {"#", "$SYS/x", false},
      {"$SYS/#", "$SYS/x", true}, {"a/b/#", "a/#", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(filter_covered(c.pattern, c.filter), c.covered) << c.pattern << " covers " << c.filter;
  }
}

}  // namespace
}  // namespace gw::broker
