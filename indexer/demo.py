"""The README's first command: sample images -> trained encoder -> index -> queries, offline."""
from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


def run_demo(out_dir: str | Path, count: int = 1000, epochs: int | None = None, device: str = "auto",
             queries: int = 3, k: int = 5) -> dict:
    """Write sample images under ``out_dir/images``, index them (training an encoder), query a few.

    Returns {"images", "index", "build", "queries": [{"query", "class", "hits": [...], "same_class"}]}.
    """
    from nacsearch.indexer.build import build_index
    from nacsearch.indexer.index import Index
    from nacsearch.indexer.search import search_images
    from nacsearch.samples import write_sample_images

    out = Path(out_dir)
    images = out / "images"
    if not (images / "labels.csv").exists():
        info = write_sample_images(images, count)
        log.info("wrote %d %s sample images to %s", info["count"], info["source"], images)
    overrides = {"epochs": epochs} if epochs else {}
    # the sample images are labelled categories: the category recipe (40 epochs, about a minute on 2 cores)
    build = build_index(images, out / "index", device=device, recipe="categories", **overrides)
    with Index.open(out / "index", readonly=True) as index:
        picks = [sorted(d.glob("*.png"))[0] for d in sorted(p for p in images.iterdir() if p.is_dir())][:queries]
        results = search_images(index, picks, k=k + 1, device=device)
    rows = []
    for q, hits in zip(picks, results):
        others = [h for h in hits if Path(h.path).resolve() != q.resolve()][:k]
        same = sum(Path(h.path).parent.name == q.parent.name for h in others)
        rows.append({"query": str(q), "class": q.parent.name, "same_class": f"{same}/{len(others)}",
                     "hits": [h.to_dict() for h in others]})
    return {"images": str(images), "index": str(out / "index"), "build": build.to_dict(), "queries": rows}
