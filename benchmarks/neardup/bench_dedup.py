"""`nacsearch build-index` + `nacsearch duplicates` against imagededup's PHash on one folder.

The folder holds the near-duplicate protocol's test originals and their edited copies (seed 0,
the same set as the committed report) as PNG files.  True duplicate pairs are (original, copy);
originals are distinct by construction.  Each tool runs as its own process, one after the
other, under /usr/bin/time (wall time and peak RSS).  imagededup's timed run is what a user
calls (encode the folder, ``find_duplicates`` at the default threshold); a second, untimed run
sweeps thresholds 0..16 to find the one that maximises its F1 on this set (an oracle choice that
favours it).  nacsearch runs ``build-index`` (training included) and ``duplicates`` with defaults.
Each part's result is kept in WORK_DIR (``part_*.json``) and reused on a rerun; delete WORK_DIR
for a fresh run.
Usage: python benchmarks/neardup/bench_dedup.py IMAGES_DIR WORK_DIR
Writes benchmarks/neardup/dedup.json.
"""
from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

from nacsearch.eval.neardup import build_copy_set
from nacsearch.provenance import provenance

IMAGEDEDUP = """
import json, sys
from imagededup.methods import PHash
ph = PHash(verbose=False)
enc = ph.encode_images(image_dir=sys.argv[1])
if sys.argv[3] == "default":
    out = {"default": ph.find_duplicates(encoding_map=enc)}
else:
    out = {str(t): ph.find_duplicates(encoding_map=enc, max_distance_threshold=t) for t in range(17)}
json.dump(out, open(sys.argv[2], "w"))
"""


def part(work_dir: Path, name: str, run) -> dict:
    """``run()``'s result, cached in WORK_DIR/part_NAME.json."""
    path = work_dir / f"part_{name}.json"
    if not path.exists():
        path.write_text(json.dumps(run()))
    return json.loads(path.read_text())


def timed(cmd: list[str], stdout=None) -> dict:
    """Run under /usr/bin/time; wall seconds and peak RSS (MB)."""
    res = subprocess.run(["/usr/bin/time", "-f", "%e %M", *cmd], stdout=stdout, stderr=subprocess.PIPE, text=True,
                         check=True)
    wall, rss = res.stderr.strip().splitlines()[-1].split()
    return {"wall_s": float(wall), "peak_rss_mb": round(int(rss) / 1024, 1)}


def score(found: set[frozenset], truth: set[frozenset]) -> dict:
    tp = len(found & truth)
    p = tp / len(found) if found else 0.0
    r = tp / len(truth)
    return {"pairs_found": len(found), "precision": round(p, 4), "recall": round(r, 4),
            "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0}


def pairs_from_map(dups: dict[str, list[str]]) -> set[frozenset]:
    return {frozenset((a, b)) for a, bs in dups.items() for b in bs if a != b}


def main(images: str, work: str) -> None:
    work_dir = Path(work)
    folder = work_dir / "set"
    folder.mkdir(parents=True, exist_ok=True)
    cs = build_copy_set(images, "test", seed=0)
    for i, b in enumerate(cs.database):
        (folder / f"orig_{i:05d}.png").write_bytes(b)
    truth = set()
    for i, (b, t) in enumerate(zip(cs.queries, cs.target)):
        (folder / f"copy_{i:05d}.png").write_bytes(b)
        truth.add(frozenset((f"orig_{t:05d}.png", f"copy_{i:05d}.png")))
    script = work_dir / "imagededup_run.py"
    script.write_text(IMAGEDEDUP)
    t_idd = part(work_dir, "imagededup_default", lambda: timed(
        [sys.executable, str(script), str(folder), str(work_dir / "idd.json"), "default"]))
    if not (work_dir / "idd_sweep.json").exists():
        subprocess.run([sys.executable, str(script), str(folder), str(work_dir / "idd_sweep.json"), "sweep"], check=True)
    idd = {**json.loads((work_dir / "idd.json").read_text()), **json.loads((work_dir / "idd_sweep.json").read_text())}
    by_t = {t: score(pairs_from_map(m), truth) for t, m in idd.items()}
    best_t = max((t for t in by_t if t != "default"), key=lambda t: by_t[t]["f1"])
    t_build = part(work_dir, "build_index", lambda: timed(
        ["nacsearch", "build-index", str(folder), "--index", str(work_dir / "index")], stdout=subprocess.DEVNULL))

    def dup() -> dict:
        with open(work_dir / "dups.json", "w") as f:
            return timed(["nacsearch", "duplicates", "--index", str(work_dir / "index"), "--json"], stdout=f)

    t_dup = part(work_dir, "duplicates", dup)
    groups = json.loads((work_dir / "dups.json").read_text())
    found = {frozenset((Path(a["path"]).name, Path(b["path"]).name))
             for g in groups["members"] for a, b in itertools.combinations(g, 2)}
    out = {"images": len(cs.database) + len(cs.queries), "true_pairs": len(truth), "set": cs.info,
           "imagededup_phash": {"default_threshold_10": by_t["default"], "best_f1_threshold": int(best_t),
                                "best_f1": by_t[best_t], "by_threshold": by_t, **t_idd},
           "nacsearch": {"radius": groups["radius"], **score(found, truth), "build_index": t_build, "duplicates": t_dup},
           "provenance": provenance()}
    (Path(__file__).parent / "dedup.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k not in ("provenance", "set")}, indent=1)[:3000])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
