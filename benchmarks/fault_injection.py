"""kill -9 at random moments of build-index, add and remove; after each rerun, check the index.

    python benchmarks/fault_injection.py --kills 60 --out benchmarks/fault_injection.json

Each round picks an operation (build-index of a folder, add of a folder that just gained 300 new
images, remove of 50 random indexed files just deleted from disk), starts it as a ``nacsearch`` process, sends
SIGKILL after a random delay drawn uniformly between 80 % of the interpreter's start-up
(importing torch, FAISS and nacsearch) and the duration of an uninterrupted run of that
operation, so that kills land inside the pipeline, then reruns the same command to completion and checks:

* store count == FAISS ntotal == index.json counts (records, faiss_ntotal, id_sum);
* no duplicate ids, no duplicate paths;
* every file the index should hold is there and found at Hamming distance 0 by its own
  code, and nothing removed has come back.

Images: generated 20-px shapes (``nacsearch.samples.synthetic_images``); encoder: a 16-bit
model trained for a few steps (the check is about bookkeeping, not retrieval quality).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path



def make_model(work: Path) -> Path:
    from nacsearch.config import ModelConfig, RunConfig, TrainConfig
    from nacsearch.datasets.arrays import ArrayImages
    from nacsearch.samples import synthetic_images
    from nacsearch.train import train

    out = work / "model"
    images, _ = synthetic_images(64, size=16, seed=0)
    run = RunConfig(model=ModelConfig(bits=16, image_size=16, channels=1, width=4),
                    train=TrainConfig(epochs=1, batch_size=16, max_steps=3))
    train(run, ArrayImages(images), out, device="cpu", progress=False)
    return out


def write_images(folder: Path, n: int, seed: int) -> list[Path]:
    from PIL import Image

    from nacsearch.samples import synthetic_images

    images, _ = synthetic_images(n, size=20, seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, img in enumerate(images):
        p = folder / f"s{seed}-{i:04d}.png"
        Image.fromarray(img).save(p)
        paths.append(p)
    return paths


def nacsearch(*args) -> list[str]:
    return [sys.executable, "-m", "nacsearch.cli.main", *map(str, args)]


def run_killed(cmd: list[str], delay: float) -> bool:
    """Start ``cmd``, SIGKILL it after ``delay`` s; True when the kill landed before it exited."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return True


def check(idx: Path, expected: set[str], removed: set[str]) -> list[str]:
    """Invariants after a completed rerun; returns the problems found (empty = consistent)."""
    from nacsearch.indexer.index import INDEX_JSON, Index
    from nacsearch.indexer.search import encode_query_images

    problems = []
    with Index.open(idx, readonly=True) as index:
        ids, codes = index.store.all_codes()
        recs = dict(index.store.iter_records())
        counts = json.loads((idx / INDEX_JSON).read_text())["counts"]
        n = index.store.count()
        if not (n == index.faiss.ntotal == counts["records"] == counts["faiss_ntotal"] == len(ids)):
            problems.append(f"counts differ: store {n}, faiss {index.faiss.ntotal}, json {counts}")
        if counts["id_sum"] != index.store.id_sum() or len(set(ids.tolist())) != len(ids):
            problems.append("id checksum or duplicate ids")
        paths = [r.abspath for r in recs.values()]
        if len(set(paths)) != len(paths):
            problems.append("duplicate paths")
        if set(paths) != expected:
            problems.append(f"{len(expected - set(paths))} expected files missing, {len(set(paths) - expected)} extra")
        if set(paths) & removed:
            problems.append("removed files came back")
        by_path = {r.abspath: i for i, r in recs.items()}
        present = sorted(set(paths) & expected)
        q = encode_query_images(index, present, "cpu")
        for p, (_, hit_ids) in zip(present, index.faiss.range_search(q, 0)):
            if by_path[p] not in set(hit_ids.tolist()):
                problems.append(f"{p} not found at distance 0")
                break
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=60)
    ap.add_argument("--work", default="/tmp/nacsearch-faults")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="write the tally as JSON here")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    work = Path(args.work)
    if work.exists():
        raise SystemExit(f"{work} exists; choose a new --work folder")
    model = make_model(work)
    base, extra, idx = work / "base", work / "extra", work / "idx"
    expected = {os.path.abspath(p) for p in write_images(base, 3000, seed=1)}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch, faiss, nacsearch.indexer.build"], check=True)
    startup = time.perf_counter() - t0
    removed: set[str] = set()
    durations = {}
    tally = {"kills": 0, "landed": 0, "rounds": 0, "by_op": {}, "problems": []}
    t_start = time.time()
    next_seed = 100
    while tally["kills"] < args.kills:
        op = "build-index" if not (idx / "index.json").exists() else rng.choice(["build-index", "add", "remove"])
        if op == "build-index":
            cmd = nacsearch("build-index", base, "--index", idx, "--model", model, "--batch-size", "16", "--device", "cpu")
        elif op == "add":
            expected |= {os.path.abspath(p) for p in write_images(extra, 300, seed=next_seed)}
            next_seed += 1
            cmd = nacsearch("add", extra, "--index", idx, "--batch-size", "8", "--device", "cpu")
        else:
            victims = rng.sample(sorted(expected), 50)  # deleted from disk, then removed from the index
            for v in victims:
                os.unlink(v)
            expected -= set(victims)
            removed |= set(victims)
            cmd = nacsearch("remove", *victims, "--index", idx)
        if op not in durations:  # time one clean run of this operation first (on a throwaway copy)
            durations[op] = timed_dry_run(cmd, idx, work)
        landed = run_killed(cmd, rng.uniform(0.8 * startup, max(durations[op], startup)))
        rerun = subprocess.run(cmd, capture_output=True, text=True)
        if rerun.returncode not in ((0, 1) if op == "remove" else (0,)) or "Traceback" in rerun.stderr:
            tally["problems"].append({"op": op, "rerun_rc": rerun.returncode, "stderr": rerun.stderr[-500:]})
        found = check(idx, expected, removed)
        tally["kills"] += 1
        tally["landed"] += landed
        tally["rounds"] += 1
        by = tally["by_op"].setdefault(op, {"kills": 0, "landed": 0})
        by["kills"] += 1
        by["landed"] += landed
        if found:
            tally["problems"].append({"op": op, "landed": landed, "problems": found})
        print(f"round {tally['rounds']:3d} {op:<11} killed {'mid-run' if landed else 'after exit'}: "
              f"{'OK' if not found else found}", file=sys.stderr, flush=True)
    tally.update(records=len(expected), removed=len(removed), seconds=round(time.time() - t_start, 1),
                 startup_s=round(startup, 2), durations_s={k: round(v, 2) for k, v in durations.items()})
    print(json.dumps(tally, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(tally, indent=2) + "\n")
    raise SystemExit(1 if tally["problems"] else 0)


def timed_dry_run(cmd: list[str], idx: Path, work: Path) -> float:
    """Seconds of one uninterrupted run of ``cmd`` against a copy of the index."""
    import shutil

    copy = work / "dry-run-index"
    shutil.rmtree(copy, ignore_errors=True)
    if idx.exists():
        shutil.copytree(idx, copy)
    t0 = time.perf_counter()
    subprocess.run([str(copy) if c == str(idx) else c for c in cmd], capture_output=True)
    seconds = time.perf_counter() - t0
    shutil.rmtree(copy, ignore_errors=True)
    return seconds


if __name__ == "__main__":
    main()
