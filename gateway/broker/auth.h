// Authentication for the broker: password hashes, the password file, and the
// decision on each CONNECT (anonymous policy, password, TLS certificate).
//
// Password file: one user per line, `user:$pbkdf2-sha512$ITERATIONS$SALT$HASH`
// with SALT (16 random bytes) and HASH (64 bytes, PBKDF2-HMAC-SHA512 of the
// password) in standard base64. Blank lines and lines starting with '#' are
// ignored. Usernames are non-empty and contain no ':' or line break.
// Written by `edge-gateway passwd FILE USER`; read at Broker::create() and
// again by Broker::reload_password_file() (SIGHUP).
//
// Authenticator is built on the main thread and then used on the broker's io
// thread only (its login cache is not thread-safe). The hash functions are
// pure and thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

#include "gateway/core/status.h"
#include "gateway/mqtt/reason_code.h"

namespace gw::broker {

// Default work factor of `passwd`: about 10-20 ms per check on a desktop
// core, a few times that on a Raspberry Pi (the io thread pays it once per
// user; later logins hit the cache below).
inline constexpr uint32_t kDefaultPbkdf2Iterations = 25000;

// "$pbkdf2-sha512$25000$<salt b64>$<hash b64>" for `password` with a fresh
// random salt. Errors: kInternal when OpenSSL cannot produce random bytes.
Result<std::string> hash_password(std::string_view password, uint32_t iterations = kDefaultPbkdf2Iterations);

// True when `password` matches `encoded` (constant-time compare of the hash).
// False for an encoding this build cannot read.
bool verify_password(std::string_view encoded, std::string_view password);

// True when `encoded` has the form hash_password() writes.
bool is_valid_hash(std::string_view encoded);

// The users of a password file, sorted by name.
class PasswordFile {
 public:
  // Errors: kNotFound (missing file), kInvalidArgument "FILE:LINE: why".
  static Result<PasswordFile> load(const std::string& path);
  // Same from text (for tests and `passwd`); `name` is used in errors.
  static Result<PasswordFile> parse(std::string_view text, const std::string& name);

  // Errors: kInvalidArgument for a username with ':' or a line break, or empty.
  Status set(const std::string& user, const std::string& encoded_hash);
  const std::string* find(std::string_view user) const;
  size_t size() const { return users_.size(); }
  std::string to_text() const;  // one line per user, sorted

 private:
  std::map<std::string, std::string, std::less<>> users_;
};

// Who may connect anonymously (no verified username, no client certificate).
enum class AnonymousPolicy : uint8_t {
  kLoopbackOnly,  // default: only on listeners bound to a loopback address
  kNever,         // `allow_anonymous: false`
  kAlways,        // `allow_anonymous: force` (every listener; logged at start)
};

struct AuthOptions {
  AnonymousPolicy allow_anonymous = AnonymousPolicy::kLoopbackOnly;
  std::string password_file;  // empty: none (usernames are then not verified)
};

// What the broker knows about a connected client, for the ACL.
struct ClientIdentity {
  std::string username;   // verified (password or certificate); empty when anonymous
  std::string client_id;
  std::string cert_cn;    // verified client certificate CN; empty without one
  bool anonymous = true;  // neither a checked password nor a verified certificate
};

struct AuthRequest {
  bool loopback_listener = false;
  bool cert_cn_as_username = false;     // the listener's TLS option
  std::string cert_cn;                  // from the verified certificate
  const std::string* username = nullptr;  // from CONNECT (null: none)
  const std::string* password = nullptr;
  std::string client_id;
};

struct AuthDecision {
  mqtt::ReasonCode reason_code = mqtt::ReasonCode::kSuccess;  // 0x86 bad credentials, 0x87 not authorised
  std::string why;  // for the log; never contains the password
  ClientIdentity identity;
};

class Authenticator {
 public:
  // Loads the password file when one is configured. Errors: those of
  // PasswordFile::load, prefixed "auth: password_file: ".
  static Result<Authenticator> create(const AuthOptions& options);

  // The decision for one CONNECT:
  //  - cert_cn_as_username: the certificate CN is the username (the CONNECT's
  //    username and password are ignored); no certificate → 0x87.
  //  - a username with a password file: the password must match (0x86 if not,
  //    also for an unknown user). Without a password file the username is not
  //    verified and the client counts as anonymous.
  //  - a password without a username → 0x86.
  //  - a verified client certificate authenticates the client by itself.
  //  - otherwise anonymous: allowed per AnonymousPolicy, else 0x87.
  AuthDecision authenticate(const AuthRequest& request);

  // Replaces the users (a reloaded password file) and forgets every cached
  // login, so a changed or removed password is checked against the new file.
  // Connected clients are not affected. Only with a password file configured.
  void replace_passwords(PasswordFile passwords);

 private:
  Authenticator() = default;
  bool check_password(const std::string& user, const std::string& password);

  AuthOptions options_;
  bool has_password_file_ = false;
  PasswordFile passwords_;
  // Logins already verified with PBKDF2: user → HMAC-SHA512(cache_key_, password).
  // Saves the io thread the full PBKDF2 cost on every reconnect.
  std::array<unsigned char, 32> cache_key_{};
  std::unordered_map<std::string, std::array<unsigned char, 64>> verified_;
};

}  // namespace gw::broker
