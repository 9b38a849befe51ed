#include "gateway/core/proc_io.h"

#include <fstream>
#include <string>

namespace gw {

uint64_t io_counter(IoScope scope, std::string_view field) {
  std::ifstream in(scope == IoScope::kThread ? "/proc/thread-self/io" : "/proc/self/io");
  std::string key;
  uint64_t value = 0;
  while (in >> key >> value) {
    // Lines read "write_bytes: 123".
    if (key.size() == field.size() + 1 && key.back() == ':' && key.compare(0, field.size(), field) == 0) {
      return value;
    }
  }
  return 0;
}

}  // namespace gw
