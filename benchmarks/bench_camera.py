"""build-index on camera-size JPEGs: img/s against the decode-only limit, and peak memory.

    python benchmarks/bench_camera.py --work /tmp/camera --count 1000 [--old-tree DIR]

* Photos: ``--count`` 4032 x 3024 JPEGs at quality 90, made from the real wallpapers of
  Debian's ``gnome-backgrounds`` and ``plasma-workspace-wallpapers`` (``apt-get install``
  them) by a seeded random crop (40-100 % of each side), resize and optional mirror.
* Model: a 64-bit 3-channel 32-px NAC encoder with the recipe's architecture, trained for a
  few steps (the encoder's speed, not its quality, matters here).
* Measured side by side, one after another, in one run: ``build-index --model`` with this
  tree and (``--old-tree``) with another source tree on ``PYTHONPATH``, run from /tmp so the
  working directory does not shadow it; and the decode step alone
  (``nacsearch.imageio.read_image``) with the same 4 threads.  Peak RSS is the child's
  ``VmHWM`` (read at exit), beside its RSS right after importing torch, FAISS and nacsearch.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = ("/usr/share/backgrounds", "/usr/share/wallpapers")


def sources() -> list[Path]:
    """The largest file of each wallpaper (several come in many resolutions)."""
    best: dict[str, Path] = {}
    for root in SOURCES:
        for p in Path(root).rglob("*"):
            if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp") and p.is_file():
                key = p.parent.parent.name if p.parent.name == "images" else p.stem
                if key not in best or p.stat().st_size > best[key].stat().st_size:
                    best[key] = p
    if not best:
        raise SystemExit("no wallpapers found: apt-get install gnome-backgrounds plasma-workspace-wallpapers")
    return sorted(best.values())


def make_photos(out: Path, count: int, seed: int = 0) -> None:
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    srcs, rng = sources(), random.Random(seed)
    jobs = [(i, srcs[rng.randrange(len(srcs))], rng.random(), rng.random(), rng.uniform(0.4, 1), rng.random() < 0.5)
            for i in range(count)]

    def one(job):
        i, src, fx, fy, frac, mirror = job
        dst = out / f"IMG_{i:05d}.jpg"
        if dst.exists():
            return
        with Image.open(src) as im:
            im = im.convert("RGB")
            w, h = im.size
            cw, ch = int(w * frac), int(h * frac)
            box = (int((w - cw) * fx), int((h - ch) * fy))
            im = im.crop((*box, box[0] + cw, box[1] + ch)).resize((4032, 3024), Image.Resampling.BICUBIC)
            if mirror:
                im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            tmp = dst.with_suffix(".tmp")
            im.save(tmp, "JPEG", quality=90)
            os.replace(tmp, dst)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(one, jobs))


def make_model(work: Path) -> Path:
    out = work / "model"
    if (out / "config.json").exists():
        return out
    import numpy as np

    from nacsearch.datasets.arrays import ArrayImages
    from nacsearch.recipes import make_run_config
    from nacsearch.train import train

    images = np.random.default_rng(0).integers(0, 256, (64, 3, 32, 32), dtype=np.uint8)
    train(make_run_config(3, 32, bits=64, max_steps=3), ArrayImages(images), out, device="cpu", progress=False)
    return out


CHILD = (HERE / "bench_big_images.py").read_text().split('CHILD = """')[1].split('"""')[0]


def build(folder: Path, model: Path, index: Path, pythonpath: str | None) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", CHILD, "build-index", str(folder), "--index", str(index), "--model",
                          str(model), "--device", "cpu", "--json"], capture_output=True, text=True, env=env, cwd="/tmp")
    wall = time.perf_counter() - t0
    if res.returncode:
        raise SystemExit(res.stderr[-2000:])
    rep = json.loads(res.stdout)
    return {"records": rep["records"], "images_per_s": rep["images_per_s"], "wall_s": round(wall, 1),
            **json.loads(res.stderr.strip().splitlines()[-1])}


def decode_only(paths: list[Path], threads: int = 4) -> float:
    from nacsearch.imageio import read_image

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda p: read_image(p, 3, 32), paths))
    return len(paths) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default="/tmp/camera")
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--old-tree", default=None, help="another source tree to time the same way")
    args = ap.parse_args()
    work = Path(args.work)
    make_photos(work / "photos", args.count)
    small = work / "photos250"
    small.mkdir(exist_ok=True)
    for p in sorted((work / "photos").glob("*.jpg"))[:250]:
        if not (small / p.name).exists():
            os.link(p, small / p.name)
    model = make_model(work)
    stamp = time.time_ns()
    out = {"photos": args.count, "mean_file_mb": round(sum(p.stat().st_size for p in (work / "photos").glob("*.jpg"))
                                                       / args.count / 1e6, 2)}
    out["decode_only_img_s"] = round(decode_only(sorted((work / "photos").glob("*.jpg"))), 1)
    out["new_250"] = build(small, model, work / f"i250-{stamp}", None)
    out["new_1000"] = build(work / "photos", model, work / f"i1000-{stamp}", None)
    if args.old_tree:
        out["old_1000"] = build(work / "photos", model, work / f"o1000-{stamp}", args.old_tree)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
