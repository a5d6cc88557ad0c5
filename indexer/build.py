"""The build/add pipeline: reader -> decoder -> encoder -> writer.

* reader:  walk the folder (recursive, image extensions, no symlink loops), stat each file;
  files already indexed with the same size and mtime are skipped (this is what makes an
  interrupted build resume), changed files are re-encoded and replace their old record.
  Paths are stored absolute (``os.path.abspath``: symlinks are not resolved) as text with
  surrogate escapes, so any name the OS allows is indexed.
* mover:   a new path whose content (SHA-256) is already indexed under a path that no longer
  exists is a renamed or moved file: its record takes the new path and keeps its id.
* decoder: read bytes once, SHA-256 them, decode with PIL (EXIF orientation, L/RGB, resize),
  in a thread pool.  Bad files (empty, truncated, not an image, too large) go to
  ``skipped.jsonl`` with the reason, never into the index.
* encoder: batched on the chosen device, progress bar with img/s.
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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from nacsearch import codes as C
from nacsearch.datasets.imagefolder import walk_images
from nacsearch.device import resolve_device
from nacsearch.encode import encode_images
from nacsearch.imageio import ImageError, read_image, skip_row
from nacsearch.indexer.index import SKIPPED, Index
from nacsearch.indexer.layout import WriterLock, claim_index_dir
from nacsearch.indexer.manage import prune_missing
from nacsearch.indexer.store import Record
from nacsearch.safeio import append_lines


@dataclass
class AddReport:
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


def _plan(index: Index, paths: list[Path], report: AddReport) -> list[tuple[Path, os.stat_result, int | None]]:
    """Which files need encoding: new ones, and changed ones (with the id they replace)."""
    todo = []
    for p in paths:
        try:
            st = p.stat()
        except OSError as e:
            report.skipped.append(skip_row(p, ImageError.unreadable(e)))
            continue
        old = index.store.id_for_path(os.path.abspath(p))
        if old is not None:
            rec = index.store.get(old)
            if rec is not None and rec.size == st.st_size and rec.mtime_ns == st.st_mtime_ns:
                report.unchanged += 1
                continue
        todo.append((p, st, old))
    return todo


def _decode(item, channels: int, size: int):
    path, st, old = item
    try:
        arr, data = read_image(path, channels, size)
    except ImageError as e:
        return None, skip_row(path, e)
    rec = Record(path=str(path), abspath=os.path.abspath(path), size=st.st_size, mtime_ns=st.st_mtime_ns,
                 sha256=hashlib.sha256(data).hexdigest())
    return (rec, arr, old), None


def _split_moved(index: Index, good: list) -> tuple[list, dict[int, Record]]:
    """Separate renamed/moved files (same content as a record whose file is gone) from new ones."""
    new, moves = [], {}
    for rec, arr, old in good:
        if old is None:
            gone = [i for i in index.store.ids_for_sha(rec.sha256) if i not in moves
                    and not os.path.lexists(index.store.get(i).abspath)]
            if gone:
                moves[gone[0]] = rec
                continue
        new.append((rec, arr, old))
    return new, moves


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
    todo = _plan(index, list(walk_images(images)), report)
    bar = tqdm(total=len(todo), desc="index", unit="img", file=sys.stderr, disable=not progress, dynamic_ncols=True)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for start in range(0, len(todo), batch_size):
            results = list(pool.map(lambda it: _decode(it, mcfg.channels, mcfg.image_size), todo[start:start + batch_size]))
            report.skipped += [bad for _, bad in results if bad is not None]
            good, moves = _split_moved(index, [ok for ok, _ in results if ok is not None])
            report.moved += index.store.move(moves)
            if good:
                codes = encode_images(model, np.stack([g[1] for g in good]), dev, batch_size)
                replace = {g[0].abspath: g[2] for g in good if g[2] is not None}
                index.add_codes([g[0] for g in good], codes, replace or None)
                report.added += len(good)
                report.replaced += len(replace)
            bar.update(len(results))
            bar.set_postfix(img_s=f"{report.added / (time.perf_counter() - t0):.0f}", refresh=False)
    bar.close()
    _write_skipped(index.root / SKIPPED, report.skipped)
    index.sync()
    report.seconds = time.perf_counter() - t0
    return report


def _write_skipped(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    append_lines(path, [json.dumps({**row, "time": stamp}) + "\n" for row in rows])


def decode_query(path: str | os.PathLike, channels: int, size: int) -> np.ndarray:
    """One query image -> uint8 (C, S, S) exactly as the indexer decodes it.

    Raises :class:`ImageError` whose message starts with the file's path.
    """
    try:
        return read_image(path, channels, size)[0]
    except ImageError as e:
        raise ImageError(e.reason, f"{path}: {e}") from None


def train_on_folder(images: str | os.PathLike, out_dir: Path, bits: int, device: str, progress: bool,
                    resume: bool = False, **overrides) -> Path:
    """Train a NAC encoder on the images themselves (the recipe defaults; 1 or 3 channels as the images are).

    ``resume=True`` continues an interrupted run found in ``out_dir``.
    """
    from nacsearch.datasets.imagefolder import folder_format, load_image_folder
    from nacsearch.recipes import make_run_config
    from nacsearch.train import train

    channels, size = folder_format(images, None, overrides.pop("image_size", None))
    data = load_image_folder(images, channels, size, progress=progress).data
    run = make_run_config(channels, size, bits=bits, **overrides)
    train(run, data, out_dir, device=device, progress=progress, resume=resume)
    return out_dir


def build_index(images: str | os.PathLike, index_dir: str | os.PathLike | None = None,
                model_dir: str | os.PathLike | None = None, bits: int | None = None, index_type: str = "flat",
                batch_size: int = 256, device: str = "auto", progress: bool = True, **train_overrides) -> dict:
    """Create (or resume) an index of ``images``; trains an encoder first when no model is given.

    An existing index at ``index_dir`` is reopened (validated against ``bits``/``model_dir``)
    and only new or changed files are encoded -- this is how an interrupted build resumes.
    """
    from nacsearch.indexer.binary_index import IndexParams
    from nacsearch.indexer.index import INDEX_JSON, MODEL_DIR, default_index_dir

    if not Path(images).exists():
        raise FileNotFoundError(f"{images}: no such file or directory")
    root = Path(index_dir) if index_dir else default_index_dir(images)
    trained = False
    if (root / INDEX_JSON).exists():
        index = Index.open(root, bits=bits, model_dir=model_dir)
        if index.params.index_type != index_type:
            index.close()
            raise ValueError(f"{root} is a {index.params.index_type} index, not {index_type}")
    else:
        claim_index_dir(root)  # refuses a non-empty folder that is not an index: nothing of the user's is touched
        with WriterLock(root):
            if model_dir is None:
                from nacsearch.checkpoint import is_complete

                model_dir = root / MODEL_DIR
                if not is_complete(model_dir):  # none yet, or a training run that was interrupted
                    started = (model_dir / "config.json").exists()
                    train_on_folder(images, model_dir, bits or 64, device, progress, resume=started,
                                    **train_overrides)
                    trained = True
            mbits = read_model_bits(model_dir)
            if bits is not None and bits != mbits:
                raise ValueError(f"--bits {bits} differs from the model's {mbits} bits")
            index = Index.create(root, model_dir, IndexParams(index_type=index_type, bits=mbits))
    try:
        return {"trained_model": trained, **_add_summary(index, images, batch_size, device, progress)}
    finally:
        index.close()


def _add_summary(index: Index, images, batch_size: int, device: str, progress: bool, prune: bool = False) -> dict:
    report = add_images(index, images, batch_size=batch_size, device=device, progress=progress, prune=prune)
    return {"index": str(index.root), **report.to_dict(), "records": index.store.count(),
            "skipped_report": str(index.root / SKIPPED), "warning": C.collapse_warning(index.code_balance())}


def add_to_index(images: str | os.PathLike, index_dir: str | os.PathLike | None = None, batch_size: int = 256,
                 device: str = "auto", progress: bool = True, prune: bool = False) -> dict:
    """Open an existing index (default ``IMAGES/.nacsearch``) and add new and changed images."""
    from nacsearch.indexer.index import default_index_dir

    with Index.open(Path(index_dir) if index_dir else default_index_dir(images)) as index:
        return _add_summary(index, images, batch_size, device, progress, prune)


def read_model_bits(model_dir: str | os.PathLike) -> int:
    from nacsearch.checkpoint import read_meta

    return read_meta(model_dir)["run"].model.bits
