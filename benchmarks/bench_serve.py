"""nacsearch serve under load on loopback, beside the cold ``nacsearch query`` CLI, in one run.

Serves the index ``bench_scale.py`` built (10^6 records with metadata, 64-bit codes) with
``nacsearch serve`` in its own process, then from 8 client threads (keep-alive connections):

1. 2,000 id searches (``GET /api/search?id=N&k=10``, random ids);
   (before that, 200 id and 200 upload searches from one client: latency without queueing);
2. 2,000 upload searches (``POST /api/search``, a 512x384 JPEG, k=10), during which another
   process runs ``nacsearch add`` of 1,000 new PNGs into the same index;
3. after the add: the server's record count and a search for one of the new images.

Every request must answer 200 (errors are counted); latency p50/p99 and throughput per
phase; the cold CLI is timed 5 times on the same query image.

Usage: python benchmarks/bench_serve.py [--work /tmp/nacsearch-scale] [--requests 2000]
"""
from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

CLIENTS = 8


def jpeg(seed: int, size=(512, 384)) -> bytes:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size[1], 0:size[0]]
    base = (x[..., None] * rng.random(3) + y[..., None] * rng.random(3)) % 256
    img = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(img).save(out, "JPEG", quality=90)
    return out.getvalue()


def multipart(data: bytes, k: int) -> tuple[bytes, str]:
    b = uuid.uuid4().hex
    body = (f"--{b}\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\n{k}\r\n"
            f"--{b}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"q.jpg\"\r\n"
            f"Content-Type: image/jpeg\r\n\r\n").encode() + data + f"\r\n--{b}--\r\n".encode()
    return body, f"multipart/form-data; boundary={b}"


def load(port: int, n: int, request, clients: int = CLIENTS) -> dict:
    """``n`` requests from ``clients`` threads; ``request(conn, i)`` returns the HTTP status."""
    lat, errors, lock = [], [], threading.Lock()

    def worker(w: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for i in range(w, n, clients):
            t = time.perf_counter()
            try:
                status = request(conn, i)
            except (OSError, http.client.HTTPException) as e:
                status = repr(e)
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            dt = (time.perf_counter() - t) * 1000
            with lock:
                lat.append(dt)
                if status != 200:
                    errors.append(status)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    wall = time.perf_counter() - t0
    return {"requests": n, "errors": len(errors), "error_examples": errors[:3], "wall_s": round(wall, 2),
            "req_per_s": round(n / wall, 1), "p50_ms": round(statistics.median(lat), 2),
            "p99_ms": round(float(np.percentile(lat, 99)), 2)}


def get(conn, url: str) -> int:
    conn.request("GET", url)
    res = conn.getresponse()
    res.read()
    return res.status


def post(conn, body: bytes, ctype: str) -> int:
    conn.request("POST", "/api/search", body=body, headers={"Content-Type": ctype})
    res = conn.getresponse()
    res.read()
    return res.status


def start_server(index: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(["nacsearch", "serve", "--index", str(index), "--port", str(port), "--device", "cpu",
                             "--log-level", "warning"], stderr=subprocess.PIPE, text=True)
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/info", timeout=60).read()
            return proc
        except OSError:
            time.sleep(0.2)
    raise SystemExit("server did not start: " + proc.stderr.read())


def write_new_images(folder: Path, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (48, 48), dtype=np.uint8)).save(folder / f"new_{i:04d}.png")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="/tmp/nacsearch-scale")
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--port", type=int, default=8765)
    args = ap.parse_args()
    work, port = Path(args.work), args.port
    index = work / "index"
    query = work / "query.jpg"
    query.write_bytes(jpeg(0))
    new = work / "new"
    write_new_images(new, 1000)
    out = {}
    t = []
    for _ in range(5):  # cold CLI: a new process per query
        t0 = time.perf_counter()
        subprocess.run(["nacsearch", "query", str(query), "--index", str(index), "-k", "10", "--device", "cpu",
                        "--json"], check=True, capture_output=True)
        t.append(time.perf_counter() - t0)
    out["cold_cli_query_s"] = {"median": round(statistics.median(t), 2), "runs": [round(x, 2) for x in t]}
    t0 = time.perf_counter()
    server = start_server(index, port)
    out["server_start_s"] = round(time.perf_counter() - t0, 1)
    try:
        records = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/info"))["records"]
        ids = np.random.default_rng(3).integers(0, records, args.requests)
        body, ctype = multipart(query.read_bytes(), 10)
        out["one_client_id_search"] = load(port, 200, lambda c, i: get(c, f"/api/search?id={ids[i]}&k=10"), 1)
        out["one_client_upload_search"] = load(port, 200, lambda c, i: post(c, body, ctype), 1)
        out["id_search"] = load(port, args.requests, lambda c, i: get(c, f"/api/search?id={ids[i]}&k=10"))
        adder = subprocess.Popen(["nacsearch", "add", str(new), "--index", str(index), "--device", "cpu", "--json"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ})
        out["upload_search_during_add"] = load(port, args.requests, lambda c, i: post(c, body, ctype))
        add_out, add_err = adder.communicate(timeout=1800)
        out["add"] = json.loads(add_out) if adder.returncode == 0 else {"failed": add_err[-2000:]}
        out["upload_search_after_add"] = load(port, args.requests, lambda c, i: post(c, body, ctype))
        after = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/info"))["records"]
        probe, ctype2 = multipart((new / "new_0500.png").read_bytes(), 1000)
        conn = http.client.HTTPConnection("127.0.0.1", port)
        conn.request("POST", "/api/search", body=probe, headers={"Content-Type": ctype2})
        hits = json.loads(conn.getresponse().read())["hits"]
        out["after_add"] = {"records_before": records, "records_after": after,
                            "new_image_found": any(h["path"].endswith("new_0500.png") for h in hits)}
    finally:
        server.terminate()
        server.wait(30)
    out["server_exit"] = server.returncode
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    sys.exit(main())
