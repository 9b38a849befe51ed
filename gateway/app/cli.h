// The edge-gateway command line: subcommands run, check-config, decode,
// version. main() only forwards here so tests can link the same code.
#pragma once

namespace gw::app {

// Returns the process exit code: 0 success, 1 runtime failure, 2 bad usage
// or invalid configuration.
int main(int argc, char** argv);

}  // namespace gw::app
