#!/usr/bin/env bash
# The kernel targets of docs/benchmarks.md per instruction set, on the CPU at hand: condensed inference
# of Linear 3072 -> 768 at 90% (batch 1 and 256) and one SGD training step at 90% and 99% (batch 128),
# with every kernel instruction set this CPU runs (avx2; avx512 where it has AVX-512F), RUNS times each
# (default 5; ratios within one run are what counts on a shared machine). The Xeon column of the
# targets is still open: on an Intel Xeon with AVX-512 this script gives it in one go.
# Usage: scripts/measure_isa_columns.sh [build-dir]   Env: RUNS, THREADS (0: one per core), SECONDS_PER (1)
set -euo pipefail
cd "$(dirname "$0")/.."
srigl=${1:-build}/bin/srigl
[ -x "$srigl" ] || { echo "measure_isa_columns: $srigl not built (target srigl)" >&2; exit 2; }
runs=${RUNS:-5}
threads=${THREADS:-0}
per=${SECONDS_PER:-1}
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1); load: $(cut -d' ' -f1-3 /proc/loadavg)"
isas=()
grep -qw avx2 /proc/cpuinfo && isas+=(avx2)
grep -qw avx512f /proc/cpuinfo && isas+=(avx512)
[ ${#isas[@]} -gt 0 ] || isas=(portable)
[[ " ${isas[*]} " == *" avx512 "* ]] || echo "no AVX-512F on this CPU: the avx512 column cannot be measured here"
for isa in "${isas[@]}"; do
  for run in $(seq "$runs"); do
    echo "## $isa, run $run: inference, Linear 3072 -> 768 at 90%"
    "$srigl" bench --sparsity 0.9 --batch 1,256 --isa "$isa" --threads "$threads" --seconds "$per" --no-db -q 2>&1 |
      sed -n '/^layer/,$p'
    echo "## $isa, run $run: one SGD step, Linear 3072 -> 768, batch 128"
    "$srigl" bench --training --sparsity 0.9,0.99 --batch 128 --isa "$isa" --threads "$threads" --seconds "$per" \
      --no-db -q 2>&1 | sed -n '/^sparsity/,$p'
  done
done
