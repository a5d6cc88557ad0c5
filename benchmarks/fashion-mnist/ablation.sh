#!/usr/bin/env bash
# Seed-paper ideas as NAC plug-ins, each on/off against the 2026-11 defaults (64 bits, seed 0, the same
# 40 epochs on the same 5,000 training images; CPU only, 2 cores, one process at a time).  Decisions are
# taken on the validation column of each report (queries from the training images), never on test.
#   prior-1   DIM-DM-style regulariser toward uniform, decorrelated bits, weight 1
#   loco      LoCo-style local training: a NAC loss on each of the three backbone stages, overlapping by one
#   prior-sf-1  the same prior in its scale-free form (each bit at RMS 1 over the batch first), weight 1
#   image-norm  each image standardised by its own mean and std (the copies recipe's input)
#   width-32    the 'small' backbone at base width 32 instead of 16 (about 3x the compute per step)
#   ema-0.999   encode with an exponential moving average of the weights (decay 0.999 per step; also ema-0.99)
#   no-pair-negative  the other view of the same image is not among NAC's negatives (the reference counts it)
#   neighbours-1024   NNCLR-style: the inference head also predicts the nearest of the last 1,024 codes to the
#                     other view's code, at half the positive's weight (also -w25: a quarter, -w10: a tenth)
#   p-0.03, p-0.15, p-0.25  the channel's flip probability p instead of 0.08 (chosen in 2026-11 on NAC's own
#               trained code layer; with the ITQ code layer, p only shapes the backbone the layer reads)
#   batch-16, batch-64  batches of 16 or 64 pairs instead of 32 (the same 40 epochs: twice or half the steps)
#   hidden-512  the trained heads' hidden layer 512 wide instead of the feature dim (128); the ITQ code layer
#               still reads the features
#   lr-1e-3, lr-4e-3  AdamW's peak learning rate half or twice the default 2e-3
#   defaults    no override: the plain NAC row of the same code, for validation numbers added since
# Every row runs exactly 40 epochs (--train-minutes 0: no time budget; the step count never depends on the
# machine's speed; the views' randomness is indexed by step, so a row reproduces its numbers).
# Usage: bash benchmarks/fashion-mnist/ablation.sh [NAME...]   (default: all)
# Needs: apt-get install dataset-fashion-mnist
set -euo pipefail
cd "$(dirname "$0")"
declare -A SETTINGS=([prior-1]="prior_weight=1.0" [loco]="loco=true"
                     [prior-sf-1]="prior_weight=1.0 prior_normalise=true" [image-norm]="input_norm=image"
                     [width-32]="width=32" [ema-0.999]="ema=0.999" [ema-0.99]="ema=0.99"
                     [no-pair-negative]="pair_negative=false" [neighbours-1024]="neighbours=1024"
                     [neighbours-1024-w25]="neighbours=1024 neighbour_weight=0.25"
                     [neighbours-1024-w10]="neighbours=1024 neighbour_weight=0.1" [defaults]=""
                     [p-0.03]="p=0.03" [p-0.15]="p=0.15" [p-0.25]="p=0.25"
                     [batch-16]="batch_size=16" [batch-64]="batch_size=64" [hidden-512]="hidden=512"
                     [lr-1e-3]="lr=0.001" [lr-4e-3]="lr=0.004")
for name in "${@:-prior-1 loco}"; do
  for n in $name; do
    sets=()
    for kv in ${SETTINGS[$n]}; do sets+=(--nac-set "$kv"); done
    nacsearch eval --dataset fashion-mnist:/usr/share/datasets/fashion-mnist --bits 64 --methods nac \
        --epochs 40 --train-minutes 0 --device cpu --seed 0 "${sets[@]}" --out "ablation/$n"
  done
done
