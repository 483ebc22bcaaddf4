#!/usr/bin/env bash
# Packs, from this Debian machine's installed -dev packages, what the engine + CLI build needs and a
# machine without them (the GPU machine: no network, no package manager we may use) may lack:
# the header-only nlohmann/json and CLI11, and SQLite, zstd and zlib as headers + static libraries.
# Usage: bash scripts/pack_deps_bundle.sh [DIR]   (default .deps/bundle, which git ignores)
# scripts/build_cuda.sh uses the bundle only for what the machine itself lacks.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.deps/bundle}
multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
need() {
  for f in "$@"; do
    [ -e "$f" ] || { echo "pack_deps_bundle: $f is missing; install the Debian -dev packages of scripts/setup.sh" >&2; exit 1; }
  done
}
headers=(/usr/include/nlohmann /usr/include/CLI /usr/include/sqlite3.h /usr/include/sqlite3ext.h
         /usr/include/zstd.h /usr/include/zstd_errors.h /usr/include/zdict.h /usr/include/zlib.h
         /usr/include/zconf.h)
libs=(/usr/lib/$multiarch/libsqlite3.a /usr/lib/$multiarch/libzstd.a /usr/lib/$multiarch/libz.a)
need "${headers[@]}" "${libs[@]}"
rm -rf "$out"
mkdir -p "$out/include" "$out/lib"
cp -r "${headers[@]}" "$out/include/"
cp "${libs[@]}" "$out/lib/"
{
  echo "Packed on $(date -u +%F) from Debian packages:"
  dpkg-query -W -f '  ${Package} ${Version}\n' nlohmann-json3-dev libcli11-dev libsqlite3-dev libzstd-dev zlib1g-dev 2>/dev/null
} > "$out/PACKED_FROM"
echo "bundle: $out ($(du -sh "$out" | cut -f1))"
