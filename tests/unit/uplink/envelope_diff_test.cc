// Differential tests: the hand-written envelope encoder and JSON scanner
// against the nlohmann-based code they replaced (kept below as the
// reference, as it was in envelope.cc), over generated corpora. Lines must
// be equal byte for byte; is_inline_json must agree on every input.
// Seeded, so a failure reproduces; each case prints the input in hex.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/uplink/envelope.h"
#include "gateway/uplink/internal/json_text.h"

namespace gw::uplink {
namespace {

// ---- The reference: envelope.cc's encoder before it stopped using nlohmann.

namespace reference {

using Json = nlohmann::ordered_json;

// Written differently from envelope.cc's (bit accumulator), so that it
// checks that one too.
std::string base64(std::string_view data) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (const char ch : data) {
    acc = (acc << 8) | static_cast<uint8_t>(ch);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) {
    out += kAlphabet[(acc << (6 - bits)) & 63];
  }
  while (out.size() % 4 != 0) {
    out += '=';
  }
  return out;
}

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

bool is_inline_json(std::string_view payload) {
  if (payload.empty() || (payload.size() >= 3 && payload.substr(0, 3) == "\xEF\xBB\xBF")) {
    return false;
  }
  if (payload.find('\0') != std::string_view::npos) {
    return false;
  }
  return Json::accept(payload.begin(), payload.end());
}

std::string encode_line(const store::StoredRow& row) {
  const Message& m = row.message;
  const MessageProperties& p = m.properties;
  Json j;
  j["seq"] = row.seq;
  j["topic"] = m.topic;
  if (!row.cloud_topic.empty()) j["cloud_topic"] = row.cloud_topic;
  j["ts"] = m.received_at_ms;
  j["qos"] = m.qos;
  if (m.retain) j["retain"] = true;
  j["client_id"] = m.client_id;
  if (!m.username.empty()) j["username"] = m.username;
  j["route"] = row.route;
  if (!p.user.empty()) {
    Json props = Json::array();
    for (const auto& [k, v] : p.user) props.push_back(Json::array({k, v}));
    j["props"] = std::move(props);
  }
  if (p.content_type) j["content_type"] = *p.content_type;
  if (p.payload_format) j["payload_format"] = *p.payload_format;
  if (p.message_expiry_s) j["expiry_s"] = *p.message_expiry_s;
  if (p.response_topic) j["response_topic"] = *p.response_topic;
  if (p.correlation_data) j["correlation_data_b64"] = base64(*p.correlation_data);

  if (!is_inline_json(m.payload)) {
    j["payload_b64"] = base64(m.payload);
    return dump(j);
  }
  std::string line = dump(j);
  line.pop_back();
  line += ",\"payload\":";
  const size_t at = line.size();
  line += m.payload;
  std::replace_if(
      line.begin() + static_cast<std::ptrdiff_t>(at), line.end(),
      [](char c) { return c == '\n' || c == '\r'; }, ' ');
  line += '}';
  return line;
}

std::string escaped(std::string_view s) { return dump(Json(std::string(s))); }

}  // namespace reference

// ---- Generators.

std::string hex(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const char ch : s) {
    const auto b = static_cast<uint8_t>(ch);
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
    out += ' ';
  }
  return out;
}

