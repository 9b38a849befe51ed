# Sourced by scripts/package and scripts/cross-test: CMake arguments for a
# cross build with Debian's cross toolchain and multiarch -dev packages.
#   cross_cmake_args ARCH BUILD_DIR   # sets cross_args=(...) and cross_triplet; returns 1
#                                     # with a message on stderr when something is missing
# Packages (scripts/setup --cross ARCH installs them):
#   crossbuild-essential-ARCH qemu-user and the :ARCH variants of cross_packages below.
. "$(dirname "${BASH_SOURCE[0]}")/packages.sh"
cross_packages=(libpaho-mqtt-dev libpaho-mqttpp-dev libsqlite3-dev libspdlog-dev libfmt-dev zlib1g-dev libdeflate-dev libmimalloc-dev libssl-dev
                libcpp-httplib-dev libyaml-cpp0.7)
cross_test_packages=(libgtest-dev libgmock-dev)

cross_triplet_of() {
  case "$1" in
    arm64) echo aarch64-linux-gnu ;;
    armhf) echo arm-linux-gnueabihf ;;
    *) return 1 ;;
  esac
}

cross_cmake_args() {
  local arch=$1 build_dir=$2; shift 2
  cross_triplet=$(cross_triplet_of "$arch") || { echo "unsupported architecture $arch (arm64, armhf)" >&2; return 1; }
  if ! command -v "$cross_triplet-g++" >/dev/null; then
    echo "no $cross_triplet-g++ (crossbuild-essential-$arch; scripts/setup --cross $arch installs it)" >&2
    return 1
  fi
  local missing=() p
  for p in "${cross_packages[@]}" "$@"; do
    pkg_installed "$p:$arch" || missing+=("$p:$arch")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "missing multiarch packages: ${missing[*]} (scripts/setup --cross $arch installs them)" >&2
    return 1
  fi
  # libyaml-cpp-dev is not Multi-Arch: same: installing the :ARCH one would
  # remove the host's. Unpack it into the build folder instead.
  local yaml=$PWD/$build_dir/yaml-cpp-$arch
  if [ ! -f "$yaml/usr/lib/$cross_triplet/cmake/yaml-cpp/yaml-cpp-config.cmake" ]; then
    mkdir -p "$yaml"
    (cd "$yaml" && apt-get download "libyaml-cpp-dev:$arch" >/dev/null && dpkg-deb -x libyaml-cpp-dev_*.deb .) || {
      echo "could not fetch libyaml-cpp-dev:$arch" >&2
      return 1
    }
    cp -a /usr/lib/"$cross_triplet"/libyaml-cpp.so.0.7* "$yaml/usr/lib/$cross_triplet/"
  fi
  cross_args=(-Dyaml-cpp_DIR="$yaml/usr/lib/$cross_triplet/cmake/yaml-cpp"
              -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/debian-cross.cmake" -DGW_CROSS_TRIPLET="$cross_triplet")
}
