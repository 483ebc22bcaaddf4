#!/usr/bin/env bash
# Quick start, first command: installs the Debian packages, builds, and runs the main job, the
# built-in default session (SRigL 90% LeNet-300-100 on the synthetic digits). Extra arguments go
# to `srigl train` (e.g. --set epochs=10).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
SRIGL_TARGETS=srigl bash scripts/build.sh
exec build/bin/srigl train "$@"
