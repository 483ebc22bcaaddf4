#!/usr/bin/env bash
# Data-parallel scaling on this machine (docs/distributed.md): an MLP (SRigL 90%; HIDDEN=300,100 is
# LeNet-300-100) on the synthetic digits, the same global batch, 1 worker vs `srigl launch --nproc 2`
# with the gradient all-reduce overlapping backward and after it (--no-overlap), best of REPEATS.
# Prints a markdown table: steps/s, and the share of rank 0's training time spent in collectives.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${SRIGL_BIN:-build/bin/srigl}
steps=${STEPS:-400}
batch=${BATCH:-128}
repeats=${REPEATS:-3}
hidden=${HIDDEN:-300,100}
common=(train --json --no-db --set max_steps="$steps" --set batch_size="$batch" --set seed=1 --set log_every=100
        --set eval_every=0 --set synthetic_test=1000 --set hidden="$hidden")

field() { python3 -c "import sys,json; d=json.loads([l for l in sys.stdin.read().splitlines() if l.startswith('{')][-1]); print($1)"; }

best() {
  local best_line="" best_s=""
  for _ in $(seq "$repeats"); do
    local line s
    line=$("$@" | grep '^{' | tail -n 1)
    s=$(echo "$line" | field "d['seconds']")
    if [ -z "$best_s" ] || python3 -c "import sys; sys.exit(0 if $s < $best_s else 1)"; then best_s=$s; best_line=$line; fi
  done
  echo "$best_line"
}

echo "| hidden | workers x threads | global batch | steps/s | samples/s | communication share (rank 0) | buckets (overlapped) |"
echo "|---|---|---|---|---|---|---|"
for t in 1 2; do
  line=$(best "$bin" "${common[@]}" --set threads="$t")
  echo "| $hidden | 1 x $t | $batch | $(echo "$line" | field "round(d['steps']/d['seconds'],1)") | $(echo "$line" | field "round(d['samples_per_second'])") | - | - |"
done
for overlap in "" --no-overlap; do
  line=$(best "$bin" launch --nproc 2 --quiet-workers -- "$bin" "${common[@]}" --set threads=1 --distributed $overlap)
  echo "| $hidden | 2 x 1 ${overlap:-(overlap)} | $batch | $(echo "$line" | field "round(d['steps']/d['seconds'],1)") | $(echo "$line" | field "round(d['samples_per_second'])") | $(echo "$line" | field "f\"{100*d['communication_seconds']/d['seconds']:.0f}%\"") | $(echo "$line" | field "f\"{d['gradient_buckets']} ({d['buckets_overlapped']})\"") |"
done
