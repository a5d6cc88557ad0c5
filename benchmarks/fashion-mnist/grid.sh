#!/usr/bin/env bash
# The seed grid behind RESULTS.md "Seed spread": NAC and every method near it (ITQ on pixels,
# SimCLR-sign, ITQ on the SimCLR features) plus the cheap classic baselines, at 16/32/64 bits,
# for seeds 0, 1 and 2 (each seed draws its own split and its own training seed).
# Standard protocol: deep methods train 40 epochs on the 5,000 training images.
# CPU only, 2 cores, one process at a time. Reports go to $OUT/seed<S> (OUT defaults to grid-2026-12-centred, the
# grid of the defaults since NAC's heads start centred, 2026-12-03; grid-2026-12/ holds the grid of the first
# 2026-12-03 defaults, grid/ the 2026-11-23 one). Then:
#   nacsearch eval-summary grid-2026-12-centred/seed0 grid-2026-12-centred/seed1 grid-2026-12-centred/seed2 \
#       --out grid-2026-12-centred
# Usage: [OUT=DIR] bash benchmarks/fashion-mnist/grid.sh [SEED...]   (default: 0 1 2)
# Needs: apt-get install dataset-fashion-mnist
set -euo pipefail
cd "$(dirname "$0")"
OUT=${OUT:-grid-2026-12-centred}
for seed in "${@:-0 1 2}"; do
  for s in $seed; do
    nacsearch eval --dataset fashion-mnist:/usr/share/datasets/fashion-mnist --bits 16,32,64 \
        --methods nac,simclr,itq,itq+simclr,lsh,pcah,sh --epochs 40 --train-minutes 0 --device cpu --seed "$s" \
        --out "$OUT/seed$s"
  done
done
