#!/usr/bin/env bash
# The GPU machine's whole visit in one script (docs/gpu.md): build the engine + CLI with CUDA
# (scripts/build_cuda.sh), run the CUDA checks (srigl-cuda-checks: kernels against the CPU reference),
# time condensed inference against cuBLAS dense, cuSPARSE CSR and structured (`srigl bench --device
# cuda`), train ResNet-18 on synthetic CIFAR-shaped data dense and SRigL, and run NCCL data-parallel
# training (scripts/gpu_nccl_check.sh). Every result lands in gpu-results/; where $OUT is set (the
# device tool's folder, which brings back only a few files) the folder also goes there as one archive.
#
# Usage: bash scripts/gpu_checks.sh [all|build|checks|bench|train|nccl]...   (default all)
#   SRIGL_GPU_QUICK=1    fewer bench cases and training steps (a second visit that only re-checks)
#   SRIGL_GPU_BUDGET=S   seconds the whole visit may take (default 560): each step gets at most what is
#                        left, so that the results of the steps done still come back
set -uo pipefail
cd "$(dirname "$0")/.."
out=gpu-results
mkdir -p "$out"
# Whatever happens, the results travel back as one archive.
trap '[ -n "${OUT:-}" ] && tar czf "$OUT/gpu-results.tgz" "$out" 2>/dev/null' EXIT
build=${SRIGL_BUILD_DIR:-build-cuda}
steps=(${@:-all})
want() { for s in "${steps[@]}"; do [ "$s" = all ] || [ "$s" = "$1" ] && return 0; done; return 1; }
section() { echo; echo "=== $* ($(date -u +%T))"; }
status=0
deadline=$(( $(date +%s) + ${SRIGL_GPU_BUDGET:-560} ))
# At most $1 seconds, and never past the deadline (less 15 s to pack the results).
budget() { local left=$(( deadline - $(date +%s) - 15 )); [ "$left" -lt "$1" ] && echo $(( left > 1 ? left : 1 )) || echo "$1"; }

section machine
{
  nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap,clocks.max.sm --format=csv 2>&1
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))" 2>&1
  nvcc --version 2>&1 | tail -1
  cmake --version | head -1; ninja --version 2>&1 | sed 's/^/ninja /'
  lscpu | grep -E "Model name|^CPU\(s\)" ; nproc
  for h in sqlite3.h zstd.h zlib.h nlohmann/json.hpp CLI/CLI.hpp opencv4/opencv2/core.hpp; do
    [ -e /usr/include/$h ] && echo "system has $h" || echo "system lacks $h"
  done
} 2>&1 | tee "$out/machine.txt"

if want build; then
  section build
  start=$(date +%s)
  if ! timeout "$(budget 480)" bash scripts/build_cuda.sh "$build" > "$out/build.log" 2>&1; then
    echo "BUILD FAILED"; grep -E "error|FAILED|Error" "$out/build.log" | head -60; tail -20 "$out/build.log"
    exit 1
  fi
  grep -E "^-- (CUDA|OpenCV|Distributed|SQLITE3|ZSTD|NLOHMANN|CLI11)|build_cuda:" "$out/build.log"
  echo "build took $(( $(date +%s) - start )) s"
fi
bin=$build/bin

if want checks; then
  section "CUDA checks"
  timeout "$(budget 120)" "$bin/srigl-cuda-checks" 2>&1 | tee "$out/cuda_checks.txt"
  rc=${PIPESTATUS[0]}; echo "srigl-cuda-checks exit $rc"; [ "$rc" = 0 ] || status=1
  # Two paths run only at a forced tile width (the tiled gradients at 8 columns, several feature
  # phases at 32): once more with each, printing only the failures.
  for cols in 8 32; do
    SRIGL_CUDA_TILE_COLS=$cols timeout "$(budget 90)" "$bin/srigl-cuda-checks" > "$out/cuda_checks_cols$cols.txt" 2>&1
    rc=$?; echo "srigl-cuda-checks with SRIGL_CUDA_TILE_COLS=$cols: exit $rc"
    grep "^FAIL" "$out/cuda_checks_cols$cols.txt" | head -20; [ "$rc" = 0 ] || status=1
  done
fi

if want bench; then
  section "bench: Linear 3072->768, CUDA events"
  batches=1,8,64,256,1024,2048; sparsities=0.8,0.9,0.95,0.99; seconds=0.1
  [ "${SRIGL_GPU_QUICK:-0}" = 1 ] && { batches=1,256,2048; sparsities=0.9,0.99; seconds=0.05; }
  timeout "$(budget 150)" "$bin/srigl" bench --device cuda --in 3072 --out 768 --sparsity $sparsities --batch $batches \
    --seconds $seconds --no-db 2>&1 | tee "$out/bench_linear.txt"
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
fi

if want train; then
  section "train: ResNet-18, synthetic_cifar, GPU"
  n=300; [ "${SRIGL_GPU_QUICK:-0}" = 1 ] && n=100
  for method in dense srigl; do
    timeout "$(budget 100)" "$bin/srigl" train --no-db --json --set device=cuda --set model=resnet18 --set dataset=synthetic_cifar \
      --set synthetic_train=20000 --set synthetic_test=2000 --set batch_size=128 --set max_steps=$n \
      --set method=$method --set sparsity=0.9 --set delta_t=100 --set eval_every=0 --set log_every=50 \
      > "$out/train_resnet18_$method.jsonl" 2> "$out/train_resnet18_$method.err"
    rc=$?
    echo "$method: exit $rc"; [ "$rc" = 0 ] || { status=1; tail -5 "$out/train_resnet18_$method.err"; }
    tail -1 "$out/train_resnet18_$method.jsonl" | python3 -c "import json,sys; s=json.loads(sys.stdin.read()); print({k: s.get(k) for k in ('status','steps','seconds','step_ms','samples_per_second','update_seconds','updates','test_accuracy','train_loss','dense_step_ms')})" 2>&1
  done
fi

if want nccl; then
  section "NCCL data-parallel"
  OUT="$out" timeout "$(budget 150)" bash scripts/gpu_nccl_check.sh "$build" 2>&1 | tee "$out/nccl.txt"
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
fi

section "done: status $status"
exit $status
