"""The 2026-11 `copies` recipe (no image normalisation, the prior's first form) on the *test* collection,
with today's training code: a same-sitting reference for the test report of the current recipe (not a
choice: recipes are chosen on the validation collection).  NAC only, 64 bits, the 10-minute budget.
Usage: python benchmarks/neardup/test_control.py /tmp/nacsearch-neardup-images
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

from nacsearch.eval.copy_runner import run_neardup

OLD_COPIES = {"input_norm": "dataset", "prior_normalise": False}  # what the 2026-12 recipe changed

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    rep = run_neardup(sys.argv[1], [64], ["nac"], Path(__file__).parent / "test-control-2026-11-recipe",
                      split="test", train={"nac": OLD_COPIES}, progress=False)
    r = rep["results"]["64"]["nac"]
    print(f"recall@1 {r['recall@1']:.4f} at<=0.1fp {r['best_recall_at_false']['recall']:.4f}", flush=True)
