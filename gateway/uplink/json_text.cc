#include "gateway/uplink/internal/json_text.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace gw::uplink::internal {
namespace {

using Byte = unsigned char;

// Bytes that end a run of characters copied as they are, inside a string
// literal: both when writing one (they need escaping or UTF-8 checking) and
// when scanning one (they need the same checks, or end it).
constexpr std::array<bool, 256> kSpecialInString = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
  }
  return t;
}();

// Length of the well-formed UTF-8 sequence starting at `p` (a byte >= 0x80),
// or 0 when it is ill-formed; then `*bad` is how many bytes to replace by one
// U+FFFD before reading on. The ranges are RFC 3629's (no overlongs, no
// surrogates, nothing above U+10FFFF), the same as nlohmann's lexer and
// serializer. The replacement unit matches the serializer's decoder: it
// rejects at the first byte that cannot continue, drops what it had, and
// reads that byte again as a new start; a sequence cut short by the end of
// the string is one U+FFFD however long its valid prefix.
size_t utf8_sequence(const Byte* p, const Byte* end, size_t* bad) {
  const Byte b0 = *p;
  size_t need = 0;
  Byte lo = 0x80;
  Byte hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 3;
    if (b0 == 0xE0) {
      lo = 0xA0;  // below: overlong
    } else if (b0 == 0xED) {
      hi = 0x9F;  // above: UTF-16 surrogates
    }
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 4;
    if (b0 == 0xF0) {
      lo = 0x90;  // below: overlong
    } else if (b0 == 0xF4) {
      hi = 0x8F;  // above: beyond U+10FFFF
    }
  } else {
    *bad = 1;  // a continuation byte, C0/C1 (always overlong) or F5..FF
    return 0;
  }
  const auto avail = static_cast<size_t>(end - p);
  for (size_t k = 1; k < need; ++k) {
    if (k == avail || p[k] < lo || p[k] > hi) {
      *bad = k;
      return 0;
    }
    lo = 0x80;
    hi = 0xBF;
  }
  return need;
}

void append_bytes(std::string& out, const Byte* from, const Byte* to) {
  out.append(reinterpret_cast<const char*>(from), static_cast<size_t>(to - from));
}

void append_escape(std::string& out, Byte c) {
  switch (c) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default:
      break;
  }
  // Lowercase hex: nlohmann formats these with "\\u%04x".
  constexpr std::string_view kHex = "0123456789abcdef";
  const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
  out.append(esc, sizeof esc);
}

// The kind of each open array or object, innermost last: one bit per level,
// inline for the first 256 levels (no allocation for any real payload) and
// on the heap beyond, so depth is bounded by memory as in nlohmann's parser.
class NestingStack {
 public:
  bool empty() const { return depth_ == 0; }
  bool in_object() const { return (word(depth_ - 1) >> ((depth_ - 1) % 64)) & 1; }
  void pop() { --depth_; }
  void push(bool object) {
    if (depth_ / 64 >= kInlineWords + spill_.size()) {
      spill_.push_back(0);
    }
    uint64_t& w = word(depth_);
    const uint64_t bit = uint64_t{1} << (depth_ % 64);
    w = object ? (w | bit) : (w & ~bit);
    ++depth_;
  }

 private:
  static constexpr size_t kInlineWords = 4;

  uint64_t& word(size_t level) {
    return level / 64 < kInlineWords ? inline_[level / 64] : spill_[level / 64 - kInlineWords];
  }
  uint64_t word(size_t level) const {
    return level / 64 < kInlineWords ? inline_[level / 64] : spill_[level / 64 - kInlineWords];
  }

  std::array<uint64_t, kInlineWords> inline_{};
  std::vector<uint64_t> spill_;
  size_t depth_ = 0;
};

bool is_digit(Byte c) { return c >= '0' && c <= '9'; }

