#!/usr/bin/env bash
# "Per-neuron fan-in at 99%: the picture" (docs/results.md): MNIST LeNet-300-100 with the recipe of
# scripts/mnist_experiments.sh (ERK, lr 0.1, batch 128, one thread per run), sparsity 0.99, seed 1:
#   rigl (gamma_sal 0.3); set; srigl gamma_sal 0.3; srigl gamma_sal 0.9 + ablate_unused;
#   trainable_threshold steered to the matched density (tt_target_density = 0.01) at the paper's lr 0.01.
# Runs ONE AT A TIME under `nice -n 10` with OMP_WAIT_POLICY=PASSIVE (a shared 2-core machine),
# unrecorded (--no-db). Each run writes its final checkpoint under $WORK; the final masks are read
# (scripts/plot_fanin_histograms.py extract, which imports scripts/summarize_study_99.py's checkpoint
# reader) into one JSON line of $OUT (variant, test accuracy, per-neuron fan-in of fc1 fc2 fc3;
# 0 = ablated neuron), then the checkpoint is deleted. Finally draws $SVG.
#
# Environment: OUT (docs/data/fanin_99.jsonl), SVG (docs/fanin_99.svg), EPOCHS (10), SEED (1),
# WORK (/tmp/srigl-fanin-99), PYTHON (a python3 with torch, found if unset). About 2 minutes
# on 2 cores (125 s measured: about 25 s for rigl and set, 8 s for srigl, 60 s for trainable_threshold).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-docs/data/fanin_99.jsonl}
svg=${SVG:-docs/fanin_99.svg}
epochs=${EPOCHS:-10}
seed=${SEED:-1}
work=${WORK:-/tmp/srigl-fanin-99}

# label | method | gamma_sal | extra config keys
variants="rigl|rigl|0.3|
set|set|0.3|
srigl-0.3|srigl|0.3|
srigl-0.9+ablate_unused|srigl|0.9|ablate_unused=true
trainable_threshold-lr0.01|trainable_threshold|0|tt_target_density=0.01 lr=0.01"

source scripts/torch_python.sh fanin_histograms
[ -x build/bin/srigl ] || { echo "fanin_histograms: build/bin/srigl is missing" >&2; exit 1; }

export OMP_WAIT_POLICY=PASSIVE
bash scripts/fetch_mnist.sh
mkdir -p "$work" "$(dirname "$out")"
: > "$out"
echo "fanin_histograms: start $(date -u '+%F %T UTC') on $(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(nproc) cores" >&2
t0=$(date +%s)
while IFS='|' read -r label method gamma extra; do
  [ -n "$label" ] || continue
  sets=()
  for kv in $extra; do sets+=(--set "$kv"); done
  ckpt="$work/${label}_${seed}.ckpt"
  rm -f "$ckpt"
  t=$(date +%s)
  line=$(nice -n 10 build/bin/srigl train --json --no-db --set dataset=mnist --set data_dir=data/mnist --set model=mlp \
    --set method="$method" --set sparsity=0.99 --set gamma_sal="$gamma" --set seed="$seed" \
    --set epochs="$epochs" --set threads=1 --set lr=0.1 --set batch_size=128 --set distribution=erk \
    --set checkpoint="$ckpt" "${sets[@]}" </dev/null | tail -n 1)
  printf '%s\n' "$line" > "$work/${label}_${seed}.summary.json"
  "$py" scripts/plot_fanin_histograms.py extract "$label" "$method" "$gamma" "$extra" "$seed" "$epochs" \
    "$work/${label}_${seed}.summary.json" "$ckpt" >> "$out"
  rm -f "$ckpt" "$work/${label}_${seed}.summary.json"
  echo "fanin_histograms: $label in $(( $(date +%s) - t )) s" >&2
done <<<"$variants"
echo "fanin_histograms: end $(date -u '+%F %T UTC'), $(( $(date +%s) - t0 )) s, $(wc -l < "$out") runs in $out" >&2
python3 scripts/plot_fanin_histograms.py "$out" "$svg"
