#!/usr/bin/env bash
# Builds the .deb from the already-built tree with cpack (no rebuild), then
# checks what dpkg-deb reports: metadata and Debian dependencies, conffiles,
# maintainer scripts, the installed file list; runs the packaged binary on the
# packaged config; and runs lintian when it is installed (errors fail).
# Exit 77 (skip) without dpkg-deb or cpack.
set -euo pipefail
src=$1 build=$2
command -v dpkg-deb >/dev/null && command -v cpack >/dev/null || { echo "SKIP: no dpkg-deb/cpack"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

(cd "$build" && cpack -G DEB -B "$tmp/out" >"$tmp/cpack.log" 2>&1) || { cat "$tmp/cpack.log"; fail "cpack"; }
deb=$(ls "$tmp"/out/edge-gateway_*.deb)
echo "built $(basename "$deb") ($(stat -c %s "$deb") bytes)"

info=$(dpkg-deb --info "$deb")
echo "$info" | grep -q '^ Package: edge-gateway$' || fail "package name"
echo "$info" | grep -q "^ Architecture: $(dpkg --print-architecture)$" || fail "architecture"
depends=$(echo "$info" | sed -n 's/^ Depends: //p')
for lib in libpaho-mqttpp3-1 libsqlite3-0 libyaml-cpp0.7 libssl3 zlib1g libdeflate0 libmimalloc2.0 libcpp-httplib0.11 libc6; do
  echo "$depends" | grep -q "$lib" || fail "Depends lacks $lib: $depends"
done
# sd_notify is spoken without libsystemd (gateway/app/sd_notify.h).
if echo "$depends" | grep -q libsystemd0; then fail "Depends has libsystemd0: $depends"; fi
echo "$info" | grep -q 'conffiles' || fail "no conffiles"
for s in postinst prerm postrm; do echo "$info" | grep -q " $s" || fail "no $s"; done

dpkg-deb --ctrl-tarfile "$deb" | tar -x -C "$tmp" ./conffiles ./postinst
grep -qx /etc/edge-gateway/gateway.yaml "$tmp/conffiles" || fail "gateway.yaml is not a conffile"
grep -q 'systemd-sysusers' "$tmp/postinst" || fail "postinst does not create the user"
grep -q 'deb-systemd-helper enable' "$tmp/postinst" || fail "postinst does not enable the unit"
if grep -q 'systemctl start\|deb-systemd-invoke start' "$tmp/postinst"; then fail "postinst starts the service"; fi

contents=$(dpkg-deb --contents "$deb" | awk '{print $1 " " $NF}')
for f in ./usr/bin/edge-gateway ./lib/systemd/system/edge-gateway.service ./usr/lib/sysusers.d/edge-gateway.conf \
         ./usr/lib/tmpfiles.d/edge-gateway.conf ./etc/edge-gateway/gateway.yaml ./usr/share/doc/edge-gateway/README.md \
         ./usr/share/doc/edge-gateway/copyright; do
  echo "$contents" | grep -q " $f$" || fail "missing $f"
done
echo "$contents" | grep -q '^-rwxr-xr-x ./usr/bin/edge-gateway$' || fail "binary not 0755"

# The packaged binary accepts the packaged default config.
dpkg-deb -x "$deb" "$tmp/root"
"$tmp/root/usr/bin/edge-gateway" check-config "$tmp/root/etc/edge-gateway/gateway.yaml" || fail "default config invalid"
file "$tmp/root/usr/bin/edge-gateway" 2>/dev/null | grep -q 'stripped' || true

if command -v lintian >/dev/null; then
  lintian --no-tag-display-limit "$deb" > "$tmp/lintian.log" 2>&1 || true
  cat "$tmp/lintian.log"
  if grep -q '^E: ' "$tmp/lintian.log"; then fail "lintian errors"; fi
else
  echo "note: lintian not installed; skipped (apt-get install lintian)"
fi
echo "PASS"