// Bytes at the edges of every class the escaper and the scanner tell apart:
// control characters and their short escapes, JSON punctuation, DEL, and
// the UTF-8 lead and continuation ranges with their exceptions (E0, ED, F0,
// F4) and the never-valid bytes (C0, C1, F5..FF).
constexpr uint8_t kEdgeBytes[] = {0x00, 0x01, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1f, 0x20, '"',
                                  '\\', '/',  'a',  'u',  '0',  0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0,
                                  0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef,
                                  0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xf8, 0xfe, 0xff};

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}

  uint64_t next() { return rng_(); }
  int below(int n) { return static_cast<int>(rng_() % static_cast<uint64_t>(n)); }
  bool chance(int percent) { return below(100) < percent; }
  char edge_byte() { return static_cast<char>(kEdgeBytes[below(sizeof kEdgeBytes)]); }

  std::string random_bytes(int max_len) {
    std::string s(static_cast<size_t>(below(max_len + 1)), '\0');
    for (char& ch : s) {
      ch = static_cast<char>(rng_() & 0xff);
    }
    return s;
  }

  // UTF-8 of a code point (no checks: callers pass what they mean to).
  static void put_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  uint32_t valid_code_point() {
    static constexpr uint32_t kPicks[] = {0x20,   0x7E,    0x7F,    0x80,    0x7FF,   0x800,
                                          0xFFF,  0x1000,  0xD7FF,  0xE000,  0xFEFF,  0xFFFD,
                                          0xFFFF, 0x10000, 0x3FFFF, 0x40000, 0xFFFFF, 0x10FFFF};
    switch (below(4)) {
      case 0:
        return kPicks[below(sizeof kPicks / sizeof kPicks[0])];
      case 1:
        return 0x20 + static_cast<uint32_t>(below(0x5F));
      case 2:
        return 0x80 + static_cast<uint32_t>(below(0xD800 - 0x80));
      default:
        return 0x10000 + static_cast<uint32_t>(below(0x100000));
    }
  }

  // One piece of a string: mostly text, often something ill-formed.
  void put_piece(std::string& out) {
    switch (below(14)) {
      case 0:
      case 1:
      case 2: {
        static constexpr std::string_view kWords[] = {
            "plant", "line1", "press-07", "temp", "ok", "/", "+", "#", "a b", "ü", "温度", "😀"};
        out += kWords[below(sizeof kWords / sizeof kWords[0])];
        return;
      }
      case 3:
        put_utf8(out, valid_code_point());
        return;
      case 4:  // a control character
        out += static_cast<char>(below(0x20));
        return;
      case 5:
        out += "\"\\/"[below(3)];
        return;
      case 6: {  // overlong: C0/C1, or E0 80..9F, or F0 80..8F
        const int kind = below(3);
        if (kind == 0) {
          out += static_cast<char>(0xC0 + below(2));
          out += static_cast<char>(0x80 + below(0x40));
        } else if (kind == 1) {
          out += '\xE0';
          out += static_cast<char>(0x80 + below(0x20));
          out += static_cast<char>(0x80 + below(0x40));
        } else {
          out += '\xF0';
          out += static_cast<char>(0x80 + below(0x10));
          out += static_cast<char>(0x80 + below(0x40));
          out += static_cast<char>(0x80 + below(0x40));
        }
        return;
      }
      case 7:  // a UTF-16 surrogate encoded in UTF-8 (ED A0..BF xx)
        out += '\xED';
        out += static_cast<char>(0xA0 + below(0x20));
        out += static_cast<char>(0x80 + below(0x40));
        return;
      case 8:  // beyond U+10FFFF: F4 90.., or F5..FF
        if (chance(50)) {
          out += '\xF4';
          out += static_cast<char>(0x90 + below(0x30));
          out += static_cast<char>(0x80 + below(0x40));
          out += static_cast<char>(0x80 + below(0x40));
        } else {
          out += static_cast<char>(0xF5 + below(11));
        }
        return;
      case 9:  // lone continuation bytes
        for (int n = 1 + below(3); n > 0; --n) {
          out += static_cast<char>(0x80 + below(0x40));
        }
        return;
      case 10: {  // a valid multi-byte sequence cut short
        std::string seq;
        put_utf8(seq, 0x80 + static_cast<uint32_t>(below(0x10FFFF - 0x80)));
        if ((static_cast<uint8_t>(seq[0]) == 0xED && static_cast<uint8_t>(seq[1]) >= 0xA0)) {
          seq = "\xE2\x82\xAC";  // a surrogate came out; use the euro sign
        }
        out += seq.substr(0, 1 + static_cast<size_t>(below(static_cast<int>(seq.size()) - 1)));
        return;
      }
      case 11:
        out += edge_byte();
        return;
      case 12:
        out += static_cast<char>(rng_() & 0xff);
        return;
      default:  // a BOM in the middle
        out += "\xEF\xBB\xBF";
        return;
    }
  }

  std::string text(int max_pieces) {
    std::string s;
    for (int n = below(max_pieces + 1); n > 0; --n) {
      put_piece(s);
    }
    return s;
  }

  // ---- JSON texts.

  void whitespace(std::string& out) {
    if (!chance(25)) {
      return;
    }
    for (int n = 1 + below(3); n > 0; --n) {
      out += " \t\n\r"[below(4)];
    }
  }

  void digits(std::string& out, int n, bool leading_nonzero) {
    for (int i = 0; i < n; ++i) {
      out += static_cast<char>((i == 0 && leading_nonzero ? '1' + below(9) : '0' + below(10)));
    }
  }

  // Numbers, valid by grammar, many of them around the double overflow
  // threshold (nlohmann refuses those that round to infinity).
  std::string number() {
    std::string s;
    if (chance(30)) {
      s += '-';
    }
    switch (below(6)) {
      case 0:  // plain integer, up to beyond uint64
        if (chance(20)) {
          s += '0';
        } else {
          digits(s, 1 + below(22), true);
        }
        return s;
      case 1:  // decimal with exponent
        digits(s, 1 + below(4), true);
        s += '.';
        digits(s, 1 + below(4), false);
        s += "eE"[below(2)];
        if (chance(60)) {
          s += "+-"[below(2)];
        }
        digits(s, 1 + below(3), false);
        return s;
      case 2: {  // exponent near 308/309, sometimes with leading zeros
        s += chance(50) ? "1" : std::to_string(1 + below(9)) + "." + std::to_string(below(1000));
        s += 'e';
        if (chance(20)) {
          s += "000";
        }
        s += std::to_string(300 + below(15));
        return s;
      }
      case 3: {  // the overflow threshold's digits, tweaked
        static constexpr std::string_view kThreshold =
            "17976931348623158079372897140530341507993413271003782693617377898044496829276475094664"
            "90179775872070963302864166928879109465555478519404026306574886715058206819089020007083"
            "83676273854845817711531764475730270069855571366959622842914819860834936475292719074168"
            "444365510704342711559699508093042880177904174497792";
        std::string d(kThreshold.substr(
            0, 1 + static_cast<size_t>(below(static_cast<int>(kThreshold.size())))));
        if (d.size() == kThreshold.size() || chance(50)) {
          const int bump = below(3);  // down one, as is, up one in the last digit
          char& last = d.back();
          if (bump == 0 && last > '0') {
            --last;
          } else if (bump == 2 && last < '9') {
            ++last;
          }
        }
        if (chance(40)) {
          d += std::string(static_cast<size_t>(below(3)), '0');
          d += std::to_string(below(10));
        }
        // Written as an integer of 309 digits, or as d.ddd...e308, or with
        // the point further in and the exponent adjusted.
        const int form = below(3);
        if (form == 0 && d.size() <= 309) {
          s += d + std::string(309 - d.size(), '0');
        } else if (form == 1) {
          s += d.substr(0, 1);
          if (d.size() > 1) {
            s += "." + d.substr(1);
          }
          s += "e308";
        } else {
          const size_t point =
              1 + static_cast<size_t>(below(static_cast<int>(std::min<size_t>(d.size(), 40))));
          s += d.substr(0, point);
          if (point < d.size()) {
            s += "." + d.substr(point);
          }
          s += "e+" + std::to_string(309 - static_cast<int>(point));
        }
        return s;
      }
      case 4: {  // 0.000ddd with a large exponent
        s += "0.";
        s += std::string(static_cast<size_t>(below(5)), '0');
        digits(s, 1 + below(20), true);
        s += "e" + std::to_string(300 + below(15));
        return s;
      }
      default: {  // huge exponents, and zero with any exponent
        s += chance(30) ? "0" : std::to_string(below(100));
        if (chance(30)) {
          s += ".0";
        }
        s += "e";
        s += chance(50) ? "-" : "";
        s += std::to_string(next() % 100000000);
        return s;
      }
    }
  }

  void escape(std::string& out) {
    static constexpr char kHex[] = "0123456789abcdefABCDEF";
    auto unit = [&](uint32_t u) {
      static constexpr char kLower[] = "0123456789abcdef";
      out += "\\u";
      for (int shift = 12; shift >= 0; shift -= 4) {
        out += chance(20) ? static_cast<char>(std::toupper(kLower[(u >> shift) & 15]))
                          : kLower[(u >> shift) & 15];
      }
    };
    switch (below(8)) {
      case 0:
        out += '\\';
        out += "\"\\/bfnrt"[below(8)];
        return;
      case 1:
        unit(static_cast<uint32_t>(below(0x10000)));
        return;
      case 2:
        unit(0);
        return;
      case 3:  // a surrogate pair
        unit(0xD800 + static_cast<uint32_t>(below(0x400)));
        unit(0xDC00 + static_cast<uint32_t>(below(0x400)));
        return;
      case 4:
        unit(0xD800 + static_cast<uint32_t>(below(0x400)));
        return;  // lone high
      case 5:
        unit(0xDC00 + static_cast<uint32_t>(below(0x400)));
        return;  // lone low
      case 6:    // high followed by something else
        unit(0xD800 + static_cast<uint32_t>(below(0x400)));
        if (chance(50)) {
          unit(static_cast<uint32_t>(below(0x10000)));
        } else {
          out += chance(50) ? "\\n" : "x";
        }
        return;
      default:  // short or bad hex, or a bad escape letter
        out += "\\u";
        for (int n = below(5); n > 0; --n) {
          out += chance(85) ? kHex[below(22)] : "gG\"x"[below(4)];
        }
        if (chance(50)) {
          out += "\\";
          out += "aUx0'"[below(5)];
        }
        return;
    }
  }

  std::string json_string() {
    std::string s = "\"";
    for (int n = below(6); n > 0; --n) {
      if (chance(30)) {
        escape(s);
      } else if (chance(80)) {
        put_utf8(s, valid_code_point());
      } else {
        put_piece(s);
      }
    }
    s += '"';
    return s;
  }

  void json_value(std::string& out, int depth) {
    whitespace(out);
    const int kind = depth > 5 ? 2 + below(4) : below(6);
    switch (kind) {
      case 0: {
        out += '{';
        for (int n = below(4), i = 0; i < n; ++i) {
          if (i > 0) {
            out += ',';
          }
          whitespace(out);
          out += json_string();
          whitespace(out);
          out += ':';
          json_value(out, depth + 1);
        }
        whitespace(out);
        out += '}';
        break;
      }
      case 1: {
        out += '[';
        for (int n = below(4), i = 0; i < n; ++i) {
          if (i > 0) {
            out += ',';
          }
          json_value(out, depth + 1);
        }
        whitespace(out);
        out += ']';
        break;
      }
      case 2:
        out += json_string();
        break;
      case 3:
        out += number();
        break;
      case 4:
        out += std::string_view("true\0false\0null", 15).substr(below(3) * 5, 5).data();
        break;
      default:
        out += chance(50) ? number() : json_string();
        break;
    }
    whitespace(out);
  }

  std::string json_text() {
    std::string s;
    json_value(s, 0);
    return s;
  }

  // A JSON text damaged a little: most of these are no longer JSON, and
  // those that are come from odd places.
  std::string mutated(std::string s) {
    for (int n = 1 + below(3); n > 0; --n) {
      const size_t at = s.empty() ? 0 : static_cast<size_t>(below(static_cast<int>(s.size())));
      static constexpr std::string_view kTokens[] = {"{", "}", "[", "]", ",",   ":",   "\"", "\\",
                                                     "-", ".", "e", "0", "tru", "nul", " ",  "\n"};
      switch (below(8)) {
        case 0:
          if (!s.empty()) {
            s.erase(at, 1);
          }
          break;
        case 1:
          s.insert(at, 1, edge_byte());
          break;
        case 2:
          if (!s.empty()) {
            s[at] = edge_byte();
          }
          break;
        case 3:
          s.resize(at);
          break;
        case 4:
          s.insert(at, kTokens[below(sizeof kTokens / sizeof kTokens[0])]);
          break;
        case 5:
          s += chance(50) ? std::string(1, edge_byte()) : std::string(" x");
          break;
        case 6:
          s.insert(0, chance(50) ? "\xEF\xBB\xBF" : "\xEF\xBB");
          break;
        default:
          s.insert(at, s.substr(at, static_cast<size_t>(below(8))));
          break;
      }
    }
    return s;
  }

 private:
  std::mt19937_64 rng_;
};

