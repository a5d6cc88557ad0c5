#!/usr/bin/env bash
# The exact commands behind benchmarks/fashion-mnist/<bits>/report.md (CPU only, 2 cores).
# Needs: apt-get install dataset-fashion-mnist
set -euo pipefail
cd "$(dirname "$0")"
for bits in 16 32 64; do
  nacsearch eval --dataset fashion-mnist:/usr/share/datasets/fashion-mnist --bits "$bits" \
      --methods itq,lsh,pcah,sh,phash,nac,simclr,distillhash --epochs 20 --device cpu --seed 0 \
      --save-codes --out "$bits"
done
