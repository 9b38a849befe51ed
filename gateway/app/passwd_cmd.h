// `edge-gateway passwd FILE USER [--iterations N]`: adds or updates one user
// of the broker's password file (format in gateway/broker/auth.h). The
// password is prompted twice without echo on a terminal, or read as the
// first line of stdin otherwise (scripts, CI). The file is replaced
// atomically (temporary file in the same folder, fsync, rename) with mode
// 0600. Main thread; blocks on stdin.
#pragma once

#include <string>
#include <vector>

namespace gw::app {

// Returns the exit code: 0 done, 1 I/O failure, 2 bad usage or a bad file.
int cmd_passwd(const std::vector<std::string>& args);

}  // namespace gw::app