// ---- The escaper.

// A failure reports the first differing input and stops the loop.
::testing::AssertionResult same_string(std::string_view s) {
  std::string mine;
  internal::append_json_string(mine, s);
  const std::string theirs = reference::escaped(s);
  if (mine == theirs) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "input: " << hex(s) << "\n  ours:     " << hex(mine) << "\n  nlohmann: " << hex(theirs);
}

TEST(EnvelopeDiffTest, EscaperMatchesNlohmannOnEveryShortByteString) {
  for (int a = 0; a < 256; ++a) {
    ASSERT_TRUE(same_string(std::string(1, static_cast<char>(a))));
    for (int b = 0; b < 256; ++b) {
      ASSERT_TRUE(same_string(std::string{static_cast<char>(a), static_cast<char>(b)}));
    }
  }
  // Three and four bytes from the class edges (the 4-byte strings end in
  // 'a' or a continuation byte, which is what tells truncation from
  // rejection apart).
  for (const uint8_t a : kEdgeBytes) {
    for (const uint8_t b : kEdgeBytes) {
      for (const uint8_t c : kEdgeBytes) {
        const std::string s{static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)};
        ASSERT_TRUE(same_string(s));
        ASSERT_TRUE(same_string(s + 'a'));
        ASSERT_TRUE(same_string(s + '\x80'));
        ASSERT_TRUE(same_string('a' + s));
      }
    }
  }
}

