// Password hashing, the password file format, and the CONNECT decision.
#include "gateway/broker/auth.h"

#include <gtest/gtest.h>

#include "tests/support/process.h"

namespace gw::broker {
namespace {

using mqtt::ReasonCode;

TEST(Password, HashVerifiesOnlyTheSamePasswordAndIsSalted) {
  auto a = hash_password("s3cret", 1000);
  auto b = hash_password("s3cret", 1000);
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  EXPECT_EQ(a.value().rfind("$pbkdf2-sha512$1000$", 0), 0u) << a.value();
  EXPECT_NE(a.value(), b.value());  // fresh salt each time
  EXPECT_TRUE(verify_password(a.value(), "s3cret"));
  EXPECT_FALSE(verify_password(a.value(), "s3cret "));
  EXPECT_FALSE(verify_password(a.value(), ""));
  EXPECT_FALSE(verify_password("$pbkdf2-sha512$0$AAAA$AAAA", "x"));
}

TEST(Password, KnownVector) {
  // PBKDF2-HMAC-SHA512("password", "salt", 1 iteration), RFC 6070 style vector
  // (first 64 bytes), salt "salt" = c2FsdA==.
  const std::string encoded =
      "$pbkdf2-sha512$1$c2FsdA==$"
      "hn9wzxreAs/zdSWZo6U9xK80x6ZpgVrl1RNVThyM8lLALUcKKFoFAbrZmb/pQ8CPBQI119aLHaVeY/c7YKV/zg==";
  EXPECT_TRUE(verify_password(encoded, "password"));
  EXPECT_FALSE(verify_password(encoded, "Password"));
}

TEST(PasswordFile, ParseErrorsNameTheLine) {
  const std::string good = hash_password("x", 1000).value();
  auto ok = PasswordFile::parse("# users\n\nalice:" + good + "\r\nbob:" + good + "\n", "passwd");
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_EQ(ok.value().size(), 2u);
  EXPECT_NE(ok.value().find("bob"), nullptr);
  auto bad = PasswordFile::parse("alice:" + good + "\nbob:plaintext\n", "passwd");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().message().rfind("passwd:2: user 'bob'", 0), 0u) << bad.status().message();
  EXPECT_FALSE(PasswordFile::parse("alice:" + good + "\nalice:" + good + "\n", "p").is_ok());
  EXPECT_FALSE(PasswordFile::parse("nocolon\n", "p").is_ok());
  PasswordFile f;
  EXPECT_FALSE(f.set("a:b", good).is_ok());
  EXPECT_FALSE(f.set("", good).is_ok());
  EXPECT_TRUE(f.set("carol", good).is_ok());
  EXPECT_EQ(f.to_text(), "carol:" + good + "\n");
}

class AuthenticatorTest : public ::testing::Test {
 protected:
  Authenticator make(AnonymousPolicy policy, bool with_file = true) {
    AuthOptions o;
    o.allow_anonymous = policy;
    if (with_file) {
      o.password_file = (dir_ / "passwd").string();
      gw::testing::write_file(dir_ / "passwd", "alice:" + hash_password("wonder", 1000).value() + "\n");
    }
    auto a = Authenticator::create(o);
    EXPECT_TRUE(a.is_ok()) << a.status().to_string();
    return std::move(a).value();
  }
  AuthDecision login(Authenticator& a, const char* user, const char* password, bool loopback = false) {
    AuthRequest r;
    r.loopback_listener = loopback;
    r.client_id = "c";
    if (user != nullptr) user_ = user;
    if (password != nullptr) password_ = password;
    r.username = user != nullptr ? &user_ : nullptr;
    r.password = password != nullptr ? &password_ : nullptr;
    return a.authenticate(r);
  }
  gw::testing::TempDir dir_;
  std::string user_, password_;
};

TEST_F(AuthenticatorTest, PasswordsAndAnonymousPolicy) {
  Authenticator a = make(AnonymousPolicy::kLoopbackOnly);
  AuthDecision d = login(a, "alice", "wonder");
  EXPECT_EQ(d.reason_code, ReasonCode::kSuccess);
  EXPECT_FALSE(d.identity.anonymous);
  EXPECT_EQ(d.identity.username, "alice");
  EXPECT_EQ(login(a, "alice", "wonder").reason_code, ReasonCode::kSuccess);  // from the cache
  EXPECT_EQ(login(a, "alice", "wrong").reason_code, ReasonCode::kBadUserNameOrPassword);
  EXPECT_EQ(login(a, "mallory", "wonder").reason_code, ReasonCode::kBadUserNameOrPassword);
  EXPECT_EQ(login(a, "alice", nullptr).reason_code, ReasonCode::kBadUserNameOrPassword);
  EXPECT_EQ(login(a, nullptr, "wonder").reason_code, ReasonCode::kBadUserNameOrPassword);
  EXPECT_EQ(login(a, nullptr, nullptr, /*loopback=*/true).reason_code, ReasonCode::kSuccess);
  EXPECT_EQ(login(a, nullptr, nullptr, /*loopback=*/false).reason_code, ReasonCode::kNotAuthorized);
  Authenticator never = make(AnonymousPolicy::kNever);
  EXPECT_EQ(login(never, nullptr, nullptr, true).reason_code, ReasonCode::kNotAuthorized);
  Authenticator always = make(AnonymousPolicy::kAlways);
  EXPECT_EQ(login(always, nullptr, nullptr, false).reason_code, ReasonCode::kSuccess);
  EXPECT_EQ(d.why.find("wonder"), std::string::npos);
}

TEST_F(AuthenticatorTest, Certificates) {
  Authenticator a = make(AnonymousPolicy::kNever, false);
  AuthRequest r;
  r.cert_cn = "plc-7";
  AuthDecision d = a.authenticate(r);  // a verified certificate is a credential
  EXPECT_EQ(d.reason_code, ReasonCode::kSuccess);
  EXPECT_FALSE(d.identity.anonymous);
  EXPECT_EQ(d.identity.cert_cn, "plc-7");
  r.cert_cn_as_username = true;
  EXPECT_EQ(a.authenticate(r).identity.username, "plc-7");
  r.cert_cn.clear();
  EXPECT_EQ(a.authenticate(r).reason_code, ReasonCode::kNotAuthorized);
}

TEST(AuthenticatorCreate, MissingPasswordFileIsAnError) {
  AuthOptions o;
  o.password_file = "/nonexistent/passwd";
  auto a = Authenticator::create(o);
  ASSERT_FALSE(a.is_ok());
  EXPECT_EQ(a.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace gw::broker
