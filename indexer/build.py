"""The two entry points that fill an index: ``build_index`` (create or resume) and ``add_to_index``.

Without a model, ``build_index`` first trains a NAC encoder on the images themselves with the
recipe defaults (:func:`nacsearch.recipes.fit`: the shared folder rule for channels and size,
a seeded sample of a large folder, a time budget), then runs the add pipeline
(:mod:`nacsearch.indexer.pipeline`) over every file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from nacsearch import codes as C
from nacsearch.indexer.params import IndexParams
from nacsearch.indexer.index import Index
from nacsearch.indexer.layout import INDEX_JSON, MODEL_DIR, SKIPPED, WriterLock, claim_index_dir, default_index_dir
from nacsearch.indexer.pipeline import AddReport, add_images
from nacsearch.regions import RegionConfig


@dataclass(frozen=True)
class BuildSummary:
    """What ``build-index`` / ``add`` did to an index (``to_dict`` is their ``--json``)."""

    index: str
    report: AddReport
    records: int
    skipped_report: str
    warning: str | None
    trained_model: bool | None = None  # None for add

    def to_dict(self) -> dict:
        head = {} if self.trained_model is None else {"trained_model": self.trained_model}
        return {**head, "index": self.index, **self.report.to_dict(), "records": self.records,
                "skipped_report": self.skipped_report, "warning": self.warning}


def _summarise(index: Index, images, batch_size: int, device: str, progress: bool, prune: bool = False,
               trained: bool | None = None) -> BuildSummary:
    report = add_images(index, images, batch_size=batch_size, device=device, progress=progress, prune=prune)
    return BuildSummary(str(index.root), report, index.store.count(), str(index.root / SKIPPED),
                        C.collapse_warning(index.code_balance()), trained)


def _train_here(images, root: Path, bits: int | None, device: str, progress: bool, overrides: dict) -> bool:
    """Train (or finish training) the index's own model in ``root/model``; False when it was already done."""
    from nacsearch.checkpoint import is_complete
    from nacsearch.recipes import fit

    model_dir = root / MODEL_DIR
    if not is_complete(model_dir):  # none yet, or a training run that was interrupted
        started = (model_dir / "config.json").exists()
        fit(str(images), model_dir, device=device, resume=started, progress=progress, bits=bits or 64, **overrides)
        return True
    return False


def build_index(images: str | os.PathLike, index_dir: str | os.PathLike | None = None,
                model_dir: str | os.PathLike | None = None, bits: int | None = None, index_type: str = "flat",
                batch_size: int = 256, device: str = "auto", progress: bool = True,
                regions: RegionConfig | None = RegionConfig(), **train_overrides) -> BuildSummary:
    """Create (or resume) an index of ``images``; trains an encoder first when no model is given.

    ``regions``: a new index also holds the codes of these regions of every image (:mod:`nacsearch.regions`;
    None: whole images only).  An existing index at ``index_dir`` is reopened (validated against
    ``bits``/``model_dir``; it keeps the regions it was made with) and only new or changed files are
    encoded -- this is how an interrupted build resumes.
    ``train_overrides`` go to :func:`nacsearch.recipes.fit` (``epochs``, ``minutes``, ``image_size`` ...).
    """
    from nacsearch.checkpoint import read_meta

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
                trained = _train_here(images, root, bits, device, progress, train_overrides)
                model_dir = root / MODEL_DIR
            mbits = read_meta(model_dir)["run"].model.bits
            if bits is not None and bits != mbits:
                raise ValueError(f"--bits {bits} differs from the model's {mbits} bits")
            index = Index.create(root, model_dir, IndexParams(index_type=index_type, bits=mbits), regions)
    try:
        return _summarise(index, images, batch_size, device, progress, trained=trained)
    finally:
        index.close()


def add_to_index(images: str | os.PathLike, index_dir: str | os.PathLike | None = None, batch_size: int = 256,
                 device: str = "auto", progress: bool = True, prune: bool = False) -> BuildSummary:
    """Open an existing index (default ``IMAGES/.nacsearch``) and add new and changed images."""
    with Index.open(Path(index_dir) if index_dir else default_index_dir(images)) as index:
        return _summarise(index, images, batch_size, device, progress, prune)
