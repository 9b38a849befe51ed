// Helpers for writing wire bytes in tests: bytes({0x30, 'a', ...}).
#pragma once

#include <initializer_list>
#include <string>

#include "gateway/mqtt/codec.h"

namespace gw::mqtt::testing {

inline std::string bytes(std::initializer_list<int> values) {
  std::string s;
  s.reserve(values.size());
  for (int v : values) s.push_back(static_cast<char>(v));
  return s;
}

// "30 07 00 03 ..." for readable failure messages.
inline std::string hex(const std::string& s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    if (!out.empty()) out.push_back(' ');
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

}  // namespace gw::mqtt::testing
