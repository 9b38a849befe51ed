#include "gateway/app/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

namespace gw::app::sd {
namespace {

// A non-negative integer spanning the whole of `text`.
bool parse_u64(const char* text, uint64_t& out) {
  if (text == nullptr || *text == '\0') return false;
  const char* end = text + std::strlen(text);
  const auto [p, ec] = std::from_chars(text, end, out);
  return ec == std::errc() && p == end;
}

}  // namespace

bool notify(std::string_view state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || path[0] == '\0') return false;
  const size_t len = std::strlen(path);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // '/' for a path, '@' for the abstract namespace (a leading NUL byte).
  if ((path[0] != '/' && path[0] != '@') || len >= sizeof(addr.sun_path)) return false;
  std::memcpy(addr.sun_path, path, len);
  if (path[0] == '@') addr.sun_path[0] = '\0';
  const socklen_t addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len + (path[0] == '@' ? 0 : 1));

  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const ssize_t sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                                reinterpret_cast<const sockaddr*>(&addr), addr_len);
  ::close(fd);
  return sent == static_cast<ssize_t>(state.size());
}

std::chrono::microseconds watchdog_interval() {
  uint64_t usec = 0;
  if (!parse_u64(std::getenv("WATCHDOG_USEC"), usec) || usec == 0) return std::chrono::microseconds(0);
  if (const char* pid_text = std::getenv("WATCHDOG_PID"); pid_text != nullptr) {
    uint64_t pid = 0;
    if (!parse_u64(pid_text, pid) || pid != static_cast<uint64_t>(::getpid())) return std::chrono::microseconds(0);
  }
  return std::chrono::microseconds(usec);
}

}  // namespace gw::app::sd