int hex_value(Byte c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// 2^1024 - 2^970, all 309 digits: halfway between DBL_MAX and 2^1024. A
// decimal at or above it rounds to infinity (at exactly halfway, to even,
// which is 2^1024), below it to a finite double.
constexpr std::string_view kOverflowDigits =
    "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977"
    "587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845"
    "817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559"
    "699508093042880177904174497792";
static_assert(kOverflowDigits.size() == 309);

// One pass over a payload, in the grammar of RFC 8259, with nlohmann's
// lexer's extra rules: UTF-8 is checked inside strings, \u escapes must pair
// surrogates, and a number must not overflow a double.
class Scanner {
 public:
  explicit Scanner(std::string_view text)
      : p_(reinterpret_cast<const Byte*>(text.data())), end_(p_ + text.size()) {}

  bool has_line_breaks() const { return line_breaks_; }

  bool scan() {
    NestingStack open;
    for (;;) {
      // A value starts here.
      skip_whitespace();
      if (p_ == end_) {
        return false;
      }
      switch (*p_) {
        case '{':
          ++p_;
          skip_whitespace();
          if (p_ != end_ && *p_ == '}') {
            ++p_;
            break;
          }
          open.push(true);
          if (!member_name()) {
            return false;
          }
          continue;
        case '[':
          ++p_;
          skip_whitespace();
          if (p_ != end_ && *p_ == ']') {
            ++p_;
            break;
          }
          open.push(false);
          continue;
        case '"':
          if (!string()) {
            return false;
          }
          break;
        case 't':
          if (!literal("true")) {
            return false;
          }
          break;
        case 'f':
          if (!literal("false")) {
            return false;
          }
          break;
        case 'n':
          if (!literal("null")) {
            return false;
          }
          break;
        default:
          if (!number()) {
            return false;
          }
          break;
      }
      // A value ended: close what it completes, up to the next value.
      for (;;) {
        skip_whitespace();
        if (open.empty()) {
          return p_ == end_;
        }
        if (p_ == end_) {
          return false;
        }
        const Byte c = *p_++;
        if (c == ',') {
          if (open.in_object() && !member_name()) {
            return false;
          }
          break;
        }
        if (c != (open.in_object() ? '}' : ']')) {
          return false;
        }
        open.pop();
      }
    }
  }

 private:
  void skip_whitespace() {
    while (p_ != end_) {
      const Byte c = *p_;
      if (c == ' ' || c == '\t') {
        ++p_;
      } else if (c == '\n' || c == '\r') {
        line_breaks_ = true;
        ++p_;
      } else {
        break;
      }
    }
  }

  // `"name" :`, whitespace allowed around it.
  bool member_name() {
    skip_whitespace();
    if (p_ == end_ || *p_ != '"' || !string()) {
      return false;
    }
    skip_whitespace();
    if (p_ == end_ || *p_ != ':') {
      return false;
    }
    ++p_;
    return true;
  }

  bool literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() ||
        std::string_view(reinterpret_cast<const char*>(p_), word.size()) != word) {
      return false;
    }
    p_ += word.size();
    return true;
  }

  // At the opening quote.
  bool string() {
    ++p_;
    for (;;) {
      while (p_ != end_ && !kSpecialInString[*p_]) {
        ++p_;
      }
      if (p_ == end_) {
        return false;
      }
      const Byte c = *p_;
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c == '\\') {
        if (!escape()) {
          return false;
        }
      } else if (c < 0x20) {
        return false;  // control characters must be escaped (RFC 8259 §7)
      } else {
        size_t bad = 0;
        const size_t n = utf8_sequence(p_, end_, &bad);
        if (n == 0) {
          return false;
        }
        p_ += n;
      }
    }
  }

  // At the backslash.
  bool escape() {
    if (end_ - p_ < 2) {
      return false;
    }
    switch (p_[1]) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
        p_ += 2;
        return true;
      case 'u':
        break;
      default:
        return false;
    }
    const int unit = hex4(p_ + 2);
    if (unit < 0) {
      return false;
    }
    p_ += 6;
    if (unit >= 0xDC00 && unit <= 0xDFFF) {
      return false;  // a low surrogate with no high one before it
    }
    if (unit < 0xD800 || unit > 0xDBFF) {
      return true;  // any other code unit, \u0000 included
    }
    // A high surrogate must be followed right away by an escaped low one.
    if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') {
      return false;
    }
    const int low = hex4(p_ + 2);
    if (low < 0xDC00 || low > 0xDFFF) {
      return false;
    }
    p_ += 6;
    return true;
  }

  // The code unit of 4 hex digits at `at`, or -1.
  int hex4(const Byte* at) const {
    if (end_ - at < 4) {
      return -1;
    }
    int unit = 0;
    for (int i = 0; i < 4; ++i) {
      const int h = hex_value(at[i]);
      if (h < 0) {
        return -1;
      }
      unit = unit * 16 + h;
    }
    return unit;
  }

  bool number() {
    if (*p_ == '-') {
      ++p_;
    }
    const Byte* int_begin = p_;
    if (p_ == end_ || !is_digit(*p_)) {
      return false;
    }
    if (*p_ == '0') {
      ++p_;  // no leading zeros: what follows a 0 ends the number
    } else {
      skip_digits();
    }
    const Byte* int_end = p_;
    const Byte* frac_end = p_;
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (p_ == end_ || !is_digit(*p_)) {
        return false;
      }
      skip_digits();
      frac_end = p_;
    }
    bool exp_negative = false;
    const Byte* exp_begin = p_;
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) {
        exp_negative = *p_ == '-';
        ++p_;
      }
      exp_begin = p_;
      if (p_ == end_ || !is_digit(*p_)) {
        return false;
      }
      skip_digits();
    }
    // The common case, a plain integer or decimal below 10^308, needs no
    // more thought.
    if (exp_begin == p_ && int_end - int_begin <= 308) {
      return true;
    }
    return !overflows_double(int_begin, int_end, frac_end, exp_negative, exp_begin, p_);
  }

  void skip_digits() {
    while (p_ != end_ && is_digit(*p_)) {
      ++p_;
    }
  }

  // nlohmann converts every number with strtoull/strtoll or, failing that,
  // strtod, and its parser refuses a double that came out infinite (error
  // 406). Decided here from the digits: with the first significant digit d
  // and scientific exponent x (value = d.ddd * 10^x), x < 308 is finite,
  // x > 308 is not, and at x == 308 the digits are compared with the
  // rounding threshold. The fraction digits lie between int_end and
  // frac_end, after the '.'.
  static bool overflows_double(const Byte* int_begin, const Byte* int_end, const Byte* frac_end,
                               bool exp_negative, const Byte* exp_begin, const Byte* exp_end) {
    // Saturated: any exponent beyond 10^12 decides alone, since no payload
    // has that many digits to offset it.
    constexpr int64_t kExpCap = 1'000'000'000'000;
    int64_t exp = 0;
    for (const Byte* q = exp_begin; q != exp_end; ++q) {
      exp = exp * 10 + (*q - '0');
      if (exp > kExpCap) {
        exp = kExpCap;
        break;
      }
    }
    if (exp_negative) {
      exp = -exp;
    }
    const Byte* first = nullptr;  // first significant digit
    int64_t x = 0;
    if (*int_begin != '0') {
      first = int_begin;
      x = (int_end - int_begin - 1) + exp;
    } else {
      for (const Byte* q = int_end + 1; q < frac_end; ++q) {
        if (*q != '0') {
          first = q;
          break;
        }
      }
      if (first == nullptr) {
        return false;  // zero, whatever the exponent
      }
      x = -(first - int_end) + exp;
    }
    if (x != 308) {
      return x > 308;
    }
    size_t i = 0;
    for (const Byte* q = first; q < frac_end && i < kOverflowDigits.size(); ++q) {
      if (*q == '.') {
        continue;
      }
      if (*q != static_cast<Byte>(kOverflowDigits[i])) {
        return *q > static_cast<Byte>(kOverflowDigits[i]);
      }
      ++i;
    }
    // All digits equal so far: at or above the threshold only if they cover
    // it all (its last digit is not 0, so a shorter prefix is below it).
    return i == kOverflowDigits.size();
  }

  const Byte* p_;
  const Byte* const end_;
  bool line_breaks_ = false;
};

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  const auto* p = reinterpret_cast<const Byte*>(s.data());
  const Byte* const end = p + s.size();
  out += '"';
  const Byte* run = p;  // start of bytes not yet appended
  while (p != end) {
    const Byte c = *p;
    if (!kSpecialInString[c]) {
      ++p;
      continue;
    }
    if (c >= 0x80) {
      size_t bad = 0;
      const size_t n = utf8_sequence(p, end, &bad);
      if (n != 0) {
        p += n;  // well-formed: stays in the run
        continue;
      }
      append_bytes(out, run, p);
      out += "\xEF\xBF\xBD";
      p += bad;
    } else {
      append_bytes(out, run, p);
      append_escape(out, c);
      ++p;
    }
    run = p;
  }
  append_bytes(out, run, p);
  out += '"';
}

bool scan_json_text(std::string_view text, bool* has_line_breaks) {
  Scanner scanner(text);
  const bool ok = scanner.scan();
  *has_line_breaks = scanner.has_line_breaks();
  return ok;
}

}  // namespace gw::uplink::internal
