"""The near-duplicate evaluation: every method hashes the same originals and edited copies.

Learned methods (nac, simclr, cibhash, and the classic projections) are fitted on the database images
only, the way ``build-index`` trains on a collection: NAC and SimCLR-sign with the recipe and
training budget of ``build-index`` (``COLLECTION_RECIPE``, ``TrainConfig.minutes`` /
``max_images``) unless told otherwise.
Learned methods see what ``build-index`` feeds its encoder (the folder rule's channels and size,
:func:`nacsearch.imageio.decode_image`); perceptual hashes see the whole image, as a user calling
imagehash on the file would.
"""
from __future__ import annotations

import io
import logging
import time
from dataclasses import asdict, is_dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image

from nacsearch.config import TrainConfig
from nacsearch.datasets.imagefolder import folder_format
from nacsearch.eval.copy_metrics import copy_metrics
from nacsearch.eval.edits import EditParams, describe_edits
from nacsearch.eval.neardup import CopySet, build_copy_set
from nacsearch.imageio import decode_image, decode_regions
from nacsearch.named_recipes import COLLECTION_RECIPE
from nacsearch.provenance import provenance, write_json
from nacsearch.regions import RegionConfig, region_images

log = logging.getLogger(__name__)

BUDGETED = ("nac", "simclr", "cibhash")  # trained with build-index's recipe and budget unless told otherwise
NEARDUP_METHODS = ("nac", "simclr", "cibhash", "itq", "lsh", "pcah", "phash", "ahash", "dhash", "whash")


