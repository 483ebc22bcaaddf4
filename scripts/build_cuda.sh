#!/usr/bin/env bash
# Builds the engine and the CLI (no Qt) against the LibTorch of the Python torch package, with our CUDA
# kernels and NCCL when that LibTorch has CUDA: the GPU machine's build (docs/gpu.md). Installs nothing
# and needs no network. What the machine lacks of nlohmann/json, CLI11, SQLite, zstd and zlib comes from
# the bundle that scripts/pack_deps_bundle.sh makes on a Debian machine (SRIGL_DEPS_DIR, default
# .deps/bundle); OpenCV is optional.
#
# Usage: bash scripts/build_cuda.sh [BUILD_DIR]    (default build-cuda)
#   PYTHON       the Python whose torch to build against (default python3)
#   CUDA_ARCH    e.g. 90; default: the first GPU's compute capability, else 90
#   SRIGL_JOBS   parallel compile jobs (default: all cores)
# If a distributed backend's one translation unit does not compile against this LibTorch, the build is
# redone without that backend and the script says so, so that the kernels and the CLI still build.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-cuda}
python=${PYTHON:-python3}
jobs=${SRIGL_JOBS:-$(nproc)}

die() { echo "build_cuda: $*" >&2; exit 1; }
torch_info=$("$python" -c "import torch; print(torch.utils.cmake_prefix_path); print(torch.__version__); print(torch.version.cuda or '')") ||
  die "$python cannot import torch"
prefix=$(sed -n 1p <<<"$torch_info")
torch_version=$(sed -n 2p <<<"$torch_info")
torch_cuda=$(sed -n 3p <<<"$torch_info")
echo "build_cuda: torch $torch_version (CUDA ${torch_cuda:-none}) from $prefix"

# LibTorch 2.12 and later need C++20.
std=17
read -r major minor _ <<<"$(sed 's/[.+]/ /g' <<<"$torch_version")"
if [ "${major:-0}" -gt 2 ] || { [ "${major:-0}" -eq 2 ] && [ "${minor:-0}" -ge 12 ]; }; then std=20; fi

if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH=/usr/local/cuda/bin:$PATH; fi
arch=${CUDA_ARCH:-}
if [ -z "$arch" ] && command -v nvidia-smi >/dev/null; then
  arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
fi
arch=${arch:-90}
# Torch's own CMake adds code for every architecture in this list to every .cu file: just ours.
export TORCH_CUDA_ARCH_LIST="${arch:0:${#arch}-1}.${arch: -1}"

nccl=$("$python" - <<'PY' 2>/dev/null
import os
try:
    import nvidia.nccl as m
    paths = list(getattr(m, "__path__", [])) or [os.path.dirname(m.__file__)]
    print(paths[0])
except Exception:
    pass
PY
)
deps=${SRIGL_DEPS_DIR:-.deps/bundle}
[ -d "$deps" ] && deps=$(cd "$deps" && pwd) || deps=""

generator=()
if [ ! -f "$build/CMakeCache.txt" ] && command -v ninja >/dev/null; then generator=(-G Ninja); fi
configure() {
  cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
    -DSRIGL_BUILD_GUI=OFF -DSRIGL_BUILD_TESTS=OFF -DCMAKE_CXX_STANDARD=$std -DCMAKE_CUDA_ARCHITECTURES="$arch" \
    -DSRIGL_DEPS_DIR="$deps" -DSRIGL_NCCL_ROOT="$nccl" "$@"
}
build_all() {
  local keep=(-- -k 0)
  [ -f "$build/build.ninja" ] || keep=(-- -k)
  cmake --build "$build" -j "$jobs" "${keep[@]}" 2>&1 | tee "$build/build.log"
  return "${PIPESTATUS[0]}"
}

configure || die "configure failed"
mkdir -p "$build"
if build_all; then echo "build_cuda: built in $build"; exit 0; fi
# Which optional backends failed to compile? Rebuild without them.
off=()
grep -q "nccl_process_group" "$build/build.log" && grep -q "FAILED: .*nccl_process_group" "$build/build.log" && off+=(-DSRIGL_NCCL=OFF)
grep -q "FAILED: .*gloo_process_group" "$build/build.log" && off+=(-DSRIGL_DISTRIBUTED=OFF)
[ ${#off[@]} -gt 0 ] || die "build failed (log: $build/build.log)"
echo "build_cuda: rebuilding with ${off[*]} (that backend does not compile against torch $torch_version)"
configure "${off[@]}" || die "configure failed"
build_all || die "build failed (log: $build/build.log)"
echo "build_cuda: built in $build, without ${off[*]}"
