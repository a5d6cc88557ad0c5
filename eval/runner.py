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

from nacsearch.config import OBJECTIVES
from nacsearch.datasets import ArrayImages, open_dataset, parse_spec
from nacsearch.eval.metrics import evaluate
from nacsearch.eval.protocols import PROTOCOLS, Split, describe, make_split
from nacsearch.provenance import provenance, write_json
from nacsearch.safeio import atomic_write_arrays

log = logging.getLogger(__name__)

DEEP = OBJECTIVES  # every training objective is a deep method
CLASSIC = ("itq", "lsh", "pcah", "sh")
PERCEPTUAL = ("phash", "ahash", "dhash", "whash")
METHODS = DEEP + CLASSIC + PERCEPTUAL
# "METHOD+simclr": a classic method or DistillHash-style on the backbone features of the SimCLR
# encoder trained in the same run, with the same data and budget (the analogue of pretrained features;
# DistillHash-style also starts its backbone from that encoder, as the paper fine-tunes its VGG-16);
# "METHOD+nac" the same on the NAC encoder of the run (its 'nac' row's model, trained once)
FEATURE_SOURCES = ("simclr", "nac")
FEATURE_USERS = CLASSIC + ("distillhash",)
TRAIN_ON = ("train", "database")  # what learned methods fit: the protocol's training split, or the
#                                   unlabeled database (transductive, as build-index does with a collection)


def parse_method(name: str) -> tuple[str, str | None]:
    """``"itq+simclr"`` -> ``("itq", "simclr")``; ``"nac"`` -> ``("nac", None)``; ValueError if unknown."""
    base, plus, feats = name.partition("+")
    if base not in METHODS or (plus and (feats not in FEATURE_SOURCES or base not in FEATURE_USERS)):
        raise ValueError(f"unknown method {name!r}; choose from {', '.join(METHODS)}, or "
                         f"{'/'.join(FEATURE_USERS)} + '+{'/+'.join(FEATURE_SOURCES)}'")
    return base, feats or None


def make_hasher(name: str, bits: int, work_dir: Path, device: str, progress: bool, features=None,
                overrides: dict | None = None, init_from: Path | None = None, distill: dict | None = None):
    """A fresh, unfitted hasher for the base method ``name``; ``features`` (a FeatureFn) replaces
    pixels for classic methods and DistillHash-style; ``overrides`` go to a deep method's recipe;
    ``init_from`` (a checkpoint directory) starts a deep method's backbone; ``distill`` holds
    DistillHash-style's pseudo-label settings (``k``, ``alpha``, ``beta`` of
    :func:`~nacsearch.eval.baselines.distillhash.pseudo_labels`)."""
    from nacsearch.eval.baselines import projection as P
    from nacsearch.eval.baselines.deep import DeepHasher
    from nacsearch.eval.baselines.perceptual import PerceptualHash

    classic = {"itq": P.ITQ, "lsh": P.LSH, "pcah": P.PCAH, "sh": P.SpectralHashing}
    if name in classic:
        return classic[name](bits, features)
    if name in PERCEPTUAL:
        return PerceptualHash(bits, name)
    if name in DEEP:
        suffix = "-features" if features is not None and name == "distillhash" else ""
        return DeepHasher(bits, name, work_dir / f"{name}{suffix}-{bits}", device,
                          features=features if name == "distillhash" else None, progress=progress,
                          init_from=init_from, distill=distill if name == "distillhash" else None,
                          **(overrides or {}))
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
                   map_at=protocol.map_at, precision_at=(), pr_curve=False)  # every mAP a choice may use
    return {"test": test, "validation": val, "codes": (cq, cdb)}


class _Fits:
    """Each method's hasher at one code length, fitted once; '+simclr' / '+nac' methods reuse that fit."""

    def __init__(self, bits: int, images: np.ndarray, labels: np.ndarray, seed: int, work: Path, device: str,
                 progress: bool, deep: dict, nac_overrides: dict | None, given=None, distill: dict | None = None) -> None:
        self.bits, self.images, self.labels, self.seed = bits, images, labels, seed
        self.work, self.device, self.progress = work, device, progress
        self.deep, self.nac_overrides, self.given, self.distill = deep, nac_overrides or {}, given, distill
        self.hashers: dict = {}
        self.fit_s: dict[str, float] = {}

    def get(self, name: str):
        if name not in self.hashers:
            base, feats = parse_method(name)
            source = self.get(feats) if feats else None
            features = source.features if source else self.given
            over = {**self.deep, **self.nac_overrides} if base == "nac" else self.deep
            # DistillHash fine-tunes the network its pseudo-labels come from (the paper's pretrained VGG-16)
            init = source.out_dir if source is not None and base == "distillhash" else None
            h = make_hasher(base, self.bits, self.work, self.device, self.progress, features, over, init, self.distill)
            t = time.perf_counter()
            if base == "distillhash":  # true labels only for the pseudo-label diagnostics
                h.fit(self.images, self.seed, self.labels)
            else:
                h.fit(self.images, self.seed)
            self.fit_s[name] = time.perf_counter() - t
            self.hashers[name] = h
        return self.hashers[name]


