#!/usr/bin/env bash
# NCCL data-parallel training on the GPU machine (docs/distributed.md, "GPUs (NCCL)"), with the binaries
# of BUILD_DIR (default build-cuda, as scripts/build_cuda.sh makes it):
#   1. a world of one: `srigl launch --nproc 1 -- srigl train --distributed --set device=cuda`, a short
#      SRigL run on an MLP whose gradients fill several buckets, against the same run without
#      --distributed: with one worker the averaged gradients are the gradients, so the step losses
#      must agree; the masks must agree across ranks; --no-overlap must give the same losses;
#   2. a world of two: `srigl launch --nproc 2` with two GPUs; with one GPU both workers are started by
#      hand on GPU 0 (LOCAL_RANK=0 for both). NCCL refuses two ranks on one GPU ("Duplicate GPU"): that
#      is reported, not a failure.
# Exits non-zero when part 1 fails. Prints one line per run: masks_agree, mask_checksum, buckets, losses.
#
# Usage: bash scripts/gpu_nccl_check.sh [BUILD_DIR]
#   STEPS   training steps per run (default 40)
#   DEVICE  cuda (default); cpu runs the same checks over Gloo, to try the script without a GPU
#   OUT     when set, every run's output is kept in $OUT/nccl
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-cuda}
bin=$build/bin
srigl=$bin/srigl
steps=${STEPS:-40}
device=${DEVICE:-cuda}
[ -x "$srigl" ] || { echo "gpu_nccl_check: no $srigl (build with scripts/build_cuda.sh first)"; exit 1; }
tmp=$(mktemp -d)
# Each run's stdout and stderr also land in $OUT/nccl when OUT is set (the device machine's results).
trap '[ -n "${OUT:-}" ] && mkdir -p "$OUT/nccl" && cp "$tmp"/* "$OUT/nccl/" 2>/dev/null; rm -rf "$tmp"' EXIT
status=0

# An MLP of 2.9M weights in 6 buckets (1 MB, or one 1024x1024 weight each), so that all-reduces overlap
# backward. Mask updates every 10 steps; one log line per step for the loss comparison.
train=(train --json --no-db --set device="$device" --set hidden=1024,1024,1024 --set method=srigl --set sparsity=0.9
       --set batch_size=128 --set max_steps="$steps" --set delta_t=10 --set t_end=0.8 --set lr=0.05 --set seed=7
       --set log_every=1 --set eval_every=0 --set dataset=synthetic_cifar --set synthetic_train=8192 --set synthetic_test=1024
       --set sparse_compute=masked_dense --set threads=4 --set epochs=1000)

# summary FILE [PREFIX]: the summary of one rank's JSON lines (rank 0: bare lines; others "[rank R] {...}").
summary() {
  python3 - "$1" "${2:-}" <<'PY'
import json, sys
path, prefix = sys.argv[1], sys.argv[2]
events = []
for line in open(path, errors="replace"):
    line = line.rstrip("\n")
    if prefix:
        if not line.startswith(prefix + "{"): continue
        line = line[len(prefix):]
    elif not line.startswith("{"):
        continue
    try: events.append(json.loads(line))
    except ValueError: pass
s = next((e for e in reversed(events) if e.get("event") == "summary"), None)
losses = [e["loss"] for e in events if e.get("event") == "step" and "loss" in e]
if s is None:
    print("no summary"); sys.exit(1)
keys = ("status", "steps", "world_size", "rank", "masks_agree", "mask_checksum", "mask_checks", "gradient_buckets",
        "buckets_overlapped", "communication_seconds", "seconds", "test_accuracy")
print(" ".join(f"{k}={s.get(k)}" for k in keys if k in s), f"first_loss={losses[0] if losses else None}",
      f"last_loss={losses[-1] if losses else None}")
PY
}

# same_losses A B: the step losses of two runs agree (relative 1e-5).
same_losses() {
  python3 - "$1" "$2" <<'PY'
import json, sys
def losses(path):
    out = []
    for line in open(path, errors="replace"):
        if line.startswith("{"):
            try: e = json.loads(line)
            except ValueError: continue
            if e.get("event") == "step" and "loss" in e: out.append(e["loss"])
    return out
a, b = losses(sys.argv[1]), losses(sys.argv[2])
if not a or len(a) != len(b):
    print(f"step losses: {len(a)} vs {len(b)} steps"); sys.exit(1)
worst = max(abs(x - y) / max(abs(x), 1e-12) for x, y in zip(a, b))
print(f"step losses of {len(a)} steps agree within {worst:.2e} (relative)")
sys.exit(0 if worst <= 1e-5 else 1)
PY
}

