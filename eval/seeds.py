"""Seed spread: mean +- std of each method's numbers over reports that differ only in seed.

Each report (``report.json`` of :func:`nacsearch.eval.runner.run_eval`) is one seed: its own split
and its own training seed.  A method is called **best** at a code length only when its mean
exceeds the runner-up's by more than the larger of the two standard deviations (sample std,
ddof = 1); otherwise the length is a tie.  A method scored with fewer seeds than the leader
while within ``close`` of it is flagged: its spread is unknown, so the claim waits for seeds.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from nacsearch.provenance import read_json

# what must agree across seeds (summary.json records their shared values as "settings")
SAME = ("dataset", "train_on", "train_images", "epochs", "minutes", "scale", "mirflickr_images")
METRICS = ("map@1000", "map@all")  # summarised, judged and tabled


def load_reports(dirs: list[str | Path], replaced: list | None = None) -> list[dict]:
    """report.json of each directory; ValueError if they differ in anything but the seed (and the code lengths and
    methods scored), or if a seed gives one method at one length twice.  With a list as ``replaced``, a later
    directory's cell replaces an earlier one's instead (a method re-run beside reports it supersedes), and each
    replaced cell is appended to it as ``{"seed", "bits", "method", "report", "by"}`` (the two directories)."""
    reports = [read_json(Path(d) / "report.json") for d in dirs]
    if not reports:
        raise ValueError("no reports given")
    if replaced is not None:
        replaced.extend(_drop_superseded(reports, [str(d) for d in dirs]))
    for key in SAME:
        values = {json.dumps(r.get(key)) for r in reports}
        if len(values) > 1:
            raise ValueError(f"reports differ in {key!r}: {sorted(values)}; only the seed may differ")
    seen: set = set()
    for _, *cell in _cells(reports):  # one seed may come in several reports (one per code length), each cell once
        if tuple(cell) in seen:
            seed, bits, method = cell
            raise ValueError(f"seeds repeat: seed {seed} gives {method} at {bits} bits twice")
        seen.add(tuple(cell))
    return reports


def _cells(reports: list[dict]):
    """(index of the report, seed, bits, method) of every scored cell of ``reports``, in order."""
    for i, r in enumerate(reports):
        for bits, per in r["results"].items():
            for method in per:
                yield i, r["seed"], bits, method


def _drop_superseded(reports: list[dict], names: list[str]) -> list[dict]:
    """Remove, in place, every cell that a later report gives again for the same seed and length; returns them."""
    last = {(seed, bits, method): i for i, seed, bits, method in _cells(reports)}
    dropped = [(i, seed, bits, method) for i, seed, bits, method in _cells(reports) if last[(seed, bits, method)] != i]
    for i, _, bits, method in dropped:
        del reports[i]["results"][bits][method]
    return [{"seed": seed, "bits": bits, "method": method, "report": names[i], "by": names[last[(seed, bits, method)]]}
            for i, seed, bits, method in dropped]


def seeds_of(reports: list[dict]) -> list[int]:
    """The distinct seeds of ``reports``, sorted."""
    return sorted({r["seed"] for r in reports})


def summarise(reports: list[dict], metrics: tuple[str, ...] = METRICS, split: str = "test") -> dict:
    """``{bits: {method: {metric: {"mean", "std", "n", "seeds", "values"}}}}`` (std: ddof 1, 0 for one seed)."""
    out: dict = {}
    for rep in reports:
        for bits, per in rep["results"].items():
            for method, res in per.items():
                for metric in metrics:
                    if metric in res[split]:
                        cell = out.setdefault(bits, {}).setdefault(method, {}).setdefault(
                            metric, {"values": [], "seeds": []})
                        cell["values"].append(float(res[split][metric]))
                        cell["seeds"].append(rep["seed"])
    for per in out.values():
        for cells in per.values():
            for cell in cells.values():
                v = np.asarray(cell["values"])
                cell.update(mean=float(v.mean()), std=float(v.std(ddof=1)) if len(v) > 1 else 0.0, n=len(v))
    return out


def verdict(per_method: dict, metric: str, close: float = 0.02) -> dict:
    """The leader at one code length and whether it is best by more than the spread."""
    ranked = sorted(((c[metric]["mean"], m) for m, c in per_method.items() if metric in c), reverse=True)
    if len(ranked) < 2:  # nothing to beat: a lone method is never called best
        return {"leader": ranked[0][1] if ranked else None, "best": None}
    (m1, lead), (m2, second) = ranked[0], ranked[1]
    s1, s2 = per_method[lead][metric], per_method[second][metric]
    spread = max(s1["std"], s2["std"])
    unseeded = [m for mean, m in ranked[1:] if mean >= m1 - close and per_method[m][metric]["n"] < s1["n"]]
    best = lead if m1 - m2 > spread and s1["n"] > 1 and not unseeded else None
    return {"leader": lead, "runner_up": second, "margin": m1 - m2, "spread": spread, "best": best,
            "needs_seeds": unseeded, "paired": paired(s1, s2)}


def paired(lead: dict, other: dict) -> dict | None:
    """Leader minus other on the same seeds (same split): mean, sample std, min, max; None unless >= 2 shared seeds.

    Informational only: the verdict uses the unpaired rule above, which also counts split-to-split spread.
    """
    a = dict(zip(lead.get("seeds", []), lead.get("values", [])))
    b = dict(zip(other.get("seeds", []), other.get("values", [])))
    shared = sorted(set(a) & set(b))
    if len(shared) < 2:
        return None
    d = np.array([a[k] - b[k] for k in shared])
    return {"mean": float(d.mean()), "std": float(d.std(ddof=1)), "min": float(d.min()), "max": float(d.max()),
            "seeds": shared}


def verdicts(summary: dict, metrics: tuple[str, ...] = METRICS) -> dict:
    """``{metric: {bits: verdict}}`` for every metric and code length of ``summary``."""
    return {m: {b: verdict(summary[b], m) for b in summary} for m in metrics}


def markdown(summary: dict, reports: list[dict], judged: dict) -> str:
    """summary.md: one table per metric of ``judged`` (mean +- std over n seeds), the verdict per code length."""
    bits = sorted(summary, key=int)
    methods = list(dict.fromkeys(m for b in bits for m in summary[b]))
    first = reports[0]
    fit_on = "the unlabeled database" if first.get("train_on") == "database" else "the training split"
    out = [f"# Seed spread: {first['dataset']}", "",
           f"Seeds {seeds_of(reports)}, each with its own split and training seed; "
           f"learned methods fit {fit_on}. "
           "Cells: test mean ± std (sample std) over n seeds; a method scored on one seed shows its value and "
           "\"(1 seed)\", its spread unknown. A method is **best** only when its mean exceeds the "
           "runner-up's by more than the larger std.", ""]
    for metric, per_bits in judged.items():
        out += [f"## Test {metric}", "", "| method | " + " | ".join(f"{b} bits" for b in bits) + " |",
                "|---|" + "---|" * len(bits)]
        for m in methods:
            cells = []
            for b in bits:
                c = summary[b].get(m, {}).get(metric)
                text = _cell_text(c)
                cells.append(f"**{text}**" if per_bits[b].get("best") == m else text)
            out.append(f"| {m} | " + " | ".join(cells) + " |")
        out += ["", *[_verdict_line(b, per_bits[b]) for b in bits], ""]
    return "\n".join(out)


def _cell_text(c: dict | None) -> str:
    """One table cell: mean ± sample std (n), or the lone value of one seed, whose spread is unknown."""
    if c is None:
        return "–"
    if c["n"] == 1:
        return f"{c['mean']:.4f} (1 seed)"
    return f"{c['mean']:.4f} ± {c['std']:.4f} ({c['n']})"


def _verdict_line(bits: str, v: dict) -> str:
    if v.get("best"):
        return (f"- {bits} bits: **{v['best']}** is best, by {v['margin']:.4f} over {v['runner_up']} "
                f"(spread {v['spread']:.4f}){_paired_text(v)}.")
    if v.get("needs_seeds"):
        return (f"- {bits} bits: {v['leader']} leads, but {', '.join(v['needs_seeds'])} are within 0.02 "
                "with fewer seeds.")
    if "margin" in v:
        return (f"- {bits} bits: no winner: {v['leader']} leads {v['runner_up']} by {v['margin']:.4f}, "
                f"within the spread {v['spread']:.4f} (or one seed){_paired_text(v)}.")
    return f"- {bits} bits: one method."


def _paired_text(v: dict) -> str:
    p = v.get("paired")
    if not p:
        return ""
    return (f"; paired on the same splits, {v['leader']} − {v['runner_up']} = {p['mean']:+.4f} ± {p['std']:.4f} "
            f"(from {p['min']:+.4f} to {p['max']:+.4f})")


def write_summary(dirs: list[str | Path], out_dir: str | Path, replace: bool = False) -> dict:
    """Summarise the seed reports in ``dirs``; writes summary.json and summary.md in ``out_dir``.  ``replace``: a
    later directory's cells supersede an earlier one's (see :func:`load_reports`), listed in both files."""
    from nacsearch.provenance import provenance, write_json
    from nacsearch.safeio import atomic_write_text

    replaced: list | None = [] if replace else None
    reports = load_reports(dirs, replaced)
    summary = summarise(reports)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    judged = verdicts(summary)
    settings = {key: reports[0].get(key) for key in SAME}  # shared by every seed
    doc = {"reports": [str(d) for d in dirs], "seeds": seeds_of(reports), "settings": settings,
           "summary": summary, "verdicts": judged, "provenance": provenance()}
    text = markdown(summary, reports, judged)
    if replaced:
        doc["replaced"] = replaced
        text += "\nSuperseded cells (left out; the later report's are used):\n\n" + "".join(
            f"- seed {c['seed']}, {c['bits']} bits, {c['method']}: {c['report']} replaced by {c['by']}\n"
            for c in replaced)
    write_json(out / "summary.json", doc)
    atomic_write_text(out / "summary.md", text)
    return doc
