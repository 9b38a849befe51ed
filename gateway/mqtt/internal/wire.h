// Wire primitives shared by the packet codecs (MQTT 5.0 §1.5 data
// representation): a bounds-checked Reader that records the first error, and a
// Writer templated on its sink so the same body code both measures
// (CountSink) and writes (StringSink) a packet. Private to gateway/mqtt.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "gateway/mqtt/codec.h"
#include "gateway/mqtt/reason_code.h"

namespace gw::mqtt::internal {

// RFC 3629 well-formed UTF-8 without U+0000 (§1.5.4): rejects overlong forms,
// surrogates (U+D800..U+DFFF), code points above U+10FFFF and NUL.
bool is_valid_mqtt_utf8(std::string_view s);

// Bytes needed for `v` as a variable byte integer (§1.5.5), v <= kMaxRemainingLength.
constexpr size_t varint_size(uint32_t v) {
  return v < 128u ? 1 : v < 16'384u ? 2 : v < 2'097'152u ? 3 : 4;
}

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  size_t remaining() const { return data_.size() - pos_; }
  bool at_end() const { return pos_ == data_.size(); }
  bool failed() const { return failed_; }

  // Records the first failure and returns false, so callers can write
  // `return r.fail(...)` from a bool function.
  bool fail(ReasonCode code, std::string message) {
    if (!failed_) {
      failed_ = true;
      error_.reason_code = code;
      error_.message = std::move(message);
    }
    return false;
  }
  DecodeError take_error() { return std::move(error_); }

  bool u8(uint8_t& v, const char* what) {
    if (remaining() < 1) return truncated(what);
    v = static_cast<uint8_t>(data_[pos_++]);
    return true;
  }
  bool u16(uint16_t& v, const char* what) {
    if (remaining() < 2) return truncated(what);
    v = static_cast<uint16_t>((byte(pos_) << 8) | byte(pos_ + 1));
    pos_ += 2;
    return true;
  }
  bool u32(uint32_t& v, const char* what) {
    if (remaining() < 4) return truncated(what);
    v = (uint32_t{byte(pos_)} << 24) | (uint32_t{byte(pos_ + 1)} << 16) |
        (uint32_t{byte(pos_ + 2)} << 8) | uint32_t{byte(pos_ + 3)};
    pos_ += 4;
    return true;
  }
  // Variable byte integer (§1.5.5): at most 4 bytes. Non-minimal encodings
  // (e.g. 0x80 0x00) are accepted, as the spec does not forbid them.
  bool varint(uint32_t& v, const char* what) {
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
      uint8_t b = 0;
      if (!u8(b, what)) return false;
      value |= uint32_t{b & 0x7Fu} << (7 * i);
      if ((b & 0x80u) == 0) {
        v = value;
        return true;
      }
    }
    return fail(ReasonCode::kMalformedPacket,
                std::string(what) + ": variable byte integer longer than 4 bytes");
  }
  // Two-byte length then that many bytes (§1.5.6 binary data).
  bool binary(std::string_view& v, const char* what) {
    uint16_t n = 0;
    if (!u16(n, what)) return false;
    return bytes(n, v, what);
  }
  bool binary(std::string& v, const char* what) {
    std::string_view s;
    if (!binary(s, what)) return false;
    v.assign(s);
    return true;
  }
  // Two-byte length then UTF-8 (§1.5.4), validated.
  bool utf8(std::string_view& v, const char* what) {
    if (!binary(v, what)) return false;
    if (!is_valid_mqtt_utf8(v)) {
      return fail(ReasonCode::kMalformedPacket, std::string(what) + ": invalid UTF-8");
    }
    return true;
  }
  bool utf8(std::string& v, const char* what) {
    std::string_view s;
    if (!utf8(s, what)) return false;
    v.assign(s);
    return true;
  }
  bool bytes(size_t n, std::string_view& v, const char* what) {
    if (remaining() < n) return truncated(what);
    v = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  std::string_view rest() {
    std::string_view r = data_.substr(pos_);
    pos_ = data_.size();
    return r;
  }

 private:
  uint32_t byte(size_t i) const { return static_cast<uint8_t>(data_[i]); }
  bool truncated(const char* what) {
    return fail(ReasonCode::kMalformedPacket, std::string(what) + ": past the end of the packet");
  }

  std::string_view data_;
  size_t pos_ = 0;
  bool failed_ = false;
  DecodeError error_;
};

struct CountSink {
  size_t n = 0;
  void put(char) { ++n; }
  void put(std::string_view s) { n += s.size(); }
};

struct StringSink {
  std::string& out;
  void put(char c) { out.push_back(c); }
  void put(std::string_view s) { out.append(s); }
};

template <typename Sink>
class Writer {
 public:
  explicit Writer(Sink& sink) : sink_(sink) {}

  void u8(uint8_t v) { sink_.put(static_cast<char>(v)); }
  void u16(uint16_t v) {
    u8(static_cast<uint8_t>(v >> 8));
    u8(static_cast<uint8_t>(v));
  }
  void u32(uint32_t v) {
    u8(static_cast<uint8_t>(v >> 24));
    u8(static_cast<uint8_t>(v >> 16));
    u8(static_cast<uint8_t>(v >> 8));
    u8(static_cast<uint8_t>(v));
  }
  void varint(uint32_t v) {
    do {
      uint8_t b = v & 0x7Fu;
      v >>= 7;
      if (v != 0) b |= 0x80u;
      u8(b);
    } while (v != 0);
  }
  // Two-byte length prefix then the bytes (UTF-8 string or binary data).
  void str(std::string_view s) {
    u16(static_cast<uint16_t>(s.size()));
    sink_.put(s);
  }
  void raw(std::string_view s) { sink_.put(s); }

 private:
  Sink& sink_;
};

// Measures what `body(writer)` writes.
template <typename Body>
size_t measure(const Body& body) {
  CountSink c;
  Writer<CountSink> w(c);
  body(w);
  return c.n;
}

// Total packet size for a body of `remaining` bytes.
inline size_t packet_size(size_t remaining) {
  return 1 + varint_size(static_cast<uint32_t>(remaining)) + remaining;
}

// Appends fixed header (`first_byte`, remaining length) and body to `out`.
template <typename Body>
void write_packet(uint8_t first_byte, std::string& out, const Body& body) {
  const size_t remaining = measure(body);
  out.reserve(out.size() + packet_size(remaining));
  StringSink s{out};
  Writer<StringSink> w(s);
  w.u8(first_byte);
  w.varint(static_cast<uint32_t>(remaining));
  body(w);
}

inline uint8_t first_byte(PacketType type, uint8_t flags) {
  return static_cast<uint8_t>((static_cast<uint8_t>(type) << 4) | flags);
}

}  // namespace gw::mqtt::internal
