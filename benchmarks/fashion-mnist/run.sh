#!/usr/bin/env bash
# The exact commands behind benchmarks/fashion-mnist/<bits>/report.md (CPU only, 2 cores).
# Needs: apt-get install dataset-fashion-mnist
# Every deep method (nac, simclr, distillhash) gets the same 40 epochs on the same 5,000 training images.
set -euo pipefail
cd "$(dirname "$0")"
for bits in 64 32 16; do
  nacsearch eval --dataset fashion-mnist:/usr/share/datasets/fashion-mnist --bits "$bits" \
      --methods itq,lsh,pcah,sh,phash,nac,simclr,distillhash --epochs 40 --device cpu --seed 0 \
      --save-codes --out "$bits"
done
