#!/usr/bin/env bash
# The seed grid behind RESULTS.md "Seed spread": NAC and every method near it (ITQ on pixels,
# SimCLR-sign, ITQ on the SimCLR features) plus the cheap classic baselines, at 16/32/64 bits,
# for seeds 0, 1 and 2 (each seed draws its own split and its own training seed).
# Standard protocol: deep methods train 40 epochs on the 5,000 training images.
# CPU only, 2 cores, one process at a time. Reports go to $OUT/seed<S> (OUT defaults to grid-2026-12-head128, the
# grid of the defaults since NAC's code head trains at 128 bits, 2026-12-03, which ran METHODS=nac only: its other
# cells are those of grid-2026-12-centred/, the grid of the defaults since NAC's heads start centred; grid-2026-12/
# holds the grid of the first 2026-12-03 defaults, grid/ the 2026-11-23 one). Then, for a full grid:
#   nacsearch eval-summary OUT/seed0 OUT/seed1 OUT/seed2 --out OUT
# and for a METHODS=nac grid, its cells replacing NAC's of the last full one:
#   nacsearch eval-summary grid-2026-12-centred/seed{0,1,2} grid-2026-12-head128/seed{0,1,2} --replace \
#       --out grid-2026-12-head128
# Usage: [OUT=DIR] [METHODS=a,b] bash benchmarks/fashion-mnist/grid.sh [SEED...]   (default: 0 1 2, all methods)
# Needs: apt-get install dataset-fashion-mnist
set -euo pipefail
cd "$(dirname "$0")"
OUT=${OUT:-grid-2026-12-head128}
METHODS=${METHODS:-nac,simclr,itq,itq+simclr,lsh,pcah,sh}
for seed in "${@:-0 1 2}"; do
  for s in $seed; do
    nacsearch eval --dataset fashion-mnist:/usr/share/datasets/fashion-mnist --bits 16,32,64 \
        --methods "$METHODS" --epochs 40 --train-minutes 0 --device cpu --seed "$s" \
        --out "$OUT/seed$s"
  done
done
