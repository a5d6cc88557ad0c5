#!/usr/bin/env bash
# InfoMin-style view strength for the categories recipe (Tian et al., NeurIPS 2020: the best views share as
# little as the task allows), searched on the validation split only: NAC at 64 bits, seed 0 (the split of grid
# seed 0), 40 epochs on the 5,000 training images, with one setting of the recipe's ViewConfig changed
# (recipe_set.py, this process only).  Read each report's validation column against grid-2026-12-head128/seed0
# (the same code and split with the default views: crop area 0.6-1, jitter 0.4, no blur, no cutout).
#   jitter-0.6, jitter-0.8   brightness/contrast jitter strength (0.2 lost 0.04 against 0.4 in 2026-11)
#   crop-0.4, crop-0.8       random-resized-crop area from 0.4 (or 0.8) instead of 0.6
#   erase-0.25               cutout with probability 0.25
#   blur-0.3                 Gaussian blur with probability 0.3
#   jitter-1.0               strength 1.0
#   multicrop-2, multicrop-4 2 or 4 small crops (14 px, area 0.05-0.4) per image beside the two full views (SwAV's
#                            multi-crop; run with METHODS=nac,simclr,itq+simclr, as it changes every encoder)
#   multicrop-2-wide         2 small crops of 20 px covering 0.3-0.8 of the image
#   jitter-0.4               strength 0.4, the value before 2026-12-03 (for a method that may prefer it:
#                            OUT=views-cibhash METHODS=cibhash ... jitter-0.4)
# A setting that wins for NAC is then run for SimCLR too (OUT=views-simclr METHODS=simclr,itq+simclr ... jitter-0.8)
# before it joins the recipe, since the recipe's views are every learned method's.  Run with the code of 3e68014
# (jitter 0.4 in the recipe); with later code every row also has the recipe's jitter of 0.8 (the combinations
# in views-jitter-0.8/: OUT=views-jitter-0.8 bash views.sh "blur-0.3 crop-0.8").
# Usage: [OUT=views] [METHODS=nac] bash benchmarks/fashion-mnist/views.sh [NAME...]   (default: all)
# CPU only, 2 cores, one process at a time.  Needs: apt-get install dataset-fashion-mnist
set -euo pipefail
cd "$(dirname "$0")"
OUT=${OUT:-views}
METHODS=${METHODS:-nac}
declare -A SETTINGS=([jitter-0.4]="views.jitter=0.4" [jitter-0.6]="views.jitter=0.6" [jitter-0.8]="views.jitter=0.8" [jitter-1.0]="views.jitter=1.0"
                     [crop-0.4]="views.crop_scale=[0.4,1.0]" [crop-0.8]="views.crop_scale=[0.8,1.0]"
                     [erase-0.25]="views.erase_p=0.25" [blur-0.3]="views.blur_p=0.3"
                     [multicrop-2]="views.small_crops=2" [multicrop-4]="views.small_crops=4"
                     [multicrop-2-wide]="views.small_crops=2 views.small_size=20 views.small_scale=[0.3,0.8]")
for name in "${@:-jitter-0.6 jitter-0.8 crop-0.4 crop-0.8 erase-0.25 blur-0.3}"; do
  for n in $name; do
    [ -n "${SETTINGS[$n]+x}" ] || { echo "unknown view setting $n" >&2; exit 2; }
    # shellcheck disable=SC2086  # the settings are separate KEY=VALUE words
    python recipe_set.py "$OUT/$n" 64 0 "$METHODS" ${SETTINGS[$n]}
  done
done
