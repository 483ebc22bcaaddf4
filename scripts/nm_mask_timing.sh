#!/usr/bin/env bash
# Cost of the per-step N:M mask of nm_ste/srste (docs/results.md, N:M section): LeNet-300-100 on
# MNIST, batch 128, one thread, nm_ste 2:4 and 4:8 against dense. Prints ms per step of the mask
# update and of the whole step, best of $REPEATS. BIN=path/to/srigl picks the build (default
# build/bin/srigl); BEFORE=path/to/other/srigl adds rows for a second build, e.g. the previous one.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/fetch_mnist.sh >/dev/null
bin=${BIN:-build/bin/srigl}
steps=${STEPS:-300}
repeats=${REPEATS:-3}
common=(--json --no-db --set dataset=mnist --set data_dir=data/mnist --set model=mlp --set batch_size=128
        --set max_steps="$steps" --set threads=1 --set eval_every=100000 --set seed=1)

field() { /usr/bin/python3 -c "import sys,json; d=json.loads(sys.stdin.read().strip().splitlines()[-1]); print($1)"; }

# Fastest of `repeats` runs (a shared machine only adds noise upwards): "step_ms mask_ms".
measure() {
  local b=$1; shift
  local best=""
  for _ in $(seq "$repeats"); do
    local line
    line=$(OMP_WAIT_POLICY=PASSIVE "$b" train "${common[@]}" "$@" | tail -n 1)
    local r
    r=$(echo "$line" | field "'%.3f %.3f' % (1000*d['seconds']/d['steps'], 1000*d['update_seconds']/d['steps'])")
    if [ -z "$best" ] || /usr/bin/python3 -c "import sys; sys.exit(0 if ${r%% *} < ${best%% *} else 1)"; then best=$r; fi
  done
  echo "$best"
}

echo "| build | method | ms per step | mask ms per step |"
echo "|---|---|---|---|"
builds=("$bin")
[ -n "${BEFORE:-}" ] && builds=("$BEFORE" "$bin")
for b in "${builds[@]}"; do
  read -r s _ <<<"$(measure "$b" --set method=dense)"
  echo "| $b | dense | $s | - |"
  for nm in 2:4 4:8; do
    read -r s m <<<"$(measure "$b" --set method=nm_ste --set nm=$nm)"
    echo "| $b | nm_ste $nm | $s | $m |"
  done
done
