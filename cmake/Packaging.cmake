# Install layout and the Debian package (CPack DEB). Included from the top
# CMakeLists.txt. `cmake --install build --prefix /usr` (what the .deb uses)
# gives:
#   /usr/bin/edge-gateway
#   /lib/systemd/system/edge-gateway.service      (Debian 12 unit folder)
#   /usr/lib/sysusers.d/edge-gateway.conf, /usr/lib/tmpfiles.d/edge-gateway.conf
#   /etc/edge-gateway/gateway.yaml                 (a conffile: kept on upgrade)
#   /usr/share/doc/edge-gateway/                   README, examples, copyright
# The unit, sysusers/tmpfiles entries and /etc stay where systemd and dpkg
# look for them whatever the prefix (GW_UNIT_DIR, GW_SYSTEMD_LIBDIR and
# GW_SYSCONF_DIR override them, e.g. for a staging root).
include(GNUInstallDirs)
set(GW_DEB_MAINTAINER "edge-gateway maintainers <edge-gateway@example.org>" CACHE STRING "Maintainer: of the .deb")

# Absolute by default: systemd and dpkg look there whatever the prefix.
set(GW_UNIT_DIR "/lib/systemd/system" CACHE PATH "systemd system unit folder (Debian 12)")
set(GW_SYSTEMD_LIBDIR "/usr/lib" CACHE PATH "folder holding sysusers.d and tmpfiles.d")
set(GW_SYSCONF_DIR "/etc" CACHE PATH "folder holding edge-gateway/gateway.yaml")

install(TARGETS edge-gateway RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES systemd/edge-gateway.service DESTINATION ${GW_UNIT_DIR})
install(FILES systemd/edge-gateway.sysusers DESTINATION ${GW_SYSTEMD_LIBDIR}/sysusers.d RENAME edge-gateway.conf)
install(FILES systemd/edge-gateway.tmpfiles DESTINATION ${GW_SYSTEMD_LIBDIR}/tmpfiles.d RENAME edge-gateway.conf)
install(FILES config/gateway.production.yaml DESTINATION ${GW_SYSCONF_DIR}/edge-gateway RENAME gateway.yaml
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES systemd/debian/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY config/examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples FILES_MATCHING PATTERN "*.yaml")
install(FILES config/gateway.yaml DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples RENAME gateway.demo.yaml)
# Debian wants a compressed changelog next to the copyright (gzip -n: no
# timestamp, so the package is reproducible).
set(GW_DEB_CHANGELOG ${PROJECT_BINARY_DIR}/debian-changelog/changelog.Debian)
file(WRITE ${GW_DEB_CHANGELOG}
     "edge-gateway (${PROJECT_VERSION}-1) unstable; urgency=medium\n\n"
     "  * Release ${PROJECT_VERSION}. History: git log of the source tree.\n\n"
     " -- ${GW_DEB_MAINTAINER}  Sun, 22 Nov 2026 00:00:00 +0000\n")
execute_process(COMMAND gzip -9 -n -f ${GW_DEB_CHANGELOG})
install(FILES ${GW_DEB_CHANGELOG}.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})

# ---------------------------------------------------------------- CPack (DEB)
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "edge-gateway")
set(CPACK_PACKAGE_VENDOR "edge-gateway")
set(CPACK_PACKAGE_CONTACT "${GW_DEB_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "MQTT edge gateway: device broker, durable queue, cloud uplinks")
set(CPACK_PACKAGE_DESCRIPTION
    "edge-gateway accepts MQTT 3.1.1/5.0 from field devices, routes each message,\n"
    "stores it durably in SQLite before acknowledging it, and forwards it in\n"
    "compressed batches to cloud IoT services, riding out outages.")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_RELEASE "1")
# dpkg-shlibdeps turns the binary's NEEDED libraries into Debian package names
# (libpaho-mqttpp3-1, libsqlite3-0, libyaml-cpp0.7, libssl3, ...). Cross
# builds without the target's dpkg database fall back to the list below.
if(NOT DEFINED GW_DEB_SHLIBDEPS)
  set(GW_DEB_SHLIBDEPS ON)
endif()
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ${GW_DEB_SHLIBDEPS})
# systemd: the unit, systemd-sysusers and systemd-tmpfiles in postinst.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd")
if(NOT GW_DEB_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS
      "systemd, libc6, libstdc++6, libgcc-s1, libpaho-mqttpp3-1, libpaho-mqtt1.3, libsqlite3-0, libyaml-cpp0.7, libspdlog1.10-fmt9, libfmt9, zlib1g, libdeflate0, libmimalloc2.0, libssl3, libcpp-httplib0.11")
endif()
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "mosquitto-clients")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${PROJECT_SOURCE_DIR}/systemd/debian/postinst;${PROJECT_SOURCE_DIR}/systemd/debian/prerm;${PROJECT_SOURCE_DIR}/systemd/debian/postrm;${PROJECT_BINARY_DIR}/debian-conffiles/conffiles")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# /etc/edge-gateway/gateway.yaml is the user's file after installation.
file(WRITE ${PROJECT_BINARY_DIR}/debian-conffiles/conffiles "/etc/edge-gateway/gateway.yaml\n")
if(DEFINED GW_DEB_ARCH)
  set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${GW_DEB_ARCH})
endif()
include(CPack)
