#!/usr/bin/env bash
# Deep baselines on learned features (CPU only, 2 cores, one process at a time):
#   simclr              SimCLR-sign, the same net, loop and views as NAC
#   itq+simclr          ITQ on that SimCLR encoder's backbone features (trained in the same run)
#   distillhash+simclr  DistillHash-style with pseudo-labels from those features
#   cibhash             CIBHash-style (stochastic codes, straight-through, contrastive + bottleneck KL)
# Every deep method gets the same 40 epochs on the same 5,000 training images as benchmarks/fashion-mnist/run.sh.
# Reports go to $OUT/<bits> (OUT defaults to baselines, the runs with the recipe's jitter of 0.4; baselines-jitter
# holds those since the categories recipe's jitter is 0.8).  --train-minutes 0: exactly 40 epochs on any machine.
# METHODS replaces the list (e.g. METHODS=cibhash OUT=baselines-cibhash: CIBHash-style with its own views, chosen on
# validation on 2026-12-03).
# Usage: [OUT=DIR] [METHODS=LIST] bash benchmarks/fashion-mnist/baselines.sh [BITS...]   (default: 64 32 16)
# Needs: apt-get install dataset-fashion-mnist
set -euo pipefail
cd "$(dirname "$0")"
OUT=${OUT:-baselines}
METHODS=${METHODS:-simclr,itq+simclr,distillhash+simclr,cibhash}
for bits in "${@:-64 32 16}"; do
  for b in $bits; do
    nacsearch eval --dataset fashion-mnist:/usr/share/datasets/fashion-mnist --bits "$b" \
        --methods "$METHODS" --epochs 40 --train-minutes 0 --device cpu --seed 0 \
        --out "$OUT/$b"
  done
done
