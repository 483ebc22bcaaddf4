#!/usr/bin/env bash
# The MNIST accuracy study of docs/results.md: LeNet-300-100, dense and every sparse method at
# several sparsities and seeds, with the reference recipe (SGD Nesterov 0.9, lr 0.1, wd 5e-4,
# batch 128, ERK, deltaT 100, alpha 0.3, gamma_sal 0.3). Two single-threaded runs at a time on
# 2 cores. Writes one summary JSON line per run to $OUT (default docs/data/mnist_runs.jsonl).
# Optional (all off by default; scripts/study_99.sh uses them):
#   EXTRA="key=value ..."  extra config keys, one --set each, for every run but dense
#   LABEL=name             adds "variant":"name" (and "extra") to every JSON line
#   APPEND=1               append to $OUT instead of truncating it
#   CKPT_DIR=dir           write each run's final checkpoint there; the line gets "checkpoint"
#   TRAIN_ARGS="..."       extra `srigl train` options, e.g. "--no-db" or "--db /tmp/x.db"
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-docs/data/mnist_runs.jsonl}
epochs=${EPOCHS:-10}
seeds=${SEEDS:-"1 2 3"}
sparsities=${SPARSITIES:-"0.8 0.9 0.95 0.99"}
jobs=${JOBS:-2}
methods=${METHODS:-"static set rigl srigl"}
gammas=${GAMMAS:-"0 0.3"}      # SRigL gamma_sal values (0 = without ablation)
with_dense=${WITH_DENSE:-1}
extra=${EXTRA:-}
label=${LABEL:-}
ckpt_dir=${CKPT_DIR:-}
train_args=${TRAIN_ARGS:-}
bash scripts/fetch_mnist.sh
mkdir -p "$(dirname "$out")"
[ "${APPEND:-0}" = 1 ] || : > "$out"
[ -z "$ckpt_dir" ] || mkdir -p "$ckpt_dir"

runs=()
for seed in $seeds; do
  [ "$with_dense" = 1 ] && runs+=("dense 0 0.3 $seed")
  for s in $sparsities; do
    for m in $methods; do
      if [ "$m" = srigl ]; then
        for g in $gammas; do runs+=("srigl $s $g $seed"); done
      else
        runs+=("$m $s 0.3 $seed")
      fi
    done
  done
done

run_one() {
  read -r method sparsity gamma seed <<<"$1"
  local sets=() more="" kv ckpt=""
  if [ "$method" != dense ]; then
    for kv in $extra; do sets+=(--set "$kv"); done
  fi
  if [ -n "$ckpt_dir" ]; then
    ckpt="$ckpt_dir/${label:-run}_${method}_${sparsity}_${gamma}_${seed}.ckpt"
    rm -f "$ckpt"
    sets+=(--set checkpoint="$ckpt")
    more+=",\"checkpoint\":\"$ckpt\""
  fi
  [ -z "$label" ] || more+=",\"variant\":\"$label\",\"extra\":\"$([ "$method" = dense ] || echo "$extra")\""
  # shellcheck disable=SC2086
  line=$(build/bin/srigl train --json $train_args --set dataset=mnist --set data_dir=data/mnist --set model=mlp \
    --set method="$method" --set sparsity="$sparsity" --set gamma_sal="$gamma" --set seed="$seed" \
    --set epochs="$epochs" --set threads=1 --set lr=0.1 --set batch_size=128 --set distribution=erk \
    "${sets[@]}" | tail -n 1)
  echo "{\"method\":\"$method\",\"sparsity\":$sparsity,\"gamma_sal\":$gamma,\"seed\":$seed,\"epochs\":$epochs$more,\"result\":$line}"
}
export -f run_one
export epochs extra label ckpt_dir train_args
printf '%s\n' "${runs[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "{}"' >> "$out"
echo "mnist_experiments: $(wc -l < "$out") runs in $out"
