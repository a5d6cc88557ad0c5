#!/usr/bin/env bash
# InfoMin-style view search beyond the crop area: one augmentation of the SimCLR family (or its strength)
# changed at a time in the categories recipe's views, against the defaults (crop area 0.6-1, flip 0.5,
# brightness/contrast jitter 0.4 with probability 0.8, nothing else).  64 bits unless BITS is set, SEED (default 0)
# picks the split and training seed, METHODS (default nac) the learned methods; exactly 40 epochs
# (recipe_set.py: no time budget); settings are chosen on each report's validation column, never on test.
# Fashion-MNIST backgrounds are black, so warps that uncover area fill it with 0.
#   erase-25   random erasing (cutout, a black box of 20-50% of each side) with probability 0.25
#   blur-50    Gaussian blur, sigma U(0.1, 2) px, with probability 0.5
#   rotate-50  rotation by U(-10, 10) degrees with probability 0.5
#   zoom-30    with probability 0.3 the garment shrinks to a side of U(0.7, 1) of the frame instead of a crop
#   jitter-60  brightness/contrast jitter 0.6 instead of 0.4
#   crop-40    crop area 0.4-1 instead of 0.6-1
#   defaults   no change (the same code's plain row)
# Usage: [BITS=64] [SEED=0] [METHODS=nac] OMP_NUM_THREADS=2 bash benchmarks/fashion-mnist/views.sh [NAME...]
#        (reports in views/<bits>/<name>, or views/seed<S>/<bits>/<name> for SEED > 0)
# Needs: apt-get install dataset-fashion-mnist
set -euo pipefail
cd "$(dirname "$0")"
bits=${BITS:-64}; seed=${SEED:-0}; methods=${METHODS:-nac}
declare -A SETTINGS=([erase-25]="views.erase_p=0.25" [blur-50]="views.blur_p=0.5"
                     [rotate-50]="views.rotate_p=0.5 views.rotate=10 views.fill=0"
                     [zoom-30]="views.zoom_out_p=0.3 views.fill=0" [jitter-60]="views.jitter=0.6"
                     [crop-40]="views.crop_scale=[0.4,1.0]" [defaults]="")
out=views; [ "$seed" = 0 ] || out="views/seed$seed"
for name in "${@:-erase-25 blur-50 rotate-50 zoom-30 jitter-60}"; do
  for n in $name; do
    [ -n "${SETTINGS[$n]+x}" ] || { echo "unknown view setting $n" >&2; exit 2; }
    # shellcheck disable=SC2086
    python recipe_set.py "$out/$bits/$n" "$bits" "$seed" "$methods" ${SETTINGS[$n]}
  done
done