def run_eval(spec: str, bits_list: list[int], methods: list[str], out_dir: str | Path, device: str = "auto",
             epochs: int | None = None, seed: int = 0, save_codes: bool = False, scale: float = 1.0,
             features_from: str | None = None, mirflickr_images: str = "all", progress: bool = True,
             nac_overrides: dict | None = None, train_on: str = "train", minutes: float | None = None,
             distill: dict | None = None) -> dict:
    """Run the protocol for every (bits, method); writes report.json, report.md and plots in ``out_dir``.

    Deep methods train ``epochs`` passes (step-exact, reproducible) or, with ``minutes``, as many
    steps as fit that budget on this machine (capped by ``epochs``).  ``train_on="database"`` is the
    transductive variant.  ``nac_overrides`` go to NAC's recipe only; ``distill`` to DistillHash-style's
    pseudo-labels only (e.g. ``{"k": 100, "alpha": 2.5}``).
    """
    from nacsearch.eval.baselines.base import checkpoint_features
    from nacsearch.eval.report import write_report

    _check_arguments(methods, nac_overrides, distill, train_on)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    kind, _ = parse_spec(spec)
    protocol = PROTOCOLS[kind] if kind in PROTOCOLS else None
    data = load_labelled(spec, mirflickr_images)
    split = make_split(data.labels, protocol, seed, scale)
    atomic_write_arrays(out / "split.npz", query=split.query, database=split.database, train=split.train,
                        val_query=split.val_query, val_database=split.val_database)
    fit_on = split.train if train_on == "train" else split.database
    deep = {k: v for k, v in (("epochs", epochs), ("minutes", minutes)) if v is not None}
    report = {"dataset": spec, "images": len(data), "protocol": describe(protocol, split), "bits": bits_list,
              "methods": methods, "seed": seed, "epochs": epochs, "minutes": minutes, "train_on": train_on,
              "train_images": int(len(fit_on)), "scale": scale, "features_from": features_from,
              "mirflickr_images": mirflickr_images if kind == "mirflickr" else None, "nac_overrides": nac_overrides,
              "distill": distill, "provenance": provenance(), "results": {}}
    given = checkpoint_features(features_from, "cpu") if features_from else None
    codes_dir = out / "codes" if save_codes else None
    t_all = time.perf_counter()
    for bits in bits_list:
        fits = _Fits(bits, data.images[fit_on], data.labels[fit_on], seed, out / "models", device, progress,
                     deep, nac_overrides, given, distill)
        for name in methods:
            report["results"].setdefault(str(bits), {})[name] = _run_cell(fits, name, data, split, protocol, codes_dir)
    report["wall_s"] = round(time.perf_counter() - t_all, 1)
    write_json(out / "report.json", report)
    write_report(report, out)
    return report


def _run_cell(fits: _Fits, name: str, data: ArrayImages, split: Split, protocol, codes_dir: Path | None) -> dict:
    """Fit (once) and score one method at ``fits.bits``: its report entry; its codes in ``codes_dir`` if given."""
    log.info("[eval] %s %d bits", name, fits.bits)
    hasher = fits.get(name)
    timings = {"fit_s": fits.fit_s[name]}
    res = _score(hasher, data, split, protocol, timings)
    cq, cdb = res.pop("codes")
    if codes_dir is not None:
        _save_codes(codes_dir, name, fits.bits, cq, cdb, data.labels[split.query], data.labels[split.database])
    res["timings"] = {k: round(v, 2) for k, v in timings.items()}
    res["diagnostics"] = getattr(hasher, "diagnostics", {})
    log.info("[eval] %s %d bits: test %s %.4f (validation %.4f)", name, fits.bits, protocol.headline,
             res["test"][protocol.headline], res["validation"][protocol.headline])
    return res


def _check_arguments(methods: list[str], nac_overrides: dict | None, distill: dict | None, train_on: str) -> None:
    """ValueError for an unknown method, NAC or DistillHash setting, or ``train_on``, before anything is written."""
    for m in methods:
        parse_method(m)
    if not methods:
        raise ValueError(f"no methods; choose from {', '.join(METHODS)}")
    _check_overrides(nac_overrides)
    _check_distill(distill)
    if train_on not in TRAIN_ON:
        raise ValueError(f"train_on must be one of {TRAIN_ON}, got {train_on!r}")


def _check_settings(given: dict | None, fn, fixed: set[str], what: str) -> None:
    """ValueError unless every key of ``given`` is a parameter of ``fn`` other than ``fixed``."""
    import inspect

    allowed = set(inspect.signature(fn).parameters) - fixed
    bad = sorted(set(given or {}) - allowed)
    if bad:
        raise ValueError(f"unknown {what} setting(s) {bad}; choose from {', '.join(sorted(allowed))}")


def _check_overrides(overrides: dict | None) -> None:
    """ValueError unless every key is a setting of :func:`nacsearch.recipes.make_run_config`."""
    from nacsearch.recipes import make_run_config

    _check_settings(overrides, make_run_config, {"channels", "image_size", "bits", "objective", "seed"}, "NAC")


def _check_distill(distill: dict | None) -> None:
    """ValueError unless every key is a pseudo-label setting (not the features) of ``pseudo_labels``."""
    from nacsearch.eval.baselines.distillhash import pseudo_labels

    _check_settings(distill, pseudo_labels, {"features"}, "DistillHash")


def _save_codes(d: Path, name: str, bits: int, cq, cdb, lq, ldb) -> None:
    d.mkdir(parents=True, exist_ok=True)
    atomic_write_arrays(d / f"{name}_{bits}_query.npy", cq)
    atomic_write_arrays(d / f"{name}_{bits}_database.npy", cdb)
    atomic_write_arrays(d / "query_labels.npy", lq)
    atomic_write_arrays(d / "database_labels.npy", ldb)
