#include "plugins/azure_iot_hub/sas_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>
#include <optional>
#include <vector>

namespace gw::plugins::azure_iot_hub {
namespace {

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '~';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The value of `name` in "a=1&b=2", or nullopt.
std::optional<std::string_view> field(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    const size_t eq = part.find('=');
    if (eq != std::string_view::npos && part.substr(0, eq) == name) return part.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

}  // namespace

std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3 / 2);
  for (unsigned char c : s) {
    if (unreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0F]);
    }
  }
  return out;
}

Result<std::string> url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return invalid_argument("truncated percent escape in '" + std::string(s) + "'");
      const int h = hex_value(s[i + 1]);
      const int l = hex_value(s[i + 2]);
      if (h < 0 || l < 0) return invalid_argument("bad percent escape in '" + std::string(s) + "'");
      out.push_back(static_cast<char>(h * 16 + l));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return invalid_argument("not base64 (length)");
  for (char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                    c == '/' || c == '=';
    if (!ok) return invalid_argument("not base64 (character)");
  }
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return invalid_argument("not base64");
  // EVP_DecodeBlock counts padding as zero bytes; drop them.
  size_t len = static_cast<size_t>(n);
  if (text.back() == '=') --len;
  if (text.size() >= 2 && text[text.size() - 2] == '=') --len;
  out.resize(len);
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), md, &len);
  return std::string(reinterpret_cast<const char*>(md), len);
}

Result<std::string> make_sas_token(std::string_view resource, std::string_view key_base64, int64_t expiry_s) {
  auto key = base64_decode(key_base64);
  if (!key) return invalid_argument("sas_key is not a base64 key: " + key.status().message());
  if (key->empty()) return invalid_argument("sas_key is empty");
  const std::string sr = url_encode(resource);
  const std::string se = std::to_string(expiry_s);
  const std::string sig = base64_encode(hmac_sha256(*key, sr + "\n" + se));
  return "SharedAccessSignature sr=" + sr + "&sig=" + url_encode(sig) + "&se=" + se;
}

Status verify_sas_token(std::string_view token, std::string_view resource, std::string_view key_base64,
                        int64_t now_s) {
  constexpr std::string_view kPrefix = "SharedAccessSignature ";
  if (token.substr(0, kPrefix.size()) != kPrefix) return invalid_argument("not a SharedAccessSignature");
  const std::string_view q = token.substr(kPrefix.size());
  auto sr = field(q, "sr");
  auto sig = field(q, "sig");
  auto se = field(q, "se");
  if (!sr || !sig || !se) return invalid_argument("SAS token needs sr, sig and se");
  int64_t expiry = 0;
  auto [p, ec] = std::from_chars(se->data(), se->data() + se->size(), expiry);
  if (ec != std::errc() || p != se->data() + se->size()) return invalid_argument("SAS se is not a number");
  auto decoded_sr = url_decode(*sr);
  if (!decoded_sr) return decoded_sr.status();
  if (*decoded_sr != resource) return not_found("SAS token is for '" + *decoded_sr + "'");
  auto expected = make_sas_token(resource, key_base64, expiry);
  if (!expected) return expected.status();
  auto want_sig = field(std::string_view(*expected).substr(kPrefix.size()), "sig");
  if (want_sig->size() != sig->size() || CRYPTO_memcmp(want_sig->data(), sig->data(), sig->size()) != 0) {
    return not_found("SAS signature does not match the device key");
  }
  if (expiry <= now_s) return unavailable("SAS token expired " + std::to_string(now_s - expiry) + " s ago");
  return Status::ok();
}

}  // namespace gw::plugins::azure_iot_hub
