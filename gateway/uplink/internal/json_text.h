// JSON text helpers for the envelope: writing a string literal and checking
// that a device payload is one JSON text, without building a DOM. Private to
// gw_uplink (envelope.cc); the tests compare both against nlohmann::json.
//
// They replace nlohmann on the encode path, and their output is pinned to
// what the envelope produced with nlohmann 3.11 (dump(-1, ' ', false,
// error_handler_t::replace) and json::accept), so lines stay byte for byte the
// same. Pure functions: thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace gw::uplink::internal {

// Appends `s` as a JSON string literal, quotes included. Escapes '"', '\\',
// \b \f \n \r \t and other bytes below 0x20 as \u00xx (lowercase hex); DEL
// and well-formed UTF-8 pass through. Each ill-formed UTF-8 piece becomes one
// U+FFFD: a byte that cannot start a sequence (80..C1, F5..FF), or a valid
// start plus its valid continuation bytes up to the byte that breaks it
// (which is then read again on its own) or up to the end of `s`: Unicode's
// "maximal subpart" practice, which is what nlohmann's decoder amounts to.
void append_json_string(std::string& out, std::string_view s);

// Whether `text` is exactly one JSON text (RFC 8259: any value, optional
// whitespace around it) that nlohmann::json::accept accepts, and also has no
// NUL byte and no byte order mark (accept takes NUL for the end of input and
// skips a BOM; neither can be spliced into a line). Like accept, a number
// whose magnitude rounds to infinity as a double is refused. Nesting depth is
// limited only by memory (no recursion). When it returns true,
// `*has_line_breaks` tells whether the text contains CR or LF (which can only
// be whitespace between tokens then); otherwise it is unspecified.
bool scan_json_text(std::string_view text, bool* has_line_breaks);

}  // namespace gw::uplink::internal
