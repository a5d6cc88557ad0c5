"""The evaluation runner: split, train what needs training, encode, score, report.

Every method is a :class:`~nacsearch.eval.baselines.base.Hasher`; the same metric code
scores all of them on the same seeded split.  Test queries are only ever scored;
validation numbers (from the training images) are reported beside them for selection.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from nacsearch.datasets import ArrayImages, open_dataset, parse_spec
from nacsearch.eval.metrics import evaluate
from nacsearch.eval.protocols import PROTOCOLS, Split, describe, make_split
from nacsearch.provenance import provenance, write_json

log = logging.getLogger(__name__)

METHODS = ("nac", "simclr", "distillhash", "itq", "lsh", "pcah", "sh", "phash", "ahash", "dhash", "whash")


def make_hasher(name: str, bits: int, work_dir: Path, device: str, epochs: int | None, progress: bool,
                features_from: str | None = None, nac_overrides: dict | None = None):
    """A fresh, unfitted hasher for ``name``."""
    from nacsearch.eval.baselines import projection as P
    from nacsearch.eval.baselines.base import checkpoint_features
    from nacsearch.eval.baselines.deep import DeepHasher
    from nacsearch.eval.baselines.perceptual import PerceptualHash

    feats = checkpoint_features(features_from, "cpu") if features_from else None
    classic = {"itq": P.ITQ, "lsh": P.LSH, "pcah": P.PCAH, "sh": P.SpectralHashing}
    if name in classic:
        return classic[name](bits, feats)
    if name in ("phash", "ahash", "dhash", "whash"):
        return PerceptualHash(bits, name)
    if name in ("nac", "simclr", "distillhash"):
        kw = dict(nac_overrides or {}) if name == "nac" else {}
        if epochs:
            kw["epochs"] = epochs
        return DeepHasher(bits, name, work_dir / f"{name}-{bits}", device, features=feats if name == "distillhash" else None,
                          progress=progress, **kw)
    raise ValueError(f"unknown method {name!r}; choose from {', '.join(METHODS)}")


def load_labelled(spec: str, mirflickr_images: str = "all") -> ArrayImages:
    """Dataset with labels for a protocol (``mirflickr_images``: all 25,000 or 'labelled' 24,581)."""
    kind, _ = parse_spec(spec)
    if kind not in PROTOCOLS:
        raise ValueError(f"{spec}: evaluation needs fashion-mnist:PATH, cifar10:PATH or mirflickr:PATH")
    data = open_dataset(spec)
    if kind == "mirflickr" and mirflickr_images == "labelled":
        data = data.subset(np.flatnonzero(data.labels.any(axis=1)))
    return data


def _score(hasher, data: ArrayImages, split: Split, protocol, timings: dict) -> dict:
    t = time.perf_counter()
    cq, cdb = hasher.encode(data.images[split.query]), hasher.encode(data.images[split.database])
    timings["encode_s"] = time.perf_counter() - t
    test = evaluate(cq, cdb, data.labels[split.query], data.labels[split.database], map_at=protocol.map_at)
    vq, vdb = hasher.encode(data.images[split.val_query]), hasher.encode(data.images[split.val_database])
    val = evaluate(vq, vdb, data.labels[split.val_query], data.labels[split.val_database],
                   map_at=protocol.map_at[:1], precision_at=(), pr_curve=False)
    return {"test": test, "validation": val, "codes": (cq, cdb)}


def run_eval(spec: str, bits_list: list[int], methods: list[str], out_dir: str | Path, device: str = "auto",
             epochs: int | None = None, seed: int = 0, save_codes: bool = False, scale: float = 1.0,
             features_from: str | None = None, mirflickr_images: str = "all", progress: bool = True,
             nac_overrides: dict | None = None) -> dict:
    """Run the protocol for every (bits, method); writes report.json, report.md and plots in ``out_dir``."""
    from nacsearch.eval.report import write_report

    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ValueError(f"unknown method(s) {unknown}; choose from {', '.join(METHODS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    kind, _ = parse_spec(spec)
    protocol = PROTOCOLS[kind] if kind in PROTOCOLS else None
    data = load_labelled(spec, mirflickr_images)
    split = make_split(data.labels, protocol, seed, scale)
    np.savez(out / "split.npz", query=split.query, database=split.database, train=split.train,
             val_query=split.val_query, val_database=split.val_database)
    report = {"dataset": spec, "images": len(data), "protocol": describe(protocol, split), "bits": bits_list,
              "methods": methods, "seed": seed, "epochs": epochs, "scale": scale, "features_from": features_from,
              "mirflickr_images": mirflickr_images if kind == "mirflickr" else None, "nac_overrides": nac_overrides,
              "provenance": provenance(), "results": {}}
    t_all = time.perf_counter()
    for bits in bits_list:
        for name in methods:
            log.info("[eval] %s %d bits", name, bits)
            timings: dict = {}
            hasher = make_hasher(name, bits, out / "models", device, epochs, progress, features_from, nac_overrides)
            t = time.perf_counter()
            truth = data.labels[split.train] if name == "distillhash" else None
            train_images = data.images[split.train]
            hasher.fit(train_images, seed, truth) if truth is not None else hasher.fit(train_images, seed)
            timings["fit_s"] = time.perf_counter() - t
            res = _score(hasher, data, split, protocol, timings)
            cq, cdb = res.pop("codes")
            if save_codes:
                _save_codes(out / "codes", name, bits, cq, cdb, data.labels[split.query], data.labels[split.database])
            res["timings"] = {k: round(v, 2) for k, v in timings.items()}
            res["diagnostics"] = getattr(hasher, "diagnostics", {})
            report["results"].setdefault(str(bits), {})[name] = res
            log.info("[eval] %s %d bits: test %s %.4f (validation %.4f)", name, bits, protocol.headline,
                     res["test"][protocol.headline], res["validation"][protocol.headline])
    report["wall_s"] = round(time.perf_counter() - t_all, 1)
    write_json(out / "report.json", report)
    write_report(report, out)
    return report


def _save_codes(d: Path, name: str, bits: int, cq, cdb, lq, ldb) -> None:
    d.mkdir(parents=True, exist_ok=True)
    np.save(d / f"{name}_{bits}_query.npy", cq)
    np.save(d / f"{name}_{bits}_database.npy", cdb)
    np.save(d / "query_labels.npy", lq)
    np.save(d / "database_labels.npy", ldb)
