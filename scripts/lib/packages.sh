# Sourced by scripts/setup and scripts/lib/cross.sh.
# pkg_installed NAME[:ARCH]: true when dpkg has that package installed.
pkg_installed() {
  dpkg-query -W -f='${db:Status-Status}\n' "$1" 2>/dev/null | grep -qx installed
}
