// libFuzzer target: the envelope's JSON text helpers against nlohmann::json,
// which they replaced on the encode path and must agree with exactly. The
// input is both a candidate payload (scan_json_text must say what
// json::accept says, given no NUL and no BOM) and a string to write
// (append_json_string must give what dump(..., replace) gives).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "gateway/uplink/internal/json_text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  const bool expected = !in.empty() && in.substr(0, 3) != "\xEF\xBB\xBF" &&
                        in.find('\0') == std::string_view::npos &&
                        nlohmann::json::accept(in.begin(), in.end());
  bool line_breaks = false;
  if (gw::uplink::internal::scan_json_text(in, &line_breaks) != expected) abort();
  if (expected && line_breaks != (in.find_first_of("\r\n") != std::string_view::npos)) abort();

  std::string ours;
  gw::uplink::internal::append_json_string(ours, in);
  const std::string theirs =
      nlohmann::json(std::string(in)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (ours != theirs) abort();
  return 0;
}
