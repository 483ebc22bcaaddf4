#!/usr/bin/env bash
# Quick start, first command: installs the Debian packages, builds, and runs the main job, the
# built-in default session (SRigL 90% LeNet-300-100 on the synthetic digits): in the Studio when
# there is a display, else the same session headless with `srigl train` (progress bar, summary).
# SRIGL_HEADLESS=1 forces the headless job. Extra arguments go to `srigl train` when headless.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
SRIGL_TARGETS=srigl bash scripts/build.sh
if [ -z "${SRIGL_HEADLESS:-}" ] && { [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; }; then
  if cmake --build build --target help | grep -q '^srigl-studio:'; then
    cmake --build build -j "$(nproc)" --target srigl-studio
    exec build/bin/srigl-studio --demo
  fi
  echo "run: the Studio is not part of this build (Qt 6 Widgets/Charts missing?); running the session headless" >&2
fi
exec build/bin/srigl train "$@"
