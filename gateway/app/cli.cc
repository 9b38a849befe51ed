#include "gateway/app/cli.h"

#include <cstdio>
#include <string_view>

namespace gw::app {

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "version") {
    std::printf("edge-gateway %s\n", GW_VERSION);
    return 0;
  }
  std::fprintf(stderr, "usage: edge-gateway run --config FILE | check-config FILE | decode [FILE|-] | version\n");
  return 2;
}

}  // namespace gw::app