def decode_copy_set(cs: CopySet, fmt: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(database, queries) as ``uint8 (N, C, S, S)`` for ``fmt = (channels, size)``, decoded as build-index
    decodes files."""
    return tuple(np.stack([decode_image(b, *fmt) for b in part]) for part in (cs.database, cs.queries))


def region_arrays(cs: CopySet, fmt: tuple[int, int], regions: RegionConfig) -> np.ndarray:
    """``uint8 (N * regions.count, C, S, S)``: each original's regions in turn (:mod:`nacsearch.regions`),
    decoded as build-index decodes files."""
    make = lambda im: region_images(im, regions)  # noqa: E731
    return np.concatenate([decode_regions(b, *fmt, make)[1:] for b in cs.database])


def region_rows(n: int, regions: RegionConfig) -> tuple[np.ndarray, np.ndarray]:
    """(owner, extra) of :func:`~nacsearch.eval.copy_metrics.copy_ranks` for a database of ``n`` originals'
    codes followed by ``regions.count`` region codes of each, in order."""
    owner = np.r_[np.arange(n), np.repeat(np.arange(n), regions.count)]
    return owner, np.r_[np.zeros(n, np.int64), regions.row_penalties(n)]


class _Inputs:
    """The copy set decoded once for every method: model arrays (folder rule format) and PIL images, and
    the regions of every original when the database indexes them."""

    def __init__(self, cs: CopySet, fmt: tuple[int, int], regions: RegionConfig | None = None) -> None:
        self.cs, self.fmt, self.regions = cs, fmt, regions

    @cached_property
    def region_arrays(self) -> np.ndarray:
        return region_arrays(self.cs, self.fmt, self.regions)

    @cached_property
    def region_pil(self) -> list[Image.Image]:
        """The same regions as whole PIL images, for the perceptual hashes."""
        return [r for im in self.pil[0] for r in region_images(im, self.regions)]

    @cached_property
    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(database, queries) as ``uint8 (N, C, S, S)``, decoded as build-index decodes files."""
        return decode_copy_set(self.cs, self.fmt)

    @cached_property
    def pil(self) -> tuple[list[Image.Image], list[Image.Image]]:
        """(database, queries) as whole PIL images, as a user opens the files."""
        def one(b: bytes) -> Image.Image:
            with Image.open(io.BytesIO(b)) as im:
                im.load()
                return im.copy()

        return [one(b) for b in self.cs.database], [one(b) for b in self.cs.queries]


def _hash(name: str, bits: int, inputs: _Inputs, out: Path, device: str, seed: int, train: dict,
          progress: bool) -> tuple[np.ndarray, np.ndarray, dict]:
    """(query codes, database codes, timings/diagnostics) for one method; with regions, the database codes
    are the originals' followed by their regions' (:class:`_Inputs`)."""
    from nacsearch.eval.runner import make_hasher

    t = time.perf_counter()
    hasher = make_hasher(name, bits, out / "models", device, progress)
    if name in BUDGETED:
        hasher.overrides.update({"minutes": TrainConfig.minutes, "max_images": TrainConfig.max_images,
                                 "recipe": COLLECTION_RECIPE, **train.get(name, {})})
    if hasattr(hasher, "encode_pil"):
        db_im, q_im = inputs.pil
        db, q = hasher.encode_pil(db_im + (inputs.region_pil if inputs.regions else [])), hasher.encode_pil(q_im)
        return q, db, {"encode_s": round(time.perf_counter() - t, 2)}
    db_x, q_x = inputs.arrays
    hasher.fit(db_x, seed)  # the originals only, with or without regions
    fit_s = time.perf_counter() - t
    db, q = hasher.encode(db_x), hasher.encode(q_x)
    if inputs.regions:
        db = np.concatenate([db, hasher.encode(inputs.region_arrays)])
    info = {"fit_s": round(fit_s, 2), "encode_s": round(time.perf_counter() - t - fit_s, 2)}
    info.update({k: v for k, v in getattr(hasher, "diagnostics", {}).items() if k != "pseudo_labels"})
    return q, db, info


def _score_copies(name: str, bits: int, q: np.ndarray, db: np.ndarray, cs, regions: RegionConfig | None,
                  rows: tuple, budget: float) -> dict:
    """One method's near-duplicate metrics (``rows``: :func:`region_rows` of the database, or (None, None)); with
    ``regions``, also those of the same codes on whole images only."""
    owner, extra = rows
    res = copy_metrics(q, db, cs.target, cs.kinds, budget=budget, owner=owner, extra=extra)
    if regions:  # the same codes without the regions, for comparison
        whole = copy_metrics(q, db[:len(cs.database)], cs.target, cs.kinds, budget=budget)
        res["whole_image"] = {k: v for k, v in whole.items() if k != "tradeoff"}
    log.info("[neardup] %s %d bits: recall@1 %.4f, recall at <= %.2g false/query %.4f", name, bits,
             res["recall@1"], budget, res["best_recall_at_false"]["recall"])
    return res


def run_neardup(images: str | Path, bits_list: list[int], methods: list[str], out_dir: str | Path,
                split: str = "test", seed: int = 0, n_queries: int = 1000, val_sources: int = 1000,
                test_sources: int = 3000, device: str = "auto", train: dict | None = None,
                image_size: int | None = None, params: EditParams = EditParams(), budget: float = 0.1,
                progress: bool = True, train_seed: int | None = None, regions: RegionConfig | None = None) -> dict:
    """Run the near-duplicate protocol; writes report.json, report.md and plots in ``out_dir``.

    ``train`` maps a deep method to overrides of its training recipe (``{"nac": {"minutes": 3}}``).
    ``seed`` draws the collections and edits; ``train_seed`` (default: ``seed``) seeds the learned
    methods' fits, so that a recipe's spread over training seeds is measured on the same copies.
    ``regions``: every method's database holds the codes of these regions of each original too, each region's
    distance counting its penalty more (:mod:`nacsearch.regions`); methods still fit the originals.
    """
    from nacsearch.eval.copy_report import write_copy_report

    unknown = [m for m in methods if m not in NEARDUP_METHODS]
    if unknown or not methods:
        raise ValueError(f"unknown method(s) {unknown}; choose from {', '.join(NEARDUP_METHODS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    train = train or {}
    cs = build_copy_set(images, split, seed, n_queries, val_sources, test_sources, params=params, progress=progress)
    fmt = folder_format(images, image_size=image_size)
    report = {"protocol": "neardup", "images": str(images), "split": split, "seed": seed, "set": cs.info,
              "format": {"channels": fmt[0], "image_size": fmt[1]}, "edits": describe_edits(params),
              "bits": bits_list, "methods": methods, "budget_false_per_query": budget,
              "train_seed": seed if train_seed is None else train_seed,
              "regions": None if regions is None else asdict(regions),
              "train": {k: {kk: asdict(vv) if is_dataclass(vv) else vv for kk, vv in v.items()}
                        for k, v in train.items()},
              "provenance": provenance(), "results": {}}
    t_all = time.perf_counter()
    inputs = _Inputs(cs, fmt, regions)
    rows = region_rows(len(cs.database), regions) if regions else (None, None)  # (owner, extra) of each db row
    for bits in bits_list:
        for name in methods:
            log.info("[neardup] %s %d bits", name, bits)
            q, db, info = _hash(name, bits, inputs, out, device, report["train_seed"], train, progress)
            res = _score_copies(name, bits, q, db, cs, regions, rows, budget)
            res["timings"] = info
            report["results"].setdefault(str(bits), {})[name] = res
    report["wall_s"] = round(time.perf_counter() - t_all, 1)
    write_json(out / "report.json", report)
    write_copy_report(report, out)
    return report
