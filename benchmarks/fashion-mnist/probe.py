"""Tuning probe behind the tuning log in RESULTS.md: validation split only, never test queries.

Usage::

    python benchmarks/fashion-mnist/probe.py "bits=64,p=0.08,bs=32,cs=0.6,w=32" ["..." ...]
    python benchmarks/fashion-mnist/probe.py --bn-recalibrate MODEL_DIR [MODEL_DIR ...]

Each spec trains NAC (or ``obj=simclr``) on the protocol's 5,000 training images (seed 0
split) and prints validation mAP@1000: the 1,000 validation queries (training images, 100
per class) against a fixed 20,000-image subset of the validation database. Spec keys:
bits, w (width), g (head gain), p, bs (batch), lr, ep (epochs, default 10), cs (crop
scale), jit (jitter), obj. ``--bn-recalibrate`` scores saved models before and after
re-estimating their BatchNorm statistics on the clean (un-augmented) training images.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import torch

from nacsearch import codes as C
from nacsearch.checkpoint import load_model
from nacsearch.config import ModelConfig, ObjectiveConfig, RunConfig, TrainConfig, ViewConfig
from nacsearch.datasets import open_dataset
from nacsearch.encode import encode_images
from nacsearch.eval.metrics import mean_average_precision
from nacsearch.eval.protocols import PROTOCOLS, make_split
from nacsearch.train import train

DATA = "fashion-mnist:/usr/share/datasets/fashion-mnist"
WORK = Path("/tmp/nacsearch-probe")


def validation_set():
    """(dataset, split, validation query indices, 20,000 validation database indices)."""
    data = open_dataset(DATA, progress=False)
    split = make_split(data.labels, PROTOCOLS["fashion-mnist"], seed=0)
    vdb = np.random.default_rng(0).choice(split.val_database, 20000, replace=False)
    return data, split, split.val_query, vdb


def score(model, data, vq, vdb) -> tuple[float, str]:
    """Validation mAP@1000 and a bit-balance summary of the database codes."""
    cq, cdb = encode_images(model, data.images[vq]), encode_images(model, data.images[vdb])
    m = mean_average_precision(cq, cdb, data.labels[vq], data.labels[vdb], 1000)
    return m, C.format_balance(C.bit_balance(cdb))


def run_config(spec: str) -> RunConfig:
    kv = dict(item.split("=") for item in spec.split(","))
    get = lambda k, d, t=float: t(kv.get(k, d))  # noqa: E731
    return RunConfig(
        model=ModelConfig(bits=get("bits", 64, int), image_size=28, width=get("w", 16, int), head_gain=get("g", 16)),
        views=ViewConfig(crop_scale=(get("cs", 0.6), 1.0), jitter=get("jit", 0.4)),
        objective=ObjectiveConfig(name=kv.get("obj", "nac"), p=get("p", 0.08)),
        train=TrainConfig(epochs=get("ep", 10, int), batch_size=get("bs", 32, int), lr=get("lr", 2e-3), seed=0))


def recalibrate_bn(model, images: np.ndarray, batch: int = 256) -> None:
    """Re-estimate every BatchNorm's running mean/var on ``images`` (uint8 (n, C, H, W))."""
    for mod in model.modules():
        if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
            mod.reset_running_stats()
            mod.momentum = None  # cumulative average over the whole pass
    model.train()
    with torch.no_grad():
        for i in range(0, len(images), batch):
            model(torch.from_numpy(images[i:i + batch]).float().div_(255))
    model.eval()


def main(argv: list[str]) -> None:
    data, split, vq, vdb = validation_set()
    if argv[:1] == ["--bn-recalibrate"]:
        for out in argv[1:]:
            model, _ = load_model(out)
            before, _ = score(model, data, vq, vdb)
            recalibrate_bn(model, data.images[split.train])
            after, _ = score(model, data, vq, vdb)
            print(f"{out}: val mAP@1000 {before:.4f} -> {after:.4f} after BN recalibration", flush=True)
        return
    for spec in argv:
        out = WORK / spec.replace(",", "_").replace("=", "")
        shutil.rmtree(out, ignore_errors=True)
        res = train(run_config(spec), data.subset(split.train), out, device="cpu", progress=False)
        model, _ = load_model(out)
        m, balance = score(model, data, vq, vdb)
        print(f"{spec}: {res.steps} steps, {res.images_per_s:.0f} img/s, val mAP@1000 (20k db) {m:.4f}; "
              f"{balance}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
