#include "gateway/broker/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

namespace gw::broker {

namespace {

constexpr std::string_view kScheme = "$pbkdf2-sha512$";
constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 64;
constexpr uint32_t kMaxIterations = 10'000'000;

std::string base64(const unsigned char* data, size_t n) {
  std::string out(4 * ((n + 2) / 3), '\0');
  const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

// Standard base64 with padding; nullopt for anything else.
std::optional<std::vector<unsigned char>> unbase64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  std::vector<unsigned char> out(text.size() / 4 * 3);
  const int len = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
  if (len < 0) return std::nullopt;
  // EVP_DecodeBlock counts padding as zero bytes.
  size_t pad = 0;
  if (text.back() == '=') ++pad;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(len) - pad);
  return out;
}

struct Parsed {
  uint32_t iterations = 0;
  std::vector<unsigned char> salt;
  std::vector<unsigned char> hash;
};

std::optional<Parsed> parse_hash(std::string_view encoded) {
  if (encoded.substr(0, kScheme.size()) != kScheme) return std::nullopt;
  std::string_view rest = encoded.substr(kScheme.size());
  const size_t a = rest.find('$');
  if (a == std::string_view::npos) return std::nullopt;
  const size_t b = rest.find('$', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  Parsed p;
  const std::string_view it = rest.substr(0, a);
  const auto [end, ec] = std::from_chars(it.data(), it.data() + it.size(), p.iterations);
  if (ec != std::errc() || end != it.data() + it.size() || p.iterations == 0 || p.iterations > kMaxIterations) {
    return std::nullopt;
  }
  auto salt = unbase64(rest.substr(a + 1, b - a - 1));
  auto hash = unbase64(rest.substr(b + 1));
  if (!salt || salt->empty() || !hash || hash->size() != kHashBytes) return std::nullopt;
  p.salt = std::move(*salt);
  p.hash = std::move(*hash);
  return p;
}

bool pbkdf2(std::string_view password, const std::vector<unsigned char>& salt, uint32_t iterations,
            unsigned char* out) {
  return PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                           static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha512(),
                           static_cast<int>(kHashBytes), out) == 1;
}

bool valid_user(std::string_view user) {
  return !user.empty() && user.find_first_of(":\r\n") == std::string_view::npos;
}

}  // namespace

Result<std::string> hash_password(std::string_view password, uint32_t iterations) {
  if (iterations == 0 || iterations > kMaxIterations) return invalid_argument("iterations out of range");
  std::vector<unsigned char> salt(kSaltBytes);
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) {
    return internal_error("no random bytes for the salt");
  }
  unsigned char hash[kHashBytes];
  if (!pbkdf2(password, salt, iterations, hash)) return internal_error("PBKDF2 failed");
  return std::string(kScheme) + std::to_string(iterations) + "$" + base64(salt.data(), salt.size()) + "$" +
         base64(hash, kHashBytes);
}

bool verify_password(std::string_view encoded, std::string_view password) {
  const std::optional<Parsed> p = parse_hash(encoded);
  if (!p) return false;
  unsigned char hash[kHashBytes];
  if (!pbkdf2(password, p->salt, p->iterations, hash)) return false;
  return CRYPTO_memcmp(hash, p->hash.data(), kHashBytes) == 0;
}

bool is_valid_hash(std::string_view encoded) { return parse_hash(encoded).has_value(); }

// ---- PasswordFile ----------------------------------------------------------

Result<PasswordFile> PasswordFile::parse(std::string_view text, const std::string& name) {
  PasswordFile f;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    const std::string where = name + ":" + std::to_string(line_no) + ": ";
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return invalid_argument(where + "expected user:$pbkdf2-sha512$ITERATIONS$SALT$HASH");
    }
    const std::string user(line.substr(0, colon));
    const std::string hash(line.substr(colon + 1));
    if (!is_valid_hash(hash)) {
      return invalid_argument(where + "user '" + user + "': not a $pbkdf2-sha512$ITERATIONS$SALT$HASH entry");
    }
    if (f.users_.count(user) > 0) return invalid_argument(where + "user '" + user + "' appears twice");
    f.users_.emplace(user, hash);
  }
  return f;
}

Result<PasswordFile> PasswordFile::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found(path + ": cannot open the password file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path);
}

