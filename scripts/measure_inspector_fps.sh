#!/usr/bin/env bash
# Frames/s of the mask inspector in a real (Xvfb) window while the default session trains:
# runs test_inspector_gl's measurements N times (default 3) and prints the machine's load around
# each run, since other work on the same cores changes the figure. The second measurement is the
# live one (a mask update published by the trainer until the frame that shows it); here it checks
# the targets (30 fps, median latency within a frame), which ctest's run of it only reports.
# Usage: scripts/measure_inspector_fps.sh [build-dir] [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}
runs=${2:-3}
bin="$build_dir/bin/test_inspector_gl"
[ -x "$bin" ] || { echo "measure_inspector_fps: $bin not built (target test_inspector_gl)" >&2; exit 2; }
command -v xvfb-run >/dev/null || { echo "measure_inspector_fps: needs xvfb-run" >&2; exit 2; }
for i in $(seq "$runs"); do
  echo "run $i: before: $(uptime)"
  xvfb-run -a -s "-screen 0 1920x1200x24" env QT_QPA_PLATFORM=xcb "$bin" inspectorKeepsRenderingWhileTraining 2>&1 |
    grep -E "inspector while training|FAIL|saturated" || true
  xvfb-run -a -s "-screen 0 1920x1200x24" env QT_QPA_PLATFORM=xcb SRIGL_CHECK_FRAME_TARGETS=1 "$bin" \
    liveMaskReachesTheInspectorWithinAFrame 2>&1 | grep -E "live mask to inspector|FAIL|Loc" || true
  echo "run $i: after: $(uptime)"
done
