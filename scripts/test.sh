#!/usr/bin/env bash
# Quick start, second command: installs the Debian packages, builds, and runs every test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh -DSRIGL_BUILD_TESTS=ON
cd "${SRIGL_BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc)" "$@"
