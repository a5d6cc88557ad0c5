"""Every deep method trained with the 'small' backbone's 2x2-quadrant pooling (ModelConfig.pool='grid2').

The standard protocol, 40 epochs, one seed, as ``nacsearch eval`` runs it, except that the ``categories``
recipe's pooling is 'grid2' for every deep method (NAC, SimCLR-sign, and the SimCLR encoder that
``itq+simclr`` quantises), so that the comparison keeps the same net for all of them.
Usage: OMP_NUM_THREADS=2 python benchmarks/fashion-mnist/pool_grid2.py OUT [BITS] [SEED]
(defaults: 64 bits, seed 0; reports as ``nacsearch eval`` writes them).  Needs: apt-get install dataset-fashion-mnist
"""
from __future__ import annotations

import logging
import sys

from nacsearch.config import RECIPES
from nacsearch.eval.runner import run_eval


def main(out: str, bits: int = 64, seed: int = 0) -> None:
    RECIPES["categories"] = {**RECIPES["categories"], "pool": "grid2"}   # this process only
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    run_eval("fashion-mnist:/usr/share/datasets/fashion-mnist", [bits], ["nac", "simclr", "itq+simclr"], out,
             device="cpu", epochs=40, seed=seed)


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:4]))
