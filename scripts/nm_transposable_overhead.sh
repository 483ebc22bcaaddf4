#!/usr/bin/env bash
# Training overhead of transposable N:M masks against dense (docs/results.md, N:M section; the
# transposable-N:M paper reports 70% with min-cost flow and 14% with the approximation, masks
# every 40 steps). LeNet-300-100, batch 128, masks every 40 steps, one thread,
# OMP_WAIT_POLICY=PASSIVE. Cost of a run = CPU time (user + sys of the whole process, from
# /usr/bin/time) of $STEPS steps minus the start-up (CPU time of a $SHORT-step dense run, best of 3,
# scaled out by the step count). Each method runs $PAIRS times, each time right after a dense run,
# and the overhead is the median of the pair ratios (their range in brackets): the speed of these
# virtual machines drifts by tens of percent from minute to minute even when nothing else runs.
# (Running the two side by side, pinned to the two cores, was tried: they slow each other down
# unevenly, and the ratios spread far more.)
# The last column is the mask computation's share of the training wall time (update_seconds /
# seconds of `srigl train --json`, median over the pairs).
# DATASETS="synthetic mnist" (MNIST only when data/mnist exists). BIN=path/to/srigl picks the build
# (default build/bin/srigl); BEFORE=path/to/other/srigl adds rows for a second build.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-build/bin/srigl}
steps=${STEPS:-480}
short=${SHORT:-40}
pairs=${PAIRS:-5}
datasets=${DATASETS:-synthetic mnist}
common=(--json --no-db --set model=mlp --set batch_size=128 --set threads=1 --set eval_every=100000 --set seed=1
        --set nm_update_every=40)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

py() { /usr/bin/python3 -c "$1"; }

# One run of $2 steps: "cpu_seconds mask_share".
run() {
  local b=$1 n=$2; shift 2
  OMP_WAIT_POLICY=PASSIVE /usr/bin/time -f "%U %S" -o "$tmp/time" "$b" train "${common[@]}" --set max_steps="$n" "$@" \
    | tail -n 1 >"$tmp/json"
  py "import json; u, s = open('$tmp/time').read().split()[-2:]; d = json.loads(open('$tmp/json').read()); \
print(float(u) + float(s), d['update_seconds'] / d['seconds'])"
}

echo "| build | dataset | method | dense CPU ms per step | method CPU ms per step | overhead: median of $pairs pairs (range) | mask share of wall time |"
echo "|---|---|---|---|---|---|---|"
builds=("$bin")
[ -n "${BEFORE:-}" ] && builds=("$BEFORE" "$bin")
for dataset in $datasets; do
  data=(--set dataset="$dataset")
  if [ "$dataset" = mnist ]; then
    [ -f data/mnist/train-images-idx3-ubyte ] || { echo "(no data/mnist: skipping MNIST)" >&2; continue; }
    data+=(--set data_dir=data/mnist)
  fi
  for b in "${builds[@]}"; do
    # Start-up plus the first $short steps: the best of three short dense runs.
    startup=""
    for _ in 1 2 3; do
      read -r c _ <<<"$(run "$b" "$short" "${data[@]}" --set method=dense)"
      if [ -z "$startup" ] || py "import sys; sys.exit(0 if $c < $startup else 1)"; then startup=$c; fi
    done
    for row in "2:4 greedy_repair" "4:8 greedy_repair" "4:8 exact"; do
      read -r nm solver <<<"$row"
      : >"$tmp/pairs"
      for _ in $(seq "$pairs"); do
        read -r d _ <<<"$(run "$b" "$steps" "${data[@]}" --set method=dense)"
        read -r m share <<<"$(run "$b" "$steps" "${data[@]}" --set method=nm_transposable --set nm="$nm" --set nm_solver="$solver")"
        echo "$d $m $share" >>"$tmp/pairs"
      done
      # Per-step cost of steps short+1 .. steps: (run - startup) / (steps - short).
      py "
import statistics as st
rows = [tuple(map(float, l.split())) for l in open('$tmp/pairs')]
per = lambda c: 1000 * (c - $startup) / ($steps - $short)
d = st.median(per(r[0]) for r in rows); m = st.median(per(r[1]) for r in rows)
ratios = sorted(per(r[1]) / per(r[0]) - 1 for r in rows); share = st.median(r[2] for r in rows)
print('| $b | $dataset | $nm-T $solver | %.2f | %.2f | %+.0f%% (%+.0f%% to %+.0f%%) | %.1f%% |' % (d, m, 100 * st.median(ratios), 100 * ratios[0], 100 * ratios[-1], 100 * share))"
    done
  done
done
