#!/usr/bin/env bash
# Configures and builds SRigL Studio into build/ (Ninja when present, ccache when present).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${SRIGL_BUILD_DIR:-build}
generator=()
if [ ! -f "$build_dir/CMakeCache.txt" ] && command -v ninja >/dev/null; then generator=(-G Ninja); fi
cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$build_dir" -j "$(nproc)"
