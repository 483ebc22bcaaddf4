#!/usr/bin/env bash
# The N:M accuracy table of docs/results.md: LeNet-300-100 on MNIST and on the synthetic set,
# dense, N:M from scratch (srste 2:4, srste 4:8, nm_transposable 4:8) and SRigL at 50% and 75%,
# each with its mask diversity (log10, whole model), then the dense run converted without training
# (`srigl convert`) to 2:4, 4:8 and 4:8 transposable, and the SRigL 50% run to 2:4; a dense LeNet-5
# is trained too and converted to 2:4 and 4:8 (convolutions refit as well). Two single-threaded
# runs at a time. EPOCHS (default 3), SEED (1), DATASETS ("mnist synthetic"), BIN
# (build/bin/srigl), DB (a fresh database under /tmp). One JSON line per result to $OUT.
# CONVERT_ONLY=1 with DB and OUT of an earlier run redoes only the conversions. LABELS (e.g.
# "dense LeNet-5") trains only those rows; conversions whose source was not trained are left out.
# LeNet-300-100's fc2 (300 inputs) and fc3 (100) are not multiples of 8: 4:8 converts them as
# padded (a trailing group of 4 keeps min(N, 4)), as training does.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-build/bin/srigl}
epochs=${EPOCHS:-3}
seed=${SEED:-1}
datasets=${DATASETS:-"mnist synthetic"}
db=${DB:-$(mktemp -d)/nm_accuracy.db}
out=${OUT:-docs/data/nm_accuracy.jsonl}
py=/usr/bin/python3
bash scripts/fetch_mnist.sh >/dev/null
mkdir -p "$(dirname "$out")"
export OMP_WAIT_POLICY=PASSIVE
if [ "${CONVERT_ONLY:-0}" = 1 ]; then
  grep '"kind": "train"' "$out" > "$out.tmp" && mv "$out.tmp" "$out"
else
  : > "$out"
fi

# "label method sparsity nm md_structure" per trained row; md_structure picks the diversity column.
# The model is mlp (LeNet-300-100) unless a seventh field names another one.
rows=("dense dense 0 2:4 none" "2:4 srste 0.5 2:4 nm" "4:8 srste 0.5 4:8 nm" "4:8-T nm_transposable 0.5 4:8 transposable"
      "SRigL-50% srigl 0.5 2:4 constant_fan_in" "SRigL-75% srigl 0.75 2:4 constant_fan_in" "LeNet-5 dense 0 2:4 none lenet5")

train_one() {
  local dataset=$1 label=$2 method=$3 sparsity=$4 nm=$5 md=$6 model=${7:-mlp}
  local line div
  line=$("$bin" train --json --db "$db" --set dataset="$dataset" --set data_dir=data/mnist --set model="$model" \
    --set method="$method" --set sparsity="$sparsity" --set nm="$nm" --set seed="$seed" --set epochs="$epochs" \
    --set threads=1 --set lr=0.1 --set batch_size=128 --set distribution=uniform --set name="nm-acc $dataset $label" | tail -n 1)
  div=$("$bin" analyze diversity --json --set model="$model" --set dataset="$dataset" --set data_dir=data/mnist --set sparsity="$sparsity" \
    --set distribution=uniform --nm "$nm" | tail -n 1)
  $py - "$dataset" "$label" "$method" "$md" "$line" "$div" "$model" <<'PY'
import json, sys
dataset, label, method, md, line, div, model = sys.argv[1:]
d, v = json.loads(line), json.loads(div)
print(json.dumps({"kind": "train", "dataset": dataset, "label": label, "method": method, "model": model, "run_id": d["run_id"],
                  "test_accuracy": d["test_accuracy"], "seconds": d["seconds"],
                  "log10_md": None if md == "none" else v["total"][md]}))
PY
}
export -f train_one
export bin db seed epochs py

selected=()
for row in "${rows[@]}"; do
  if [ -z "${LABELS:-}" ] || [[ " $LABELS " == *" ${row%% *} "* ]]; then selected+=("$row"); fi
done
for dataset in $datasets; do
  [ "${CONVERT_ONLY:-0}" = 1 ] && break
  printf '%s\n' "${selected[@]}" | sed "s/^/$dataset /" | xargs -P 2 -I{} bash -c 'train_one {}' >> "$out"
done

convert_one() {
  local dataset=$1 from=$2 label=$3; shift 3
  local id line
  id=$($py -c "import json,sys; print(([r['run_id'] for r in map(json.loads, open('$out')) if r['kind']=='train' and r['dataset']=='$dataset' and r['label']=='$from'] + [''])[0])")
  [ -n "$id" ] || return 0
  line=$("$bin" convert "$id" --json --db "$db" --threads 2 --calibration-batches 8 "$@" | tail -n 1)
  $py - "$dataset" "$from" "$label" "$line" <<'PY'
import json, sys
dataset, source, label, line = sys.argv[1:]
d = json.loads(line)
print(json.dumps({"kind": "convert", "dataset": dataset, "from": source, "label": label, "run_id": d["run_id"],
                  "nm_valid": d["nm_valid"], "log10_md": sum(l["log10_diversity"] for l in d["layers"] if l["converted"]),
                  "skipped": [l["name"] for l in d["layers"] if not l["converted"]],
                  "stages": {s["name"]: (s["test_accuracy"] if s["applied"] or s["name"] == "original" else None) for s in d["stages"]}}))
PY
}
for dataset in $datasets; do
  convert_one "$dataset" dense 2:4 --nm 2:4 >> "$out"
  convert_one "$dataset" dense 4:8 --nm 4:8 >> "$out"
  convert_one "$dataset" dense 4:8-T --nm 4:8 --transposable >> "$out"
  convert_one "$dataset" SRigL-50% 2:4 --nm 2:4 >> "$out"
  convert_one "$dataset" LeNet-5 2:4 --nm 2:4 >> "$out"
  convert_one "$dataset" LeNet-5 4:8 --nm 4:8 >> "$out"
done

$py - "$out" "$epochs" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
pct = lambda x: "-" if x is None else "%.2f" % (100 * x)
md = lambda x: "-" if x is None else "%.0f" % x
print("| dataset | structure | method | test acc % | log10 MD |")
print("|---|---|---|---|---|")
order = ["dense", "2:4", "4:8", "4:8-T", "SRigL-50%", "SRigL-75%", "LeNet-5"]
for r in sorted((r for r in rows if r["kind"] == "train"), key=lambda r: (r["dataset"], order.index(r["label"]))):
    print("| %s | %s | %s, %s epochs | %s | %s |" % (r["dataset"], r["label"], r["method"], sys.argv[2], pct(r["test_accuracy"]), md(r["log10_md"])))
print()
print("| dataset | from | to | original | mask | + absorb | + reconstruct | log10 MD | left dense |")
print("|---|---|---|---|---|---|---|---|---|")
for r in (r for r in rows if r["kind"] == "convert"):
    s = r["stages"]
    print("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (r["dataset"], r["from"], r["label"], pct(s["original"]), pct(s["mask"]),
          pct(s["absorb"]), pct(s["reconstruct"]), md(r["log10_md"]), ", ".join(r["skipped"]) or "-"))
PY