TEST(EnvelopeDiffTest, EscaperMatchesNlohmannOnGeneratedText) {
  Gen gen(20240611);
  for (int i = 0; i < 100000; ++i) {
    ASSERT_TRUE(same_string(i % 4 == 0 ? gen.random_bytes(24) : gen.text(8)));
  }
  // Long strings, past nlohmann's 512-byte internal buffer.
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(same_string(gen.text(400)));
  }
}

// ---- The JSON scanner.

::testing::AssertionResult same_verdict(std::string_view s) {
  bool line_breaks = false;
  const bool mine = internal::scan_json_text(s, &line_breaks);
  const bool theirs = reference::is_inline_json(s);
  if (mine != theirs || is_inline_json(s) != mine) {
    return ::testing::AssertionFailure() << "ours " << mine << ", nlohmann " << theirs
                                         << " for input: " << hex(s.substr(0, 2000));
  }
  if (mine && line_breaks != (s.find_first_of("\r\n") != std::string_view::npos)) {
    return ::testing::AssertionFailure() << "line breaks misreported for: " << hex(s);
  }
  return ::testing::AssertionSuccess();
}

TEST(EnvelopeDiffTest, ScannerMatchesNlohmannAccept) {
  Gen gen(8259);
  int accepted = 0;
  int total = 0;
  auto check = [&](const std::string& s) {
    ::testing::AssertionResult same = same_verdict(s);
    accepted += reference::is_inline_json(s) ? 1 : 0;
    ++total;
    return same;
  };
  for (int i = 0; i < 80000; ++i) {
    const std::string doc = gen.json_text();
    ASSERT_TRUE(check(doc));
    ASSERT_TRUE(check(gen.mutated(doc)));
  }
  for (int i = 0; i < 30000; ++i) {
    ASSERT_TRUE(check(gen.json_string()));
    ASSERT_TRUE(check(gen.random_bytes(12)));
    std::string s(static_cast<size_t>(1 + gen.below(4)), '\0');
    for (char& ch : s) {
      ch = gen.edge_byte();
    }
    ASSERT_TRUE(check(s));
  }
  // Both verdicts must be well represented for the comparison to mean much.
  EXPECT_GT(accepted, total / 5);
  EXPECT_LT(accepted, total * 4 / 5);
}

