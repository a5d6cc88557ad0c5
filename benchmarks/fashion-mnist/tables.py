"""Print the Markdown tables of RESULTS.md from the committed ``<bits>/report.json`` files.

Usage: ``python benchmarks/fashion-mnist/tables.py`` (no arguments; reads 16/, 32/, 64/
and seeds/64-seed*/ next to this script). Every number comes from a report; nothing is
typed by hand. The best value per column is in bold.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
BITS = ("16", "32", "64")
NAMES = {
    "nac": "NAC",
    "itq": "ITQ (pixels)",
    "simclr": "SimCLR-sign (same net, loop, views)",
    "sh": "SH (pixels)",
    "pcah": "PCAH (pixels)",
    "lsh": "LSH (pixels)",
    "phash": "pHash (DCT)",
    "distillhash": "DistillHash-style (pixels/PCA pairs)",
}
METRICS = (
    ("test mAP@1000", ("test", "map@1000")),
    ("validation mAP@1000", ("validation", "map@1000")),
    ("test mAP@all", ("test", "map@all")),
    ("test precision within Hamming radius 2", ("test", "precision@radius2")),
)


def load() -> dict[str, dict]:
    """``{bits: {method: result}}`` for every report present."""
    out = {}
    for bits in BITS:
        path = HERE / bits / "report.json"
        if path.exists():
            out[bits] = json.loads(path.read_text())["results"][bits]
    return out


def table(results: dict[str, dict], split: str, key: str) -> str:
    """One Markdown table: methods as rows, code lengths as columns, best per column bold."""
    bits = list(results)
    best = {b: max(m[split].get(key, float("-inf")) for m in results[b].values()) for b in bits}
    lines = ["| method | " + " | ".join(f"{b} bits" for b in bits) + " |",
             "|---" * (len(bits) + 1) + "|"]
    for method, name in NAMES.items():
        cells = []
        for b in bits:
            value = results[b].get(method, {}).get(split, {}).get(key)
            text = "–" if value is None else f"{value:.4f}"
            cells.append(f"**{text}**" if value is not None and value == best[b] else text)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def timings(results: dict[str, dict]) -> str:
    """Training seconds of the deep methods per code length."""
    rows = ["| method | " + " | ".join(f"{b} bits" for b in results) + " |",
            "|---" * (len(results) + 1) + "|"]
    for method in ("nac", "simclr", "distillhash"):
        cells = [f"{results[b][method]['timings']['fit_s']:.0f} s" for b in results
                 if method in results[b]]
        rows.append(f"| {NAMES[method]} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def seeds(bits: str = "64", methods: tuple[str, ...] = ("nac", "itq")) -> str:
    """mAP@1000 (test / validation) per seed: seed 0 from ``<bits>/``, others from ``seeds/``."""
    dirs = [HERE / bits] + sorted((HERE / "seeds").glob(f"{bits}-seed*"))
    rows = ["| seed | " + " | ".join(f"{NAMES[m]} test / val" for m in methods) + " | NAC − ITQ test / val |",
            "|---" * (len(methods) + 2) + "|"]
    for d in dirs:
        rep = json.loads((d / "report.json").read_text())
        res = rep["results"][bits]
        cells = [f"{res[m]['test']['map@1000']:.4f} / {res[m]['validation']['map@1000']:.4f}" for m in methods]
        diff = [res["nac"][s]["map@1000"] - res["itq"][s]["map@1000"] for s in ("test", "validation")]
        rows.append(f"| {rep['seed']} | " + " | ".join(cells) + f" | {diff[0]:+.4f} / {diff[1]:+.4f} |")
    return "\n".join(rows)


def main() -> None:
    results = load()
    for title, (split, key) in METRICS:
        print(f"{title}:\n\n{table(results, split, key)}\n")
    print(f"training time (fit, 2-core CPU):\n\n{timings(results)}\n")
    print(f"seeds, 64 bits (split and training seed), mAP@1000:\n\n{seeds()}")


if __name__ == "__main__":
    main()
