#!/usr/bin/env bash
# A longer schedule for NAC (the issue's "use the budget"): 120 epochs (3x the standard 40) on the
# 5,000 training images, seed 0, read on validation against grid/seed0 (40 epochs, same split).
# Usage: bash benchmarks/fashion-mnist/schedule.sh [BITS]   (default: 16)
# CPU only, 2 cores, one process at a time. Needs: apt-get install dataset-fashion-mnist
set -euo pipefail
cd "$(dirname "$0")"
bits=${1:-16}
nacsearch eval --dataset fashion-mnist:/usr/share/datasets/fashion-mnist --bits "$bits" \
    --methods nac --epochs 120 --device cpu --seed 0 --out "schedule/120ep-$bits"
