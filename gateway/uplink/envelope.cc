#include "gateway/uplink/envelope.h"

#include <libdeflate.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <nlohmann/json.hpp>

#include "gateway/uplink/internal/json_text.h"

namespace gw::uplink {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Base64 (RFC 4648, padded) of `data`, appended to `out` in place.
void append_base64(std::string& out, std::string_view data) {
  const size_t at = out.size();
  out.resize(at + (data.size() + 2) / 3 * 4);
  char* o = out.data() + at;
  const auto* in = reinterpret_cast<const uint8_t*>(data.data());
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    *o++ = kB64[(v >> 18) & 63];
    *o++ = kB64[(v >> 12) & 63];
    *o++ = kB64[(v >> 6) & 63];
    *o++ = kB64[v & 63];
  }
  const size_t left = data.size() - i;
  if (left == 0) {
    return;
  }
  const uint32_t v = (uint32_t{in[i]} << 16) | (left == 2 ? uint32_t{in[i + 1]} << 8 : 0);
  *o++ = kB64[(v >> 18) & 63];
  *o++ = kB64[(v >> 12) & 63];
  *o++ = left == 2 ? kB64[(v >> 6) & 63] : '=';
  *o++ = '=';
}

// Decimal, as nlohmann writes integers.
template <typename Int>
void append_integer(std::string& out, Int value) {
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, res.ptr);
}

// Room for the whole line, so that it is allocated once for typical rows;
// escapes or U+FFFD replacements beyond the small slack make it grow.
size_t line_size_estimate(const store::StoredRow& row, bool inline_json) {
  const Message& m = row.message;
  const MessageProperties& p = m.properties;
  // Every key and punctuation mark with both timestamps at 20 digits, plus
  // slack for a few escapes.
  size_t n = 256 + m.topic.size() + row.cloud_topic.size() + m.client_id.size() +
             m.username.size() + row.route.size();
  for (const auto& [k, v] : p.user) {
    n += k.size() + v.size() + 8;
  }
  n += p.content_type ? p.content_type->size() : 0;
  n += p.response_topic ? p.response_topic->size() : 0;
  n += p.correlation_data ? (p.correlation_data->size() + 2) / 3 * 4 : 0;
  n += inline_json ? m.payload.size() : (m.payload.size() + 2) / 3 * 4;
  return n;
}

size_t first_non_ws(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  return i;
}

int window_bits_for(Compression c) { return c == Compression::kGzip ? 16 + MAX_WBITS : -MAX_WBITS; }

}  // namespace

std::string_view to_string(Compression c) {
  switch (c) {
    case Compression::kGzip: return "gzip";
    case Compression::kDeflate: return "deflate";
    case Compression::kNone: return "none";
  }
  return "?";
}

Result<Compression> parse_compression(std::string_view name) {
  if (name == "gzip") return Compression::kGzip;
  if (name == "deflate") return Compression::kDeflate;
  if (name == "none") return Compression::kNone;
  return invalid_argument("unknown compression '" + std::string(name) + "' (expected gzip, deflate or none)");
}

std::string_view content_encoding(Compression c) {
  switch (c) {
    case Compression::kGzip: return "gzip";
    case Compression::kDeflate: return "deflate";
    case Compression::kNone: return "identity";
  }
  return "identity";
}

std::vector<UserProperty> BatchMetadata::as_properties() const {
  return {
      {"content-encoding", std::string(content_encoding(compression))},
      {"gateway-id", gateway_id},
      {"batch-seq", std::to_string(batch_seq)},
      {"count", std::to_string(count)},
  };
}

bool is_inline_json(std::string_view payload) {
  // The scanner refuses what nlohmann::json::accept refuses, and also an
  // empty payload, a BOM (accept skips it) and any NUL byte (accept takes
  // NUL for the end of input and would accept "9\0<binary>"), none of
  // which may be spliced into a line.
  bool line_breaks = false;
  return internal::scan_json_text(payload, &line_breaks);
}

