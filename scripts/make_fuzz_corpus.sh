#!/usr/bin/env bash
# Writes the seed corpus of every fuzz target (fuzz/) into a build directory, never into the source
# tree: binary corpora are not committed. The seeds come from fuzz_seeds, which uses the real
# encoders (zstd masks, float16 weights, checkpoint container, gzip), so they stay valid, and
# torch.save pickles assembled by hand (there is no Python in the fuzz build).
# Usage: scripts/make_fuzz_corpus.sh [FUZZ_SEEDS_BINARY [CORPUS_DIR]]
#   defaults: build-fuzz/bin/fuzz_seeds and build-fuzz/fuzz/corpus (CTest's fuzz.seeds passes both).
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-build-fuzz/bin/fuzz_seeds}
corpus=${2:-build-fuzz/fuzz/corpus}
if [ ! -x "$seeds" ]; then
  echo "make_fuzz_corpus: $seeds is missing; build it first:" >&2
  echo "  CC=clang CXX=clang++ cmake -S . -B build-fuzz -DSRIGL_FUZZ=ON -DSRIGL_BUILD_GUI=OFF -DSRIGL_BUILD_TESTS=OFF" >&2
  echo "  cmake --build build-fuzz --target fuzz" >&2
  exit 2
fi
mkdir -p "$corpus"
"$seeds" "$corpus"
