#!/usr/bin/env bash
# Configures and builds SRigL Studio into build/ (Ninja when present, ccache when present).
# Extra arguments go to the configure step (e.g. -DSRIGL_BUILD_TESTS=OFF).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${SRIGL_BUILD_DIR:-build}
generator=()
if [ ! -f "$build_dir/CMakeCache.txt" ] && command -v ninja >/dev/null; then generator=(-G Ninja); fi
cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "$@"
# SRIGL_TARGETS (space separated) limits the build, e.g. to `srigl` for the Quick start's first command.
targets=()
for t in ${SRIGL_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build_dir" -j "$(nproc)" "${targets[@]}"