// Every number the generator writes is valid by the grammar; nlohmann
// refuses those that overflow a double, so both sides of that line must
// come up often.
TEST(EnvelopeDiffTest, ScannerMatchesNlohmannOnNumbers) {
  Gen gen(754);
  int accepted = 0;
  const int total = 60000;
  for (int i = 0; i < total; ++i) {
    const std::string n = gen.number();
    ASSERT_TRUE(same_verdict(n));
    accepted += is_inline_json(n) ? 1 : 0;
  }
  EXPECT_GT(accepted, total / 4);
  EXPECT_LT(accepted, total * 19 / 20);
}

TEST(EnvelopeDiffTest, ScannerMatchesNlohmannOnDeepNesting) {
  for (const size_t depth : {255u, 256u, 257u, 320u, 100000u}) {
    const std::string arrays = std::string(depth, '[') + std::string(depth, ']');
    ASSERT_TRUE(same_verdict(arrays));
    ASSERT_TRUE(same_verdict(arrays.substr(1)));
    ASSERT_TRUE(same_verdict(arrays.substr(0, arrays.size() - 1)));
    std::string objects;
    for (size_t i = 0; i < depth; ++i) {
      objects += i % 2 ? "[" : "{\"k\":";
    }
    objects += "1";
    for (size_t i = depth; i-- > 0;) {
      objects += i % 2 ? "]" : "}";
    }
    ASSERT_TRUE(same_verdict(objects));
    // The innermost closer swapped for the other kind.
    std::string swapped = objects;
    const size_t last = swapped.find_first_of("]}");
    swapped[last] = swapped[last] == ']' ? '}' : ']';
    ASSERT_TRUE(same_verdict(swapped));
  }
}

