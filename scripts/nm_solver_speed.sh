#!/usr/bin/env bash
# Speed of the transposable N:M tile solvers, whole layer (default 3072 x 768, Gaussian), best of
# $REPEATS, 1 and 2 threads: prints a markdown table of tiles per second (docs/results.md, N:M
# section). SRC=path/to/a/source/tree times another version of engine/nm (e.g. a copy of the
# previous one). Compiles scripts/nm_solver_speed.cpp with the engine/nm sources against LibTorch, at
# -O3 like the Release build.
set -euo pipefail
cd "$(dirname "$0")/.."
src=${SRC:-.}
out=${OUT_DIR:-/tmp}/nm_solver_speed_$$
torch_prefix=${TORCH_PREFIX:-/usr}
sources=()
for f in transposable_mask nm_layout tile_exhaustive tile_greedy tile_min_cost_flow tile_repair; do
  sources+=("$src/engine/nm/$f.cpp")
done
g++ -O3 -std=c++17 -DNDEBUG -I"$src" -I"$torch_prefix/include" -I"$torch_prefix/include/torch/csrc/api/include" \
  scripts/nm_solver_speed.cpp "${sources[@]}" -o "$out" -L"$torch_prefix/lib" -ltorch -ltorch_cpu -lc10 -pthread
trap 'rm -f "$out"' EXIT
"$out" "${ROWS:-3072}" "${COLS:-768}" "${REPEATS:-3}"
