# Cross-compiling for Debian/Raspberry Pi OS with Debian's cross toolchains
# (crossbuild-essential-<arch>) and multiarch -dev packages. Used by
# scripts/package --arch; GW_CROSS_TRIPLET is aarch64-linux-gnu or
# arm-linux-gnueabihf.
# try_compile() projects re-read this file; hand the triplet on to them.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES GW_CROSS_TRIPLET)
if(NOT GW_CROSS_TRIPLET)
  message(FATAL_ERROR "set GW_CROSS_TRIPLET (aarch64-linux-gnu, arm-linux-gnueabihf)")
endif()
set(CMAKE_SYSTEM_NAME Linux)
if(GW_CROSS_TRIPLET MATCHES "^aarch64")
  set(CMAKE_SYSTEM_PROCESSOR aarch64)
else()
  set(CMAKE_SYSTEM_PROCESSOR arm)
endif()
set(CMAKE_C_COMPILER ${GW_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${GW_CROSS_TRIPLET}-g++)
set(CMAKE_STRIP ${GW_CROSS_TRIPLET}-strip)
set(CMAKE_LIBRARY_ARCHITECTURE ${GW_CROSS_TRIPLET})
# Headers in /usr/include are shared by every architecture (multiarch);
# libraries and pkg-config files come from /usr/lib/<triplet>.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${GW_CROSS_TRIPLET}/pkgconfig:/usr/share/pkgconfig")
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-${CMAKE_SYSTEM_PROCESSOR})
