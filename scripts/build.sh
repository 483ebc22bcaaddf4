#!/usr/bin/env bash
# Configures and builds SRigL Studio into build/ (Ninja when present, ccache when present).
# Extra arguments go to the configure step (e.g. -DSRIGL_BUILD_TESTS=OFF).
# SRIGL_SANITIZE=1 builds with AddressSanitizer + UndefinedBehaviorSanitizer into build-asan/
# (or $SRIGL_BUILD_DIR): the same tree, instrumented, for `SRIGL_SANITIZE=1 bash scripts/test.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=()
if [ "${SRIGL_SANITIZE:-0}" = 1 ]; then
  build_dir=${SRIGL_BUILD_DIR:-build-asan}
  # RelWithDebInfo: reports with file and line; frame pointers for whole stacks. Precompiled
  # headers stay on (the flags are the same for the header and its users).
  sanitize=(-DCMAKE_BUILD_TYPE=RelWithDebInfo
            "-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
            "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG"
            "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined")
else
  build_dir=${SRIGL_BUILD_DIR:-build}
fi
generator=()
if [ ! -f "$build_dir/CMakeCache.txt" ] && command -v ninja >/dev/null; then generator=(-G Ninja); fi
cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "${sanitize[@]}" "$@"
# SRIGL_TARGETS (space separated) limits the build, e.g. to `srigl` for the Quick start's first command.
targets=()
for t in ${SRIGL_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build_dir" -j "$(nproc)" "${targets[@]}"
