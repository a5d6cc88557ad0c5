#!/usr/bin/env bash
# The transductive variant: learned methods fit the 69,000 unlabeled database images (as build-index
# fits a collection) with a training budget of MINUTES per method (CPU only, 2 cores, one process at
# a time; the plan is timed on this machine, so step counts are recorded in report.json).
# Usage: MINUTES=5 [METHODS=nac,simclr,cibhash,itq] [SEED=0] bash benchmarks/fashion-mnist/transductive.sh [BITS...]
#        (default: 64 32 16; seed 0 writes transductive-<M>min/<bits>, seed S > 0 transductive-<M>min/seed<S>/<bits>)
# Needs: apt-get install dataset-fashion-mnist
set -euo pipefail
cd "$(dirname "$0")"
minutes=${MINUTES:-5}
methods=${METHODS:-nac,simclr,cibhash,itq}
seed=${SEED:-0}
out="transductive-${minutes}min"
[ "$seed" = 0 ] || out="$out/seed$seed"
for bits in "${@:-64 32 16}"; do
  for b in $bits; do
    nacsearch eval --dataset fashion-mnist:/usr/share/datasets/fashion-mnist --bits "$b" \
        --methods "$methods" --train-on database --train-minutes "$minutes" --epochs 1000 \
        --device cpu --seed "$seed" --out "$out/$b"
  done
done
