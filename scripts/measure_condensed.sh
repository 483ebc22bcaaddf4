#!/usr/bin/env bash
# Condensed inference benchmarks for docs/benchmarks.md: the paper's layer (Linear 3072 -> 768) at
# 80/90/95/99% and batch 1/8/32/256, then a trained SRigL LeNet-300-100 on MNIST, layer by layer and
# whole model against its dense twin. Run it on a quiet machine; timings go to $DB as well.
# Env: DB (default /tmp/srigl-bench/runs.db), EPOCHS (3), THREADS (0: one per core), SECONDS_PER (0.5).
set -euo pipefail
cd "$(dirname "$0")/.."
db=${DB:-/tmp/srigl-bench/runs.db}
mkdir -p "$(dirname "$db")"
srigl=build/bin/srigl
threads=${THREADS:-0}
per=${SECONDS_PER:-0.5}

echo "## Linear 3072 -> 768 (synthetic constant fan-in layer)"
"$srigl" bench --db "$db" --threads "$threads" --seconds "$per" -q
echo
echo "## The same layer with 30% of its neurons ablated (structured and condensed skip them)"
"$srigl" bench --db "$db" --threads "$threads" --seconds "$per" --sparsity 0.9 --ablated 0.3 -q

bash scripts/fetch_mnist.sh >/dev/null
for sparsity in 0.9 0.99; do
  echo
  echo "## SRigL LeNet-300-100 on MNIST at $sparsity, ${EPOCHS:-3} epochs"
  id=$("$srigl" train --config resources/configs/srigl_mnist_90.json --set sparsity="$sparsity" \
       --set epochs="${EPOCHS:-3}" --db "$db" --json -q | tail -n 1 |
       python3 -c "import sys,json; d=json.loads(sys.stdin.read()); print(d['run_id'], d['test_accuracy'], file=sys.stderr); print(d['run_id'])")
  "$srigl" bench --run "$id" --db "$db" --threads "$threads" --seconds "$per" --batch 1,8,32,256 -q
done
