#!/usr/bin/env bash
# The seed grid behind RESULTS.md "Seed spread": NAC and every method near it (ITQ on pixels,
# SimCLR-sign, ITQ on the SimCLR features) plus the cheap classic baselines, at 16/32/64 bits,
# for seeds 0, 1 and 2 (each seed draws its own split and its own training seed).
# Standard protocol: deep methods train 40 epochs on the 5,000 training images.
# CPU only, 2 cores, one process at a time. Then:
#   nacsearch eval-summary grid/seed0 grid/seed1 grid/seed2 --out grid
# Usage: bash benchmarks/fashion-mnist/grid.sh [SEED...]   (default: 0 1 2)
# Needs: apt-get install dataset-fashion-mnist
set -euo pipefail
cd "$(dirname "$0")"
for seed in "${@:-0 1 2}"; do
  for s in $seed; do
    nacsearch eval --dataset fashion-mnist:/usr/share/datasets/fashion-mnist --bits 16,32,64 \
        --methods nac,simclr,itq,itq+simclr,lsh,pcah,sh --epochs 40 --device cpu --seed "$s" \
        --out "grid/seed$s"
  done
done
