"""Mirror-summed codes on category retrieval: a trained Fashion-MNIST model scored both ways, no retraining.

For each report directory (its ``split.npz`` and ``models/nac-64``), the same weights encode the 70,000
images plainly and with ``ModelConfig.mirror_sum`` (sign(u(x) + u(mirror x))); both are scored on the
report's split: test mAP@1000 / mAP@all / precision within radius 2 and validation mAP@1000.
Usage: python benchmarks/fashion-mnist/mirror_sum.py REPORT_DIR [REPORT_DIR ...]
Needs: apt-get install dataset-fashion-mnist
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from nacsearch.checkpoint import load_model
from nacsearch.encode import encode_images
from nacsearch.eval.metrics import split_scores
from nacsearch.eval.runner import load_labelled

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "neardup"))
from mirror_sum import with_mirror_sum  # noqa: E402  (one definition, shared with the near-duplicate script)

SPEC = "fashion-mnist:/usr/share/datasets/fashion-mnist"


def main(report_dirs: list[str]) -> None:
    data = load_labelled(SPEC)
    for d in report_dirs:
        sp = np.load(Path(d) / "split.npz")
        model, _ = load_model(Path(d) / "models" / "nac-64", torch.device("cpu"))
        for name, on in (("plain", False), ("mirror-sum", True)):
            c = encode_images(with_mirror_sum(model, on), data.images)
            print(json.dumps({"report": d, "codes": name, **split_scores(c, data.labels, sp)}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
