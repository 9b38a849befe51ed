#include "gateway/app/passwd_cmd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include "gateway/broker/auth.h"

namespace gw::app {
namespace {

constexpr int kOk = 0;
constexpr int kFailure = 1;
constexpr int kUsage = 2;

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "edge-gateway passwd: %s\n", message.c_str());
  return code;
}

// One line from the terminal with echo off (restored even on EOF).
std::optional<std::string> prompt_no_echo(const char* prompt) {
  std::fputs(prompt, stderr);
  std::fflush(stderr);
  termios old{};
  const bool tty = tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    termios quiet = old;
    quiet.c_lflag &= static_cast<tcflag_t>(~ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  const bool ok = static_cast<bool>(std::getline(std::cin, line));
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    std::fputs("\n", stderr);
  }
  if (!ok) return std::nullopt;
  return line;
}

std::optional<std::string> read_password() {
  if (isatty(STDIN_FILENO) == 0) {
    std::string line;
    if (!std::getline(std::cin, line)) return std::nullopt;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  }
  auto first = prompt_no_echo("Password: ");
  if (!first) return std::nullopt;
  auto again = prompt_no_echo("Password again: ");
  if (!again || *again != *first) {
    std::fputs("edge-gateway passwd: the passwords differ\n", stderr);
    return std::nullopt;
  }
  return first;
}

// Writes `text` to `path` through a temporary file and rename(2), so a
// reader sees the old or the new file, never a part. Mode 0600.
int write_atomically(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  std::string tmpl = (dir / ("." + path.filename().string() + ".XXXXXX")).string();
  const int fd = mkstemp(tmpl.data());  // created 0600
  if (fd < 0) return fail(kFailure, "cannot create a temporary file in " + dir.string() + ": " + std::strerror(errno));
  size_t done = 0;
  bool ok = true;
  while (ok && done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && fchmod(fd, 0600) == 0 && fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok || std::rename(tmpl.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(ok ? errno : saved);
    ::unlink(tmpl.c_str());
    return fail(kFailure, "cannot write " + path.string() + ": " + why);
  }
  // The rename is durable once the folder is synced.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    (void)fsync(dfd);
    ::close(dfd);
  }
  return kOk;
}

}  // namespace

int cmd_passwd(const std::vector<std::string>& args) {
  std::vector<std::string> positional;
  uint32_t iterations = broker::kDefaultPbkdf2Iterations;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--iterations" && i + 1 < args.size()) {
      const std::string& v = args[++i];
      const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), iterations);
      if (ec != std::errc() || p != v.data() + v.size() || iterations < 1000) {
        return fail(kUsage, "--iterations takes a number of at least 1000");
      }
    } else {
      positional.push_back(args[i]);
    }
  }
  if (positional.size() != 2) return fail(kUsage, "usage: edge-gateway passwd FILE USER [--iterations N]");
  const std::filesystem::path path = positional[0];
  const std::string& user = positional[1];

  broker::PasswordFile file;
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    auto loaded = broker::PasswordFile::load(path.string());
    if (!loaded.is_ok()) return fail(kUsage, loaded.status().message());
    file = std::move(loaded).value();
  }
  const std::optional<std::string> password = read_password();
  if (!password) return fail(kUsage, "no password given");
  if (password->empty()) return fail(kUsage, "the password must not be empty");
  auto hash = broker::hash_password(*password, iterations);
  if (!hash.is_ok()) return fail(kFailure, hash.status().message());
  const bool existed = file.find(user) != nullptr;
  if (Status s = file.set(user, hash.value()); !s.is_ok()) return fail(kUsage, s.message());
  if (const int rc = write_atomically(path, file.to_text()); rc != kOk) return rc;
  std::fprintf(stderr, "%s user '%s' in %s\n", existed ? "updated" : "added", user.c_str(), path.c_str());
  return kOk;
}

}  // namespace gw::app
