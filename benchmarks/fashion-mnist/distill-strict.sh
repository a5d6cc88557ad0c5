#!/usr/bin/env bash
# DistillHash-style with stricter distillation (alpha 2.5: 0.87 % of pairs kept as similar at 78 % precision,
# against 1.46 % at 69 % with the default alpha 1.5; see pseudo_labels.py and baselines/32/pseudo-labels.jsonl),
# on the features of the SimCLR encoder trained in the same run; 32 bits, seed 0, 40 epochs
# (CPU only, 2 cores, one process at a time).
# Usage: bash benchmarks/fashion-mnist/distill-strict.sh
# Needs: apt-get install dataset-fashion-mnist
set -euo pipefail
cd "$(dirname "$0")"
nacsearch eval --dataset fashion-mnist:/usr/share/datasets/fashion-mnist --bits 32 \
    --methods simclr,itq+simclr,distillhash+simclr --distill-set k=100 --distill-set alpha=2.5 \
    --epochs 40 --device cpu --seed 0 --out distill-strict/32