run() { # name, command...: runs with a time limit, keeps stdout/stderr, prints the exit code
  local name=$1; shift
  timeout 60 "$@" > "$tmp/$name.out" 2> "$tmp/$name.err"
  local rc=$?
  echo "$name: exit $rc"
  [ "$rc" = 0 ] || tail -5 "$tmp/$name.err"
  return $rc
}

gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
echo "GPUs: ${gpus:-0}; device $device; steps per run: $steps"

backend=NCCL; [ "$device" = cuda ] || backend=Gloo
echo "--- single process on $device (the reference)"
run single "$srigl" "${train[@]}" && summary "$tmp/single.out" || status=1

echo "--- launch --nproc 1, $backend, overlap"
if run nccl1 "$srigl" launch --nproc 1 -- "$srigl" "${train[@]}" --distributed --timeout 40; then
  summary "$tmp/nccl1.out" || status=1
  grep -q '"masks_agree":true' "$tmp/nccl1.out" || { echo "masks_agree is not true"; status=1; }
  same_losses "$tmp/single.out" "$tmp/nccl1.out" || status=1
else
  grep -iE "nccl|error" "$tmp/nccl1.err" | head -10
  status=1
fi

echo "--- launch --nproc 1, $backend, --no-overlap"
if run nccl1_no_overlap "$srigl" launch --nproc 1 -- "$srigl" "${train[@]}" --distributed --timeout 40 --no-overlap; then
  summary "$tmp/nccl1_no_overlap.out" || status=1
  same_losses "$tmp/nccl1.out" "$tmp/nccl1_no_overlap.out" || status=1
else
  status=1
fi

if [ "$device" = cuda ]; then
  echo "--- device=cuda with LOCAL_RANK past the last GPU (a config error naming LOCAL_RANK)"
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  RANK=0 WORLD_SIZE=1 LOCAL_RANK=${gpus:-1} MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
    timeout 60 "$srigl" "${train[@]}" --distributed --timeout 20 > "$tmp/badrank.out" 2> "$tmp/badrank.err"
  rc=$?
  echo "exit $rc: $(grep -m1 -i "LOCAL_RANK" "$tmp/badrank.err")"
  { [ "$rc" = 2 ] && grep -q "config error: LOCAL_RANK" "$tmp/badrank.err"; } || { tail -3 "$tmp/badrank.err"; status=1; }
fi

echo "--- a world of two"
if [ "${gpus:-0}" -ge 2 ]; then
  if run nccl2 "$srigl" launch --nproc 2 -- "$srigl" "${train[@]}" --distributed --timeout 40; then
    summary "$tmp/nccl2.out" || status=1
    summary "$tmp/nccl2.out" "[rank 1] " || status=1
    grep -q '"masks_agree":true' "$tmp/nccl2.out" || { echo "masks_agree is not true"; status=1; }
  else
    status=1
  fi
else
  # Both workers on GPU 0 (srigl launch would give rank 1 LOCAL_RANK=1, a GPU this machine lacks).
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  pids=()
  for r in 0 1; do
    RANK=$r WORLD_SIZE=2 LOCAL_RANK=0 LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
      timeout 60 "$srigl" "${train[@]}" --distributed --timeout 30 > "$tmp/two$r.out" 2> "$tmp/two$r.err" &
    pids+=($!)
  done
  rcs=()
  for p in "${pids[@]}"; do wait "$p"; rcs+=($?); done
  echo "two ranks on one device: exit codes ${rcs[*]}"
  if [ "${rcs[0]}" = 0 ] && [ "${rcs[1]}" = 0 ]; then
    summary "$tmp/two0.out"; summary "$tmp/two1.out"
    c0=$(grep -o '"mask_checksum":"[0-9a-f]*"' "$tmp/two0.out" | tail -1)
    c1=$(grep -o '"mask_checksum":"[0-9a-f]*"' "$tmp/two1.out" | tail -1)
    [ -n "$c0" ] && [ "$c0" = "$c1" ] && echo "both ranks: $c0" || { echo "mask checksums differ: $c0 vs $c1"; status=1; }
  else
    echo "REPORT (not a failure): NCCL did not run two ranks on one GPU:"
    cat "$tmp/two0.err" "$tmp/two1.err" | grep -iE "nccl|duplicate|error" | sort -u | head -8
  fi
fi

echo "gpu_nccl_check: status $status"
exit $status
