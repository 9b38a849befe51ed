// Envelope: how a batch of stored messages becomes one cloud payload and back.
// A batch is JSON lines (one object per device message, NDJSON), compressed
// with gzip, raw deflate or nothing. The format is described for users and
// cloud-function authors in gateway/uplink/FORMAT.md; change both together.
//
// Pure functions, no state: thread-safe. Used by the batcher (engine thread),
// by `edge-gateway decode` and by tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/core/message.h"
#include "gateway/core/status.h"
#include "gateway/store/store.h"

namespace gw::uplink {

enum class Compression : uint8_t {
  kGzip,     // RFC 1952 (default)
  kDeflate,  // raw RFC 1951 stream, no header or checksum
  kNone,
};

// "gzip", "deflate", "none" (the config's `compression:` values).
std::string_view to_string(Compression c);
// Parses the names above. Errors: kInvalidArgument naming the accepted values.
Result<Compression> parse_compression(std::string_view name);
// The HTTP-style content-encoding sent as batch metadata: "gzip", "deflate",
// "identity".
std::string_view content_encoding(Compression c);

// MIME type of an uncompressed batch.
inline constexpr std::string_view kBatchContentType = "application/x-ndjson";

// Batch-level metadata. Travels beside the payload (MQTT 5 user properties,
// a property bag, ...), shaped by the CloudProfile.
struct BatchMetadata {
  std::string gateway_id;
  uint64_t batch_seq = 0;
  size_t count = 0;
  Compression compression = Compression::kGzip;
  std::string content_type{kBatchContentType};

  // The user properties of FORMAT.md, in this order: content-encoding,
  // gateway-id, batch-seq, count.
  std::vector<UserProperty> as_properties() const;
};

// One JSON line (no trailing newline) for one stored row. Never fails: text
// that is not UTF-8 is replaced (U+FFFD), binary goes as base64. Field names
// and order: FORMAT.md.
std::string encode_line(const store::StoredRow& row);

// Whether `payload` would be inlined as JSON (`payload`) rather than base64.
bool is_inline_json(std::string_view payload);

// Compresses `data` (libdeflate: the same gzip / raw deflate streams as
// zlib, about twice as fast at the same level). `level` is 1..9 as in zlib
// (-1 = 6). Errors: kInternal when no compressor can be allocated.
Result<std::string> compress(std::string_view data, Compression c, int level = -1);

// Detects how `bytes` are encoded: gzip magic, a JSON line ('{' first, after
// whitespace) or empty = none, anything else = raw deflate.
Compression detect_compression(std::string_view bytes);

struct DecodeOptions {
  // Zip-bomb guard: decompressed output above this is an error.
  size_t max_output_bytes = 64u << 20;
  // decode_batch checks that each line is one JSON object. A reader that
  // trusts the writer (gw-counter, which shares the cores with the gateway
  // it measures) turns the check off: it costs more than the decompression.
  bool check_json = true;
};

// Decompresses `bytes` (auto-detected: gzip, zlib, raw deflate or plain) and
// splits it into lines (blank ones skipped), each checked to be one JSON
// object unless options.check_json is false.
// Errors: kDataLoss (corrupt stream, trailing garbage, a line that is not a
// JSON object), kResourceExhausted (over max_output_bytes).
Result<std::vector<std::string>> decode_batch(std::string_view bytes, const DecodeOptions& options = {});

// Decompression only (same detection and guard as decode_batch).
Result<std::string> decompress(std::string_view bytes, const DecodeOptions& options = {});

// RFC 4648 base64 with padding.
std::string base64_encode(std::string_view data);
// Errors: kInvalidArgument on characters outside the alphabet or bad padding.
Result<std::string> base64_decode(std::string_view text);

}  // namespace gw::uplink
