#!/usr/bin/env bash
# Deep baselines on learned features (CPU only, 2 cores, one process at a time):
#   simclr              SimCLR-sign, the same net, loop and views as NAC
#   itq+simclr          ITQ on that SimCLR encoder's backbone features (trained in the same run)
#   distillhash+simclr  DistillHash-style with pseudo-labels from those features
#   cibhash             CIBHash-style (stochastic codes, straight-through, contrastive + bottleneck KL)
# Every deep method gets the same 40 epochs on the same 5,000 training images as benchmarks/fashion-mnist/run.sh.
# Usage: bash benchmarks/fashion-mnist/baselines.sh [BITS...]   (default: 64 32 16)
# Needs: apt-get install dataset-fashion-mnist
set -euo pipefail
cd "$(dirname "$0")"
for bits in "${@:-64 32 16}"; do
  for b in $bits; do
    nacsearch eval --dataset fashion-mnist:/usr/share/datasets/fashion-mnist --bits "$b" \
        --methods simclr,itq+simclr,distillhash+simclr,cibhash --epochs 40 --device cpu --seed 0 \
        --out "baselines/$b"
  done
done
