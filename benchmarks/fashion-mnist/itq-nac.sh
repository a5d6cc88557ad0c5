#!/usr/bin/env bash
# ITQ on the backbone features of NAC's own encoder (itq+nac), beside the NAC codes of the same model, and
# SimCLR-sign with ITQ on its features (itq+simclr) from the same code:
# standard protocol, 40 epochs on the seed's 5,000 training images, 16/32/64 bits, one report per seed
# (CPU only, 2 cores, one process at a time).
# Usage: bash benchmarks/fashion-mnist/itq-nac.sh [SEED...]   (default: 0)
# Needs: apt-get install dataset-fashion-mnist
set -euo pipefail
cd "$(dirname "$0")"
for seed in "${@:-0}"; do
  nacsearch eval --dataset fashion-mnist:/usr/share/datasets/fashion-mnist --bits 16,32,64 \
      --methods nac,itq+nac,simclr,itq+simclr --epochs 40 --device cpu --seed "$seed" --out "itq-nac/seed$seed"
done
