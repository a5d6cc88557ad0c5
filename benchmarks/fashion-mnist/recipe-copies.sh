#!/usr/bin/env bash
# Category retrieval with build-index's `copies` recipe (copy views, the prior, steps filling the
# 10-minute budget): does the recipe chosen for finding copies hurt grouping look-alike items?
# NAC, 64 bits, seed 0 (the split of grid seed 0), 2 CPU cores, one process at a time.
set -euo pipefail
cd "$(dirname "$0")"
nacsearch eval --dataset fashion-mnist:/usr/share/datasets/fashion-mnist --bits 64 --methods nac --device cpu \
  --seed 0 --nac-set recipe=copies --train-minutes 10 --out recipe-copies
