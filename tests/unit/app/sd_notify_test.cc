// sd_notify without libsystemd: the datagram reaches a socket named by
// NOTIFY_SOCKET (path and abstract), and WATCHDOG_USEC/WATCHDOG_PID are read
// as sd_watchdog_enabled(3) does.
#include "gateway/app/sd_notify.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <string>

#include "tests/support/process.h"

namespace gw::app {
namespace {

// A datagram socket bound at `name` ("/path" or "@abstract"); receives what
// notify() sends.
class Listener {
 public:
  explicit Listener(const std::string& name) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, name.data(), name.size());
    if (name[0] == '@') addr.sun_path[0] = '\0';
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() + (name[0] == '@' ? 0 : 1));
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len), 0) << std::strerror(errno);
    timeval tv{2, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
  }
  ~Listener() {
    ::close(fd_);
    ::unsetenv("NOTIFY_SOCKET");
  }
  std::string receive() {
    char buf[256];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n < 0 ? std::string("<nothing>") : std::string(buf, static_cast<size_t>(n));
  }

 private:
  int fd_ = -1;
};

TEST(OpsSdNotify, SendsTheStateToAPathSocket) {
  gw::testing::TempDir dir;
  Listener l((dir.path() / "notify").string());
  EXPECT_TRUE(sd::notify("READY=1"));
  EXPECT_EQ(l.receive(), "READY=1");
  EXPECT_TRUE(sd::notify("WATCHDOG=1"));
  EXPECT_EQ(l.receive(), "WATCHDOG=1");
}

TEST(OpsSdNotify, SendsTheStateToAnAbstractSocket) {
  Listener l("@gw-notify-test-" + std::to_string(::getpid()));
  EXPECT_TRUE(sd::notify("STOPPING=1"));
  EXPECT_EQ(l.receive(), "STOPPING=1");
}

TEST(OpsSdNotify, DoesNothingOutsideSystemd) {
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_FALSE(sd::notify("READY=1"));
  ::setenv("NOTIFY_SOCKET", "relative/path", 1);
  EXPECT_FALSE(sd::notify("READY=1"));
  ::unsetenv("NOTIFY_SOCKET");
}

TEST(OpsSdNotify, WatchdogIntervalFollowsWatchdogUsecAndPid) {
  using std::chrono::microseconds;
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
  EXPECT_EQ(sd::watchdog_interval(), microseconds(0));
  ::setenv("WATCHDOG_USEC", "30000000", 1);
  EXPECT_EQ(sd::watchdog_interval(), microseconds(30'000'000));
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  EXPECT_EQ(sd::watchdog_interval(), microseconds(30'000'000));
  ::setenv("WATCHDOG_PID", "1", 1);  // meant for another process
  EXPECT_EQ(sd::watchdog_interval(), microseconds(0));
  ::unsetenv("WATCHDOG_PID");
  ::setenv("WATCHDOG_USEC", "30s", 1);
  EXPECT_EQ(sd::watchdog_interval(), microseconds(0));
  ::unsetenv("WATCHDOG_USEC");
}

}  // namespace
}  // namespace gw::app
