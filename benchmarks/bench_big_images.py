"""Peak memory of build-index on a folder of huge images (81-megapixel PNGs).

    python benchmarks/bench_big_images.py --work /tmp/nacsearch-big [--count 8]

Writes ``--count`` 9000 x 9000 grayscale PNGs (a smooth gradient plus a few shapes, a few
hundred KB each, so that decoding, not reading, dominates), trains a tiny 16-bit model,
then runs ``nacsearch build-index`` in a child process (4 decode threads, the default) and
prints the child's peak RSS (``ru_maxrss``) and wall time as JSON.  Run it with
``PYTHONPATH`` pointing at another source tree to compare versions side by side.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def write_big_pngs(folder: Path, count: int, side: int = 9000) -> None:
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    ramp = np.linspace(0, 255, side, dtype=np.float32)
    for i in range(count):
        if (folder / f"big{i}.png").exists():
            continue
        arr = ((ramp[None, :] * (i + 1) / count + ramp[:, None] * 0.3) % 256).astype(np.uint8)
        img = Image.fromarray(arr, "L")
        ImageDraw.Draw(img).ellipse((1000 + 500 * i, 2000, 5000 + 300 * i, 7000), fill=255 - 30 * i)
        img.save(folder / f"big{i}.png", compress_level=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default="/tmp/nacsearch-big")
    ap.add_argument("--count", type=int, default=8)
    args = ap.parse_args()
    work = Path(args.work)
    write_big_pngs(work / "images", args.count)
    model = work / "model"
    if not (model / "config.json").exists():
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from fault_injection import make_model

        make_model(work)
    index = work / f"index-{time.time_ns()}"
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "nacsearch.cli.main", "build-index", str(work / "images"),
                          "--index", str(index), "--model", str(model), "--device", "cpu", "--json"],
                         capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if res.returncode:
        raise SystemExit(res.stderr[-2000:])
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    sizes = [p.stat().st_size for p in (work / "images").glob("*.png")]
    print(json.dumps({"images": args.count, "megapixels_each": 81, "mean_file_kb": round(np.mean(sizes) / 1024),
                      "records": json.loads(res.stdout)["records"], "peak_rss_mb": round(peak_mb),
                      "wall_s": round(wall, 1)}, indent=2))


if __name__ == "__main__":
    main()
