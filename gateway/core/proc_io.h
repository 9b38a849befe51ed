// Counters from Linux's /proc/<pid>/io for this process or the calling
// thread: what reached the block layer (write_bytes), write() calls (syscw).
#pragma once

#include <cstdint>
#include <string_view>

namespace gw {

enum class IoScope { kProcess, kThread };

// The value of `field` ("write_bytes", "syscw", ...), or 0 when the file or
// the field is missing.
uint64_t io_counter(IoScope scope, std::string_view field);

}  // namespace gw
