#!/usr/bin/env bash
# The transductive variant: learned methods fit the 69,000 unlabeled database images (as build-index
# fits a collection), CPU only, 2 cores, one process at a time.  Two ways to set the length:
#   MINUTES=M  a training budget of M minutes per method; the plan is timed on this machine, so step counts
#              depend on it and are recorded in report.json (reports in transductive-<M>min/)
#   EPOCHS=E   exactly E epochs of the 69,000 images (2,156 steps of 32 each) whatever the machine
#              (reports in transductive-<E>ep/)
#   NAC_SET="K=V ..."  settings of NAC only, as `nacsearch eval --nac-set K=V` (e.g. "width=32")
# Usage: MINUTES=5 | EPOCHS=8 [METHODS=nac,simclr,cibhash,itq] [SEED=0] [OUT=DIR] [NAC_SET=...]
#        bash benchmarks/fashion-mnist/transductive.sh [BITS...]
#        (default: 64 32 16; seed 0 writes <dir>/<bits>, seed S > 0 <dir>/seed<S>/<bits>; OUT replaces <dir>)
# Needs: apt-get install dataset-fashion-mnist
set -euo pipefail
cd "$(dirname "$0")"
methods=${METHODS:-nac,simclr,cibhash,itq}
seed=${SEED:-0}
if [ -n "${EPOCHS:-}" ]; then
  length=(--train-minutes 0 --epochs "$EPOCHS"); out="transductive-${EPOCHS}ep"
else
  minutes=${MINUTES:-5}
  length=(--train-minutes "$minutes" --epochs 1000); out="transductive-${minutes}min"
fi
out=${OUT:-$out}
sets=()
for kv in ${NAC_SET:-}; do sets+=(--nac-set "$kv"); done
[ "$seed" = 0 ] || out="$out/seed$seed"
for bits in "${@:-64 32 16}"; do
  for b in $bits; do
    nacsearch eval --dataset fashion-mnist:/usr/share/datasets/fashion-mnist --bits "$b" \
        --methods "$methods" --train-on database "${length[@]}" \
        --device cpu --seed "$seed" "${sets[@]}" --out "$out/$b"
  done
done