// ---- Whole lines.

store::StoredRow random_row(Gen& gen) {
  auto field = [&](int empty_percent) {
    return gen.chance(empty_percent) ? std::string()
                                     : (gen.chance(70) ? gen.text(6) : "plant/line1");
  };
  store::StoredRow r;
  static constexpr int64_t kSeqs[] = {0,
                                      1,
                                      -1,
                                      std::numeric_limits<int64_t>::min(),
                                      std::numeric_limits<int64_t>::max(),
                                      1700000000123};
  r.seq = gen.chance(30) ? kSeqs[gen.below(6)] : static_cast<int64_t>(gen.next() >> gen.below(64));
  r.message.received_at_ms =
      gen.chance(30) ? kSeqs[gen.below(6)] : static_cast<int64_t>(gen.next());
  r.route = field(20);
  r.cloud_topic = field(50);
  r.message.topic = field(10);
  r.message.client_id = field(10);
  r.message.username = field(50);
  r.message.qos = static_cast<uint8_t>(gen.below(3));
  r.message.retain = gen.chance(30);
  MessageProperties& p = r.message.properties;
  for (int n = gen.chance(60) ? 0 : 1 + gen.below(4); n > 0; --n) {
    p.user.emplace_back(field(10), field(20));
  }
  if (gen.chance(40)) {
    p.content_type = field(10);
  }
  if (gen.chance(40)) {
    p.payload_format = static_cast<uint8_t>(gen.chance(80) ? gen.below(2) : gen.below(256));
  }
  if (gen.chance(40)) {
    p.message_expiry_s = static_cast<uint32_t>(gen.chance(50) ? gen.next() : 60);
  }
  if (gen.chance(40)) {
    p.response_topic = field(10);
  }
  if (gen.chance(40)) {
    p.correlation_data = gen.random_bytes(20);
  }
  switch (gen.below(4)) {
    case 0:
      r.message.payload = gen.json_text();
      break;
    case 1:
      r.message.payload = gen.mutated(gen.json_text());
      break;
    case 2:
      r.message.payload = gen.random_bytes(64);
      break;
    default:
      r.message.payload = gen.text(10);
      break;
  }
  return r;
}

TEST(EnvelopeDiffTest, EncodeLineMatchesNlohmannReference) {
  Gen gen(1952);
  for (int i = 0; i < 40000; ++i) {
    const store::StoredRow r = random_row(gen);
    ASSERT_EQ(encode_line(r), reference::encode_line(r))
        << "payload: " << hex(r.message.payload) << "\n  topic: " << hex(r.message.topic);
  }
}

}  // namespace
}  // namespace gw::uplink
