#!/usr/bin/env bash
# Condensed training benchmarks for docs/benchmarks.md ("Condensed training"): one SGD step of the
# paper's layer (Linear 3072 -> 768) dense / masked dense / condensed; whole training steps of MLPs
# and LeNet-5 (ResNet-18 with CIFAR_DIR) through the trainer; whole MNIST epochs of LeNet-300-100 and LeNet-5 on the three paths with their
# accuracy, time and peak RSS. Run it on a quiet machine; timings go to $DB as well.
# Env: DB (default /tmp/srigl-bench/runs.db), THREADS (0: one per core), SECONDS_PER (0.5), EPOCHS (3),
# CIFAR_DIR (CIFAR-10 binary files; ResNet-18's steps are skipped without it).
set -euo pipefail
cd "$(dirname "$0")/.."
db=${DB:-/tmp/srigl-bench/runs.db}
mkdir -p "$(dirname "$db")"
srigl=build/bin/srigl
threads=${THREADS:-0}
per=${SECONDS_PER:-0.5}

echo "## One SGD step of Linear 3072 -> 768"
"$srigl" bench --training --sparsity 0.9,0.99 --batch 1,32,128,256 --db "$db" --threads "$threads" --seconds "$per" -q

# One convolution's step (the rule behind auto for convolutions): LeNet-5's two layers (batch 128),
# ResNet-18's stride-1 3x3 layers at their four image sizes (batch 64), and its stride-2 layers, 3x3
# and the 1x1 downsamples, at the three stage transitions (batch 128).
for conv in "1,28,5,2 6 128" "6,14,5,0 16 128" "3,32,3,1 64 64" "64,32,3,1 64 64" "128,16,3,1 128 64" \
            "256,8,3,1 256 64" "512,4,3,1 512 64" \
            "64,32,3,1,2 128 128" "128,16,3,1,2 256 128" "256,8,3,1,2 512 128" \
            "64,32,1,0,2 128 128" "128,16,1,0,2 256 128" "256,8,1,0,2 512 128"; do
  set -- $conv
  echo
  echo "## One SGD step of a convolution: C,H,K,P[,S] = $1, $2 filters, batch $3"
  "$srigl" bench --training --conv "$1" --out "$2" --sparsity 0.5,0.75,0.9,0.95 --batch "$3" --db "$db" \
    --threads "$threads" --seconds "$per" -q | tail -n +3
done

for model in "mlp 300,100" "mlp 4096,4096" "lenet5 -"; do
  set -- $model
  echo
  echo "## Whole training steps: $1 ${2/-/} (batch 128)"
  "$srigl" bench --training --in 64 --out 64 --sparsity 0.9 --batch 128 --model "$1" --hidden "${2/-/300,100}" \
    --steps 40 --delta-t 10 --db "$db" --threads "$threads" --seconds 0 -q | sed -n '/whole training/,$p'
done

# ResNet-18 (CIFAR shape, strided layers included) needs CIFAR-10 binary files; random bytes time like
# the real ones. Few steps: one takes seconds on 2 cores.
if [ -n "${CIFAR_DIR:-}" ]; then
  echo
  echo "## Whole training steps: resnet18 at 90% (batch 64)"
  "$srigl" bench --training --in 64 --out 64 --sparsity 0.9 --batch 64 --model resnet18 --data-dir "$CIFAR_DIR" \
    --steps 4 --delta-t 2 --db "$db" --threads "$threads" --seconds 0 -q | sed -n '/whole training/,$p'
fi

bash scripts/fetch_mnist.sh >/dev/null
echo
# LeNet-300-100 with the preset's lr; LeNet-5 with lr 0.02 (the preset's 0.1 makes dense LeNet-5 diverge);
# the wide MLP 784-4096-4096-10 (MLP_EPOCHS, default 2: a dense epoch takes about a minute on 2 cores).
for model in "mlp 0.1 LeNet-300-100 300,100 ${EPOCHS:-3}" "lenet5 0.02 LeNet-5 300,100 ${EPOCHS:-3}" \
             "mlp 0.1 MLP-784-4096-4096-10 4096,4096 ${MLP_EPOCHS:-2}"; do
  set -- $model
  echo
  echo "## MNIST $3 at 90%, $5 epochs: time, step, accuracy, peak RSS"
  for variant in "method=dense" "sparse_compute=masked_dense" "sparse_compute=auto"; do
    /usr/bin/time -f "  peak RSS %M KiB" "$srigl" train --config resources/configs/srigl_mnist_90.json \
      --set model="$1" --set lr="$2" --set hidden="$4" --set epochs="$5" --set threads="$threads" --set "$variant" \
      --set dense_reference_steps=0 --no-db --json -q 2>&1 |
      python3 -c "
import sys, json
for line in sys.stdin:
    if line.startswith('{'):
        d = json.loads(line)
        if d.get('event') == 'summary':
            print('  $variant: %.1f s, step %.2f ms, test accuracy %.2f%%, %s' % (d['seconds'], d['step_ms'], 100 * d['test_accuracy'],
                  ' '.join(l['name'] + '=' + l['compute'] for l in d['layers'])))
    elif 'peak RSS' in line:
        print(line.rstrip())
"
  done
done
