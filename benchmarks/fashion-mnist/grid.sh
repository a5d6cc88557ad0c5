#!/usr/bin/env bash
# The seed grid behind RESULTS.md "Seed spread": NAC and every method near it (ITQ on pixels,
# SimCLR-sign, ITQ on the SimCLR features) plus the cheap classic baselines, at 16/32/64 bits,
# for seeds 0, 1 and 2 (each seed draws its own split and its own training seed).
# Standard protocol: deep methods train 40 epochs on the 5,000 training images.
# CPU only, 2 cores, one process at a time. Reports go to $OUT/seed<S> (OUT defaults to grid-2026-12-jitter, the
# grid of the defaults since the categories recipe's colour jitter is 0.8, 2026-12-03, which ran
# METHODS=nac,simclr,itq+simclr: the methods the views change; its other cells are those of grid-2026-12-centred/.
# grid-2026-12-head128/ holds NAC with the 128-bit head and jitter 0.4, grid-2026-12-centred/ the defaults since
# NAC's heads start centred, grid-2026-12/ the first 2026-12-03 defaults, grid/ the 2026-11-23 ones).
# Seeds 3 and 4 of grid-2026-12-jitter ran all methods (`bash grid.sh 3 4`, 2026-12-06); the README's headline
# is their summary with seeds 0-2:
#   nacsearch eval-summary grid-2026-12-centred/seed{0,1,2} grid-2026-12-jitter/seed{0,1,2,3,4} --replace \
#       --out grid-2026-12-jitter-5seeds
# Then, for a full grid:
#   nacsearch eval-summary OUT/seed0 OUT/seed1 OUT/seed2 --out OUT
# and for a grid of some methods, its cells replacing those of the last full one:
#   nacsearch eval-summary grid-2026-12-centred/seed{0,1,2} grid-2026-12-jitter/seed{0,1,2} --replace \
#       --out grid-2026-12-jitter
# grid-2026-12-ntxent/ holds NAC with the auxiliary NT-Xent term (NAC_SET="ntxent_weight=1", METHODS=nac, seed 0).
# BITS=16,32,64 by default. NAC_SET="K=V ..." sets NAC's settings, as `nacsearch eval --nac-set K=V` (e.g. "ntxent_weight=1").
# Usage: [OUT=DIR] [METHODS=a,b] [NAC_SET=...] bash benchmarks/fashion-mnist/grid.sh [SEED...]
#        (default: seeds 0 1 2, all methods)
# Needs: apt-get install dataset-fashion-mnist
set -euo pipefail
cd "$(dirname "$0")"
OUT=${OUT:-grid-2026-12-jitter}
METHODS=${METHODS:-nac,simclr,itq,itq+simclr,lsh,pcah,sh}
BITS=${BITS:-16,32,64}
sets=()
for kv in ${NAC_SET:-}; do sets+=(--nac-set "$kv"); done
for seed in "${@:-0 1 2}"; do
  for s in $seed; do
    nacsearch eval --dataset fashion-mnist:/usr/share/datasets/fashion-mnist --bits "$BITS" \
        --methods "$METHODS" "${sets[@]}" --epochs 40 --train-minutes 0 --device cpu --seed "$s" \
        --out "$OUT/seed$s"
  done
done
