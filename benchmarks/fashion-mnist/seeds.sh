#!/usr/bin/env bash
# Seed check behind the "seeds" table of RESULTS.md: NAC and ITQ at 64 bits (the closest
# length) with seeds 1 and 2 (new split and new training seed each); seed 0 is 64/report.json.
set -euo pipefail
cd "$(dirname "$0")"
for seed in 1 2; do
  nacsearch eval --dataset fashion-mnist:/usr/share/datasets/fashion-mnist --bits 64 \
      --methods itq,nac --epochs 40 --device cpu --seed "$seed" --out "seeds/64-seed$seed"
done
