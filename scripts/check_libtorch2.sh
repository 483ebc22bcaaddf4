#!/usr/bin/env bash
# Builds the engine, the CLI and the test suites without the Studio against Debian 13's LibTorch 2.x
# (CPU, with Qt 6.8 and GCC 14) in a chroot made by debootstrap, and runs the engine, sessions and CLI
# suites there: the check that the code compiles and behaves the same against LibTorch 2.x on a machine
# that has no Python torch 2.x and no GPU (docs/building.md, "LibTorch 2.x on the CPU"). The GPU
# machine's build (scripts/build_cuda.sh) checks the same against the CUDA LibTorch of Python's torch.
#
# Needs root (debootstrap, chroot, mounts) and Debian's mirror. Not part of CI: on 2 cores the chroot
# takes about 10 minutes the first time, the build about 35 and the suites about 10.
#
# Usage: bash scripts/check_libtorch2.sh [ROOT]      (default /var/tmp/srigl-trixie; kept for reruns)
#   SRIGL_CHECK_LABELS  the ctest labels to run, a regular expression (default engine|sessions|cli)
#   SRIGL_CHECK_CUDA    a CUDA toolkit to compile our CUDA kernels with as well (default /usr/local/cuda,
#                       skipped when it has no nvcc)
#   SRIGL_CHECK_SUITE   the Debian suite (default trixie)
# The tree checked is this checkout's working tree (tracked and untracked files git does not ignore).
set -euo pipefail
cd "$(dirname "$0")/.."
root=${1:-/var/tmp/srigl-trixie}
suite=${SRIGL_CHECK_SUITE:-trixie}
labels=${SRIGL_CHECK_LABELS:-engine|sessions|cli}
[ "$(id -u)" = 0 ] || { echo "check_libtorch2: needs root (debootstrap, chroot)" >&2; exit 1; }

if ! command -v debootstrap >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap
fi
if [ ! -f "$root/etc/debian_version" ]; then
  echo "check_libtorch2: debootstrap $suite into $root"
  debootstrap --variant=minbase "$suite" "$root" http://deb.debian.org/debian
fi

# The chroot's /proc, /dev and /sys for the build and the tests; unmounted however this script ends.
mounted=()
cleanup() {
  local m
  for m in "${mounted[@]}"; do umount -l "$m" 2>/dev/null || true; done
}
trap cleanup EXIT
for m in proc dev sys; do
  if ! mountpoint -q "$root/$m"; then
    case $m in
      proc) mount -t proc proc "$root/proc" ;;
      dev) mount --bind /dev "$root/dev" ;;
      sys) mount -t sysfs sys "$root/sys" ;;
    esac
    mounted+=("$root/$m")
  fi
done

in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 bash -c "$1"; }

# The set-up's packages (scripts/setup.sh) less the Studio's: the suites built here need Qt Core and
# Test, OpenCV (they draw the synthetic digits), and Python's numpy and torch (2.6 there: they read
# what `srigl export` writes).
in_root "export DEBIAN_FRONTEND=noninteractive; apt-get update -q && apt-get install -y -q --no-install-recommends \
  libtorch-dev libgloo-dev cmake g++ ninja-build ccache pkg-config git libsqlite3-dev sqlite3 nlohmann-json3-dev \
  libcli11-dev libzstd-dev zlib1g-dev qt6-base-dev libopencv-dev libopenblas0-pthread libsimde-dev \
  python3-numpy python3-torch" >/dev/null
torch=$(in_root "dpkg-query -W -f '\${Version}' libtorch-dev")
echo "check_libtorch2: LibTorch $torch (Debian $suite, $(in_root 'g++ --version | head -1'))"

# The working tree into /src of the chroot, beside the build folders an earlier check left there
# (/src/build, /src/build-cuda). Only files whose content differs are written (with a new modification
# time), so that ninja rebuilds exactly what changed; files the tree no longer has are removed.
stage=$(mktemp -d)
git ls-files -z --cached --others --exclude-standard |
  tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C "$stage"
