#!/usr/bin/env bash
# Training overhead of transposable N:M masks against dense, measured in one process
# (scripts/nm_overhead_interleaved.cpp: a dense and a method Trainer take steps alternately, thread
# CPU time per step, median of the per-window ratios, one mask update per window). LeNet-300-100,
# batch 128, 1 thread, masks every $EVERY (40) steps, $STEPS (480) counted steps after one warm-up
# window. Needs a build of the engine (BUILD=build: $BUILD/lib/libsrigl_engine.a).
# DATASETS="synthetic mnist" (MNIST only when data/mnist exists). Prints a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
steps=${STEPS:-480}
every=${EVERY:-40}
datasets=${DATASETS:-synthetic mnist}
out=${OUT_DIR:-/tmp}/nm_overhead_interleaved_$$
torch_prefix=${TORCH_PREFIX:-/usr}
gloo=$(ls /usr/lib/*/libgloo.so* >/dev/null 2>&1 && echo -lgloo || true)
g++ -O2 -std=c++17 -DNDEBUG -I. -I"$torch_prefix/include" -I"$torch_prefix/include/torch/csrc/api/include" \
  scripts/nm_overhead_interleaved.cpp "$build/lib/libsrigl_engine.a" -o "$out" -L"$torch_prefix/lib" \
  -lopencv_imgproc -lopencv_core -ltorch -ltorch_cpu -lc10 $gloo -lz -ldl -pthread
trap 'rm -f "$out"' EXIT
echo "| dataset | method | dense CPU ms per step | method CPU ms per step | overhead: median window (quartiles) | whole run |"
echo "|---|---|---|---|---|---|"
for dataset in $datasets; do
  data=(dataset="$dataset")
  if [ "$dataset" = mnist ]; then
    [ -f data/mnist/train-images-idx3-ubyte ] || { echo "(no data/mnist: skipping MNIST)" >&2; continue; }
    data+=(data_dir=data/mnist)
  fi
  for row in "straight-through only (mask never recomputed)|nm=4:8 nm_update_every=1000000000" \
             "2:4-T greedy + repair|nm=2:4" "4:8-T greedy + repair|nm=4:8" "4:8-T exact|nm=4:8 nm_solver=exact"; do
    label=${row%%|*}
    read -r -a extra <<<"${row#*|}"
    read -r d m median q1 q3 whole _ <<<"$(OMP_WAIT_POLICY=PASSIVE "$out" "$steps" "$every" method=nm_transposable "${extra[@]}" "${data[@]}")"
    echo "| $dataset | $label | $d | $m | $median ($q1 to $q3) | $whole |"
  done
done
