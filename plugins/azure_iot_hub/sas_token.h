// Shared access signature (SAS) tokens for Azure IoT Hub device
// authentication, minted by the gateway from the device's symmetric key so no
// one has to paste a hand-made, expiring password into a config file.
//
//   SharedAccessSignature sr={url(resource)}&sig={url(base64(hmac))}&se={expiry}
//   hmac = HMAC-SHA256(base64decode(key), url(resource) + "\n" + expiry)
//
// Pure functions; thread-safe. OpenSSL 3 does the HMAC and base64.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/core/status.h"

namespace gw::plugins::azure_iot_hub {

// Percent-encodes everything except RFC 3986 unreserved characters
// (A-Z a-z 0-9 - _ . ~), upper-case hex: "a/b=" -> "a%2Fb%3D".
std::string url_encode(std::string_view s);
// Reverses url_encode (and '+' as space, as form encoding does). Errors:
// kInvalidArgument on a malformed escape.
Result<std::string> url_decode(std::string_view s);

// Standard base64 (with padding). decode ignores nothing: whitespace or a
// wrong length is kInvalidArgument.
std::string base64_encode(std::string_view bytes);
Result<std::string> base64_decode(std::string_view text);

// HMAC-SHA256 of `data` under `key` (raw bytes, 32 bytes out).
std::string hmac_sha256(std::string_view key, std::string_view data);

// The SAS token for `resource` (e.g. "myhub.azure-devices.net/devices/dev1"),
// valid until `expiry_s` (Unix seconds), signed with the base64 `key`.
// Errors: kInvalidArgument when `key` is not base64 or empty.
Result<std::string> make_sas_token(std::string_view resource, std::string_view key_base64, int64_t expiry_s);

// Checks a token as IoT Hub would (for the test stand-in and for operators'
// tooling): the `sr` matches `resource`, the signature matches the key, and
// it has not expired at `now_s`. Errors: kInvalidArgument (malformed),
// kUnavailable (expired), kNotFound (wrong resource or signature).
Status verify_sas_token(std::string_view token, std::string_view resource, std::string_view key_base64,
                        int64_t now_s);

}  // namespace gw::plugins::azure_iot_hub
