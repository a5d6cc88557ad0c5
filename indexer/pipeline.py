"""The add pipeline: reader -> decode pool -> batched encoder -> batched writer.

* reader:  walk the folder (recursive, image extensions, no symlink loops) and plan
  (:mod:`nacsearch.indexer.plan`: unchanged files are skipped, moves keep their ids).
* decoder: read bytes once, SHA-256 them, decode (:func:`nacsearch.imageio.read_image`:
  DCT-scaled JPEG, EXIF orientation, L/RGB, resize) in a thread pool, one batch at a time,
  so memory does not grow with the number of files.  Bad files (empty, truncated, not an
  image, too large) go to ``skipped.jsonl`` with the reason, never into the index.
* encoder: batched on the chosen device, progress bar with img/s on stderr.
* writer:  one LMDB transaction per batch (records + codes + keys), then FAISS; the FAISS
  file and index.json are written at the end (and rebuilt from LMDB if a run died).
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from nacsearch.datasets.imagefolder import walk_images
from nacsearch.device import resolve_device
from nacsearch.encode import encode_images
from nacsearch.imageio import ImageError, read_image, skip_row
from nacsearch.indexer.index import SKIPPED, Index
from nacsearch.indexer.manage import prune_missing
from nacsearch.indexer.plan import Todo, plan_files, split_moved
from nacsearch.indexer.records import Record
from nacsearch.regions import RegionConfig, region_images
from nacsearch.safeio import append_lines


@dataclass
class AddReport:
    """What one add did; ``skipped`` holds ``{path, reason, detail}`` rows."""

    added: int = 0
    replaced: int = 0
    moved: int = 0
    unchanged: int = 0
    pruned: int = 0
    skipped: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def images_per_s(self) -> float:
        return self.added / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {"added": self.added, "replaced": self.replaced, "moved": self.moved, "unchanged": self.unchanged,
                "pruned": self.pruned, "skipped": len(self.skipped), "seconds": round(self.seconds, 3),
                "images_per_s": round(self.images_per_s, 1)}


def _decode(item: Todo, channels: int, size: int, regions: RegionConfig | None = None):
    path, st, old = item
    try:
        arr, data = read_image(path, channels, size, None if regions is None else partial(region_images, cfg=regions))
    except ImageError as e:
        return None, skip_row(path, e)
    rec = Record(path=str(path), abspath=os.path.abspath(path), size=st.st_size, mtime_ns=st.st_mtime_ns,
                 sha256=hashlib.sha256(data).hexdigest())
    return (rec, arr, old), None


def add_images(index: Index, images: str | os.PathLike, batch_size: int = 256, device: str = "auto",
               progress: bool = True, threads: int = 4, prune: bool = False) -> AddReport:
    """Index new and changed images under ``images`` (``prune``: first drop records of deleted files)."""
    t0 = time.perf_counter()
    report = AddReport()
    if prune:
        report.pruned = prune_missing(index)
    dev = resolve_device(device)
    model = index.model(str(dev))
    mcfg = model.cfg
    todo, report.unchanged = plan_files(index, walk_images(images), report.skipped)
    bar = tqdm(total=len(todo), desc="index", unit="img", file=sys.stderr, disable=not progress, dynamic_ncols=True)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for start in range(0, len(todo), batch_size):
            results = list(pool.map(lambda it: _decode(it, mcfg.channels, mcfg.image_size, index.regions),
                                    todo[start:start + batch_size]))
            report.skipped += [bad for _, bad in results if bad is not None]
            good, moves = split_moved(index, [ok for ok, _ in results if ok is not None])
            report.moved += index.store.move(moves)
            if good:
                codes, regions = _encode(model, [g[1] for g in good], dev, batch_size, index.regions)
                replace = {g[0].abspath: g[2] for g in good if g[2] is not None}
                index.add_codes([g[0] for g in good], codes, replace or None, regions)
                report.added += len(good)
                report.replaced += len(replace)
            bar.update(len(results))
            bar.set_postfix(img_s=f"{report.added / (time.perf_counter() - t0):.0f}", refresh=False)
    bar.close()
    _write_skipped(index.root / SKIPPED, report.skipped)
    index.sync()
    report.seconds = time.perf_counter() - t0
    return report


def _encode(model, arrays: list[np.ndarray], dev, batch_size: int, regions: RegionConfig | None):
    """(codes (n, bits/8), region codes (n, R, bits/8) or None) of decoded images (each ``(C, S, S)``, or
    ``(1 + R, C, S, S)`` with regions)."""
    if regions is None:
        return encode_images(model, np.stack(arrays), dev, batch_size), None
    every = encode_images(model, np.concatenate(arrays), dev, batch_size)  # (n * (1 + R), bits/8)
    every = every.reshape(len(arrays), 1 + regions.count, -1)
    return np.ascontiguousarray(every[:, 0]), np.ascontiguousarray(every[:, 1:])


def _write_skipped(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    append_lines(path, [json.dumps({**row, "time": stamp}) + "\n" for row in rows])
