#!/usr/bin/env bash
# Quick start, second command: installs the Debian packages, builds, and runs every test suite;
# then builds the libFuzzer targets (fuzz/, clang) in build-fuzz and runs each for a bounded count.
# Arguments go to the main ctest (e.g. -R test_data_loaders). The fuzz stage runs when no arguments
# are given (and not with SRIGL_SANITIZE=1), or with SRIGL_FUZZ=1; SRIGL_FUZZ=0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh -DSRIGL_BUILD_TESTS=ON

# build.sh builds a SRIGL_SANITIZE=1 tree into build-asan/ unless SRIGL_BUILD_DIR says otherwise.
default_dir=build
if [ "${SRIGL_SANITIZE:-0}" = 1 ]; then default_dir=build-asan; fi
status=0
(cd "${SRIGL_BUILD_DIR:-$default_dir}" && ctest --output-on-failure -j "$(nproc)" "$@") || status=$?

# The fuzz targets carry their own sanitizers: a sanitizer run of the suite skips them by default.
run_fuzz=${SRIGL_FUZZ:-auto}
if [ "$run_fuzz" = auto ]; then
  run_fuzz=$([ $# -eq 0 ] && [ "${SRIGL_SANITIZE:-0}" != 1 ] && echo 1 || echo 0)
fi
if [ "$run_fuzz" = 1 ]; then
  # A second build of only the readers (each fuzz target compiles its few sources; the engine, the
  # CLI and the tests are configured there but never built): about a minute, plus a minute of runs.
  fuzz_dir=${SRIGL_FUZZ_BUILD_DIR:-build-fuzz}
  generator=()
  if [ ! -f "$fuzz_dir/CMakeCache.txt" ] && command -v ninja >/dev/null; then generator=(-G Ninja); fi
  CC=clang CXX=clang++ cmake -S . -B "$fuzz_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DSRIGL_FUZZ=ON -DSRIGL_BUILD_GUI=OFF -DSRIGL_BUILD_TESTS=OFF >/dev/null
  cmake --build "$fuzz_dir" -j "$(nproc)" --target fuzz
  (cd "$fuzz_dir" && ctest -L fuzz --output-on-failure -j "$(nproc)") || status=$?
fi
exit "$status"
