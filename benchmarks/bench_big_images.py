"""Peak memory of build-index on a folder of huge images (81-megapixel PNGs).

    python benchmarks/bench_big_images.py --work /tmp/nacsearch-big [--count 8]

Writes ``--count`` 9000 x 9000 RGB PNGs (flat colour plus a few shapes, a few hundred KB
each, so that decoding, not reading, dominates), trains a tiny 16-bit model,
then runs ``nacsearch build-index`` in a child process (4 decode threads, the default) and
prints the child's peak RSS (``VmHWM``, read by the child at exit), its RSS right after
importing torch, FAISS and nacsearch, and the wall time, as JSON.  Run it with
``PYTHONPATH`` pointing at another source tree to compare versions side by side.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def write_big_pngs(folder: Path, count: int, side: int = 9000) -> None:
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        if (folder / f"big{i}.png").exists():
            continue
        img = Image.new("RGB", (side, side), (20 * i, 120, 200 - 20 * i))
        draw = ImageDraw.Draw(img)
        draw.ellipse((1000 + 500 * i, 2000, 5000 + 300 * i, 7000), fill=(255 - 30 * i, 40, 90))
        draw.rectangle((200, 300 + 400 * i, 3000, 1500 + 400 * i), fill=(0, 200 - 10 * i, 30 * i))
        img.save(folder / f"big{i}.png")


CHILD = """
import atexit, json, sys
def rss(key):
    return int(next(line.split()[1] for line in open("/proc/self/status") if line.startswith(key))) // 1024
import torch, faiss, nacsearch.indexer.build  # noqa: E401
after_import = rss("VmRSS:")
atexit.register(lambda: print(json.dumps({"peak_rss_mb": rss("VmHWM:"), "import_rss_mb": after_import}),
                              file=sys.stderr))
from nacsearch.cli.main import main
sys.argv = ["nacsearch"] + sys.argv[1:]
main()
"""


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
    res = subprocess.run([sys.executable, "-c", CHILD, "build-index", str(work / "images"),
                          "--index", str(index), "--model", str(model), "--device", "cpu", "--json"],
                         capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if res.returncode:
        raise SystemExit(res.stderr[-2000:])
    mem = json.loads(res.stderr.strip().splitlines()[-1])
    sizes = [p.stat().st_size for p in (work / "images").glob("*.png")]
    print(json.dumps({"images": args.count, "megapixels_each": 81, "mean_file_kb": round(np.mean(sizes) / 1024),
                      "records": json.loads(res.stdout)["records"], **mem,
                      "wall_s": round(wall, 1)}, indent=2))


if __name__ == "__main__":
    main()