// Written by hand rather than through nlohmann::ordered_json: building and
// dumping a DOM per message was most of the uplink thread's time. The
// output is byte for byte what dump(-1, ' ', false, replace) gave (the
// differential test in tests/unit/uplink holds it to that).
std::string encode_line(const store::StoredRow& row) {
  const Message& m = row.message;
  const MessageProperties& p = m.properties;
  bool line_breaks = false;
  const bool inline_json = internal::scan_json_text(m.payload, &line_breaks);

  std::string line;
  line.reserve(line_size_estimate(row, inline_json));
  line += "{\"seq\":";
  append_integer(line, row.seq);
  line += ",\"topic\":";
  internal::append_json_string(line, m.topic);
  if (!row.cloud_topic.empty()) {
    line += ",\"cloud_topic\":";
    internal::append_json_string(line, row.cloud_topic);
  }
  line += ",\"ts\":";
  append_integer(line, m.received_at_ms);
  line += ",\"qos\":";
  append_integer(line, m.qos);
  if (m.retain) {
    line += ",\"retain\":true";
  }
  line += ",\"client_id\":";
  internal::append_json_string(line, m.client_id);
  if (!m.username.empty()) {
    line += ",\"username\":";
    internal::append_json_string(line, m.username);
  }
  line += ",\"route\":";
  internal::append_json_string(line, row.route);
  if (!p.user.empty()) {
    line += ",\"props\":[";
    for (size_t i = 0; i < p.user.size(); ++i) {
      line += i == 0 ? "[" : ",[";
      internal::append_json_string(line, p.user[i].first);
      line += ',';
      internal::append_json_string(line, p.user[i].second);
      line += ']';
    }
    line += ']';
  }
  if (p.content_type) {
    line += ",\"content_type\":";
    internal::append_json_string(line, *p.content_type);
  }
  if (p.payload_format) {
    line += ",\"payload_format\":";
    append_integer(line, *p.payload_format);
  }
  if (p.message_expiry_s) {
    line += ",\"expiry_s\":";
    append_integer(line, *p.message_expiry_s);
  }
  if (p.response_topic) {
    line += ",\"response_topic\":";
    internal::append_json_string(line, *p.response_topic);
  }
  // The base64 alphabet needs no escaping.
  if (p.correlation_data) {
    line += ",\"correlation_data_b64\":\"";
    append_base64(line, *p.correlation_data);
    line += '"';
  }
  if (!inline_json) {
    line += ",\"payload_b64\":\"";
    append_base64(line, m.payload);
    line += "\"}";
    return line;
  }
  // Splice the device's JSON text in as is (no re-serialisation: numbers,
  // key order and escapes stay exactly as the device sent them). Raw CR/LF
  // can only be whitespace between tokens in valid JSON, and would break
  // the one-line-per-message framing, so they become spaces.
  line += ",\"payload\":";
  const size_t at = line.size();
  line += m.payload;
  if (line_breaks) {
    std::replace_if(
        line.begin() + static_cast<std::ptrdiff_t>(at), line.end(),
        [](char c) { return c == '\n' || c == '\r'; }, ' ');
  }
  line += '}';
  return line;
}

Result<std::string> compress(std::string_view data, Compression c, int level) {
  if (c == Compression::kNone) return std::string(data);
  if (level < 0) level = 6;
  // A compressor holds its match finder's tables (~100s of KB at level 6):
  // one per thread, kept while the level stays the same (an uplink thread
  // always uses its uplink's level).
  struct Compressor {
    int level = -1;
    libdeflate_compressor* z = nullptr;
    ~Compressor() {
      if (z != nullptr) libdeflate_free_compressor(z);
    }
  };
  thread_local Compressor cached;
  if (cached.z == nullptr || cached.level != level) {
    if (cached.z != nullptr) libdeflate_free_compressor(cached.z);
    cached.z = libdeflate_alloc_compressor(level);
    cached.level = level;
    if (cached.z == nullptr) {
      return internal_error("libdeflate: no compressor for level " + std::to_string(level));
    }
  }
  // The output bound always fits, so compressing cannot fail.
  libdeflate_compressor* z = cached.z;
  const size_t n = data.size();
  if (c == Compression::kGzip) {
    std::string out(libdeflate_gzip_compress_bound(z, n), '\0');
    out.resize(libdeflate_gzip_compress(z, data.data(), n, out.data(), out.size()));
    return out;
  }
  std::string out(libdeflate_deflate_compress_bound(z, n), '\0');
  out.resize(libdeflate_deflate_compress(z, data.data(), n, out.data(), out.size()));
  return out;
}

