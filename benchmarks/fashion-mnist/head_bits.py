"""Does training NAC's code head longer than the code give ITQ better features?  Scored on trained models.

For each pair (report directory with the split, model directory trained at B bits), ITQ at 16 / 32 / 64 bits
(those <= B) is fitted on the backbone features of the split's training images -- exactly what the ITQ code layer
(``code_layer='itq-features'``) installs -- and scored on test and validation.  At the model's own length this
reproduces the report's ``nac`` (or ``itq+simclr``) cell.
Usage: OMP_NUM_THREADS=2 python benchmarks/fashion-mnist/head_bits.py SPLIT_DIR:MODEL_DIR [...] > out.jsonl
e.g. ``head_bits.py centred/all-128:centred/all-128/models/nac-128``.  One JSON line per (model, code bits).
Needs: apt-get install dataset-fashion-mnist
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
from nacsearch.checkpoint import load_model
from nacsearch.eval.metrics import split_scores
from nacsearch.eval.runner import load_labelled

from readout import SPEC, itq_codes, pooled_features


def main(pairs: list[str]) -> None:
    data = load_labelled(SPEC)
    for pair in pairs:
        split_dir, model_dir = pair.split(":", 1)
        sp = np.load(Path(split_dir) / "split.npz")
        model, meta = load_model(model_dir, torch.device("cpu"))
        run = meta["run"]
        feats = pooled_features(model, data.images)["global"]
        for bits in (b for b in (16, 32, 64, 128) if b <= run.model.bits and b <= feats.shape[1]):
            c = itq_codes(feats, sp["train"], bits, run.train.seed)
            print(json.dumps({"split": split_dir, "model": model_dir, "objective": run.objective.name,
                              "model_bits": run.model.bits, "bits": bits, **split_scores(c, data.labels, sp)}),
                  flush=True)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