Status PasswordFile::set(const std::string& user, const std::string& encoded_hash) {
  if (!valid_user(user)) return invalid_argument("a username must be non-empty, without ':' or line breaks");
  if (!is_valid_hash(encoded_hash)) return invalid_argument("not a password hash");
  users_[user] = encoded_hash;
  return Status::ok();
}

const std::string* PasswordFile::find(std::string_view user) const {
  auto it = users_.find(user);
  return it == users_.end() ? nullptr : &it->second;
}

std::string PasswordFile::to_text() const {
  std::string out;
  for (const auto& [user, hash] : users_) out += user + ":" + hash + "\n";
  return out;
}

// ---- Authenticator -------------------------------------------------------------

Result<Authenticator> Authenticator::create(const AuthOptions& options) {
  Authenticator a;
  a.options_ = options;
  if (!options.password_file.empty()) {
    auto f = PasswordFile::load(options.password_file);
    if (!f.is_ok()) return Status(f.status().code(), "auth: password_file: " + f.status().message());
    a.passwords_ = std::move(f).value();
    a.has_password_file_ = true;
  }
  if (RAND_bytes(a.cache_key_.data(), static_cast<int>(a.cache_key_.size())) != 1) {
    return internal_error("auth: no random bytes for the login cache");
  }
  return a;
}

void Authenticator::replace_passwords(PasswordFile passwords) {
  passwords_ = std::move(passwords);
  verified_.clear();
}

bool Authenticator::check_password(const std::string& user, const std::string& password) {
  std::array<unsigned char, 64> mac{};
  unsigned int mac_len = 0;
  HMAC(EVP_sha512(), cache_key_.data(), static_cast<int>(cache_key_.size()),
       reinterpret_cast<const unsigned char*>(password.data()), password.size(), mac.data(), &mac_len);
  if (auto it = verified_.find(user); it != verified_.end()) {
    // The cache is cleared when the file is reloaded: a different password is wrong.
    return CRYPTO_memcmp(it->second.data(), mac.data(), mac.size()) == 0;
  }
  const std::string* hash = passwords_.find(user);
  if (hash == nullptr) {
    // Same work for an unknown user, so timing does not tell which users exist.
    (void)verify_password("$pbkdf2-sha512$" + std::to_string(kDefaultPbkdf2Iterations) +
                              "$AAAAAAAAAAAAAAAAAAAAAA==$" + std::string(86, 'A') + "==",
                          password);
    return false;
  }
  if (!verify_password(*hash, password)) return false;
  verified_[user] = mac;
  return true;
}

AuthDecision Authenticator::authenticate(const AuthRequest& r) {
  AuthDecision d;
  d.identity.client_id = r.client_id;
  d.identity.cert_cn = r.cert_cn;
  using mqtt::ReasonCode;
  if (r.cert_cn_as_username) {
    if (r.cert_cn.empty()) {
      d.reason_code = ReasonCode::kNotAuthorized;
      d.why = "no client certificate CN to use as the username";
      return d;
    }
    d.identity.username = r.cert_cn;
    d.identity.anonymous = false;
    return d;
  }
  if (r.username == nullptr && r.password != nullptr) {
    d.reason_code = ReasonCode::kBadUserNameOrPassword;
    d.why = "password without a username";
    return d;
  }
  if (r.username != nullptr && has_password_file_) {
    if (r.password == nullptr || !check_password(*r.username, *r.password)) {
      d.reason_code = ReasonCode::kBadUserNameOrPassword;
      d.why = "bad username or password for user '" + *r.username + "'";
      return d;
    }
    d.identity.username = *r.username;
    d.identity.anonymous = false;
    return d;
  }
  if (!r.cert_cn.empty()) {
    d.identity.anonymous = false;  // the verified certificate is the credential
    return d;
  }
  const bool allowed = options_.allow_anonymous == AnonymousPolicy::kAlways ||
                       (options_.allow_anonymous == AnonymousPolicy::kLoopbackOnly && r.loopback_listener);
  if (!allowed) {
    d.reason_code = ReasonCode::kNotAuthorized;
    d.why = r.username != nullptr ? "username given but no password_file to check it, and anonymous clients are "
                                    "not allowed on this listener"
                                  : "anonymous clients are not allowed on this listener";
  }
  return d;
}

}  // namespace gw::broker
