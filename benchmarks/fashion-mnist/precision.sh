#!/usr/bin/env bash
# Does bf16 training on a CPU with native bf16 change category retrieval?  The `categories` recipe (40 epochs,
# 64 bits, seed 0: the split of grid seed 0), NAC trained in bf16 autocast (cpu_bf16, on a CPU with native
# bf16) and in fp32, one after the other; CPU only, 2 cores, one process at a time.  (The committed runs of
# 2026-12-01 named the setting precision=auto / precision=fp32: the same two runs.)
# Usage: bash benchmarks/fashion-mnist/precision.sh     Needs: apt-get install dataset-fashion-mnist
set -euo pipefail
cd "$(dirname "$0")"
for precision in auto fp32; do
  bf16=$([ "$precision" = auto ] && echo true || echo false)
  nacsearch eval --dataset fashion-mnist:/usr/share/datasets/fashion-mnist --bits 64 --methods nac \
      --epochs 40 --device cpu --seed 0 --nac-set "cpu_bf16=$bf16" --out "precision/$precision"
done