mkdir -p "$root/src"
(cd "$stage" && find . -type f -print0) | while IFS= read -r -d '' f; do
  if ! cmp -s "$stage/$f" "$root/src/$f"; then
    mkdir -p "$(dirname "$root/src/$f")"
    cp "$stage/$f" "$root/src/$f"
  fi
done
(cd "$root/src" && find . \( -path ./build -o -path ./build-cuda \) -prune -o -type f -print0) | while IFS= read -r -d '' f; do
  [ -e "$stage/$f" ] || rm -f "$root/src/$f"
done
rm -rf "$stage"

status=0
generator=$([ -f "$root/src/build/CMakeCache.txt" ] || echo "-G Ninja")
in_root "cd /src && cmake -S . -B build $generator -DCMAKE_BUILD_TYPE=Release -DSRIGL_BUILD_GUI=OFF \
  -DSRIGL_BUILD_TESTS=ON >/dev/null && ninja -C build -j$(nproc)" || status=$?
if [ "$status" != 0 ]; then
  echo "check_libtorch2: the build against LibTorch $torch failed" >&2
  exit "$status"
fi
# Where this machine has a CUDA toolkit (SRIGL_CHECK_CUDA, default /usr/local/cuda): our CUDA kernels
# and the CUDA checks compiled against the same LibTorch's headers (not linked, and the stream glue's
# c10 CUDA calls not compiled: both need a CUDA LibTorch, scripts/build_cuda.sh on a GPU machine).
cuda=${SRIGL_CHECK_CUDA:-/usr/local/cuda}
cuda_status=0
if [ -x "$cuda/bin/nvcc" ]; then
  mkdir -p "$root/usr/local/cuda"
  if ! mountpoint -q "$root/usr/local/cuda"; then
    mount --bind "$(readlink -f "$cuda")" "$root/usr/local/cuda"
    mounted+=("$root/usr/local/cuda")
  fi
  cuda_objects="engine/CMakeFiles/srigl_engine_cuda.dir/kernels/cuda/condensed_forward.cu.o
    engine/CMakeFiles/srigl_engine_cuda.dir/kernels/cuda/condensed_backward.cu.o
    engine/CMakeFiles/srigl_engine_cuda.dir/kernels/cuda/cuda_support.cu.o
    engine/CMakeFiles/srigl_engine.dir/kernels/cuda/current_stream.cpp.o
    tests/cuda/CMakeFiles/srigl_cuda_checks.dir/cuda_checks.cpp.o"
  generator=$([ -f "$root/src/build-cuda/CMakeCache.txt" ] || echo "-G Ninja")
  if in_root "export PATH=/usr/local/cuda/bin:\$PATH; cd /src && cmake -S . -B build-cuda $generator \
      -DCMAKE_BUILD_TYPE=Release -DSRIGL_BUILD_GUI=OFF -DSRIGL_BUILD_TESTS=OFF -DSRIGL_CUDA=ON \
      -DCMAKE_CUDA_ARCHITECTURES=90 >/dev/null && ninja -C build-cuda -j$(nproc) $(echo $cuda_objects)"; then
    echo "check_libtorch2: the CUDA kernels compiled against LibTorch $torch ($("$cuda/bin/nvcc" --version | tail -1))"
  else
    echo "check_libtorch2: the CUDA kernels did not compile against LibTorch $torch" >&2
    cuda_status=1
  fi
fi
in_root "cd /src/build && OMP_WAIT_POLICY=PASSIVE QT_QPA_PLATFORM=offscreen ctest -L '$labels' -j$(nproc) \
  --output-on-failure" || status=$?
echo "check_libtorch2: LibTorch $torch: build passed, suites ($labels) $([ "$status" = 0 ] && echo passed || echo FAILED)"
[ "$status" = 0 ] && status=$cuda_status
exit "$status"