Compression detect_compression(std::string_view bytes) {
  if (bytes.size() >= 2 && static_cast<uint8_t>(bytes[0]) == 0x1f && static_cast<uint8_t>(bytes[1]) == 0x8b) {
    return Compression::kGzip;
  }
  const size_t i = first_non_ws(bytes);
  // Our raw deflate batches never start with '{': 0x7b would open a final
  // fixed-Huffman block whose first code is not that of a '{' literal (the
  // first byte would be 0xab). So a leading '{' means plain JSON lines.
  if (i == bytes.size() || bytes[i] == '{') return Compression::kNone;
  return Compression::kDeflate;
}

Result<std::string> decompress(std::string_view bytes, const DecodeOptions& options) {
  const Compression c = detect_compression(bytes);
  if (c == Compression::kNone) {
    if (bytes.size() > options.max_output_bytes) return resource_exhausted("batch larger than the decode limit");
    return std::string(bytes);
  }
  int wbits = window_bits_for(c);
  // A zlib-wrapped stream (RFC 1950) is accepted too: some tools produce it
  // when asked for "deflate".
  if (c == Compression::kDeflate && bytes.size() >= 2) {
    const auto b0 = static_cast<uint8_t>(bytes[0]);
    const auto b1 = static_cast<uint8_t>(bytes[1]);
    if ((b0 & 0x0f) == 8 && (b0 >> 4) <= 7 && ((b0 << 8) | b1) % 31 == 0) wbits = MAX_WBITS;
  }
  z_stream zs{};
  if (inflateInit2(&zs, wbits) != Z_OK) return internal_error("inflateInit2 failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  zs.avail_in = static_cast<uInt>(bytes.size());
  std::string out;
  std::array<char, 16384> chunk{};
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(chunk.data());
    zs.avail_out = static_cast<uInt>(chunk.size());
    rc = inflate(&zs, Z_NO_FLUSH);
    const size_t got = chunk.size() - zs.avail_out;
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return data_loss(std::string("corrupt ") + std::string(to_string(c)) + " stream" +
                       (zs.msg ? std::string(": ") + zs.msg : std::string()));
    }
    if (out.size() + got > options.max_output_bytes) {
      inflateEnd(&zs);
      return resource_exhausted("batch decompresses to more than " + std::to_string(options.max_output_bytes) +
                                " bytes");
    }
    out.append(chunk.data(), got);
    if (rc == Z_OK && got == 0 && zs.avail_in == 0) {
      inflateEnd(&zs);
      return data_loss("truncated " + std::string(to_string(c)) + " stream");
    }
  }
  const bool trailing = zs.avail_in != 0;
  inflateEnd(&zs);
  if (trailing) return data_loss("trailing bytes after the compressed stream");
  return out;
}

Result<std::vector<std::string>> decode_batch(std::string_view bytes, const DecodeOptions& options) {
  auto text = decompress(bytes, options);
  if (!text) return text.status();
  std::vector<std::string> lines;
  std::string_view rest = *text;
  size_t line_no = 0;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    if (options.check_json && (line[first_non_ws(line)] != '{' || line.find('\0') != std::string_view::npos ||
                               !Json::accept(line.begin(), line.end()))) {
      return data_loss("line " + std::to_string(line_no) + " is not a JSON object");
    }
    lines.emplace_back(line);
  }
  return lines;
}

std::string base64_encode(std::string_view data) {
  std::string out;
  append_base64(out, data);
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return invalid_argument("base64 length is not a multiple of 4");
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t v = 0;
    int pad = 0;
    for (size_t k = 0; k < 4; ++k) {
      const char ch = text[i + k];
      uint32_t d = 0;
      if (ch == '=') {
        if (i + 4 != text.size() || k < 2) return invalid_argument("misplaced base64 padding");
        ++pad;
      } else {
        if (pad > 0) return invalid_argument("misplaced base64 padding");
        const size_t pos = kB64.find(ch);
        if (pos == std::string_view::npos) return invalid_argument("invalid base64 character");
        d = static_cast<uint32_t>(pos);
      }
      v = (v << 6) | d;
    }
    out += static_cast<char>((v >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((v >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(v & 0xff);
  }
  return out;
}

}  // namespace gw::uplink
