#!/usr/bin/env bash
# The near-duplicate report's second, harder set: a seeded sample of 10,000 Fashion-MNIST images
# (Debian's dataset-fashion-mnist, train and test pooled) written as 28 px grayscale PNGs, then the
# same protocol as run.sh (64 bits, build-index's defaults, regions included, 2 CPU cores, one process at a time).
# Usage: bash benchmarks/neardup/fashion-mnist.sh [DIR]
set -euo pipefail
dir=${1:-/tmp/nacsearch-neardup-fmnist}
[ -f "$dir/labels.csv" ] || nacsearch sample-images "$dir" --source fashion-mnist -n 10000 --seed 0 >/dev/null
nacsearch eval --protocol neardup --images "$dir" --bits 64 \
  --methods "${METHODS:-nac,simclr,phash,dhash,ahash,whash,itq}" --out "$(dirname "$0")/fashion-mnist"
