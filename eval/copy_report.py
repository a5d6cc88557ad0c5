"""report.md and the recall-vs-false-matches plot of a near-duplicate report."""
from __future__ import annotations

from pathlib import Path

from nacsearch.eval.report import save_figure, write_report


def _cell(v: float, best: float) -> str:
    return f"**{v:.3f}**" if v == best else f"{v:.3f}"


def _headline(report: dict, bits: str, res: dict | None = None) -> list[str]:
    res = report["results"][bits] if res is None else res
    budget = report["budget_false_per_query"]
    cols = [("recall@1", lambda r: r["recall@1"]), ("recall@10", lambda r: r["recall@10"]),
            (f"recall at <= {budget:g} false/query", lambda r: r["best_recall_at_false"]["recall"])]
    best = {c: max(f(r) for r in res.values()) for c, f in cols}
    lines = ["| method | " + " | ".join(c for c, _ in cols) + " | radius | distinct db codes |",
             "|---|" + "---|" * (len(cols) + 2)]
    for m, r in res.items():
        b = r["best_recall_at_false"]
        lines.append(f"| {m} | " + " | ".join(_cell(f(r), best[c]) for c, f in cols)
                     + f" | {b['radius'] if b['radius'] is not None else '–'} | {r['distinct_database_codes']} |")
    return lines


def _per_edit(report: dict, bits: str, res: dict | None = None) -> list[str]:
    res = report["results"][bits] if res is None else res
    seen = next(iter(res.values()))["per_edit_recall@1"]
    kinds = [k for k in report["edits"]["kinds"] if k in seen]
    lines = ["| method | " + " | ".join(kinds) + " |", "|---|" + "---|" * len(kinds)]
    best = {k: max(r["per_edit_recall@1"][k] for r in res.values()) for k in kinds}
    for m, r in res.items():
        lines.append(f"| {m} | " + " | ".join(_cell(r["per_edit_recall@1"][k], best[k]) for k in kinds) + " |")
    return lines


def markdown(report: dict) -> str:
    s = report["set"]
    out = [f"# Near-duplicate report: {report['images']} ({report['split']} collection)", "",
           f"{s['database']} distinct originals (of {s['files']} files: {s['sampled']} sampled, {s['unreadable']} "
           f"unreadable, {s['dropped_near_identical']} near-identical and {s['dropped_blank']} blank dropped; "
           f"split sizes {s['split_sizes']}), {s['queries']} edited copies as queries, seed {report['seed']} "
           f"(training seed {report.get('train_seed', report['seed'])}); "
           f"learned methods see {report['format']['channels']} channel(s) at {report['format']['image_size']} px.",
           "Ranking by Hamming distance with **pessimistic ties** (an original tied with other images ranks last "
           "among them). Edits and their parameters:", "", f"`{report['edits']['params']}`", ""]
    if report.get("regions"):
        r = report["regions"]
        out += [f"**Regions indexed**: every method's database also holds the codes of {r['grid']} x {r['grid']} crops "
                f"keeping {r['crop']:g} of each side" + (f" and of the image in a white frame of {r['frame']:g} of its "
                f"shorter side" if r["frame"] else "") + f" for each original; a copy's distance to an original is "
                f"the smallest over its codes, a crop's counting {r['penalty']} bit(s) more and the framed image's "
                f"{r.get('frame_penalty', 0)} (`{r}`).", ""]
    for bits in (str(b) for b in report["bits"]):
        out += [f"## {bits} bits (best per column in bold)", "", *_headline(report, bits), "",
                f"### Recall@1 per edit, {bits} bits", "", *_per_edit(report, bits), ""]
        if report.get("regions"):
            whole = {m: r["whole_image"] for m, r in report["results"][bits].items()}
            out += [f"### The same codes without the regions (whole images only), {bits} bits", "",
                    *_headline(report, bits, whole), "", *_per_edit(report, bits, whole), ""]
    out += [f"Training overrides: `{report['train']}`." if report["train"] else "Training: build-index defaults.",
            f"Total wall time {report.get('wall_s')} s; revision {report['provenance'].get('git_revision')}.", ""]
    return "\n".join(out)


def plot(report: dict, out_dir: Path) -> list[Path]:
    """tradeoff_<bits>.png: recall of originals against false matches per query, over Hamming radii."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    for bits in (str(b) for b in report["bits"]):
        fig, ax = plt.subplots(figsize=(6, 4.5))
        for m, r in report["results"][bits].items():
            c = r["tradeoff"]
            pts = [(f, rec) for f, rec in zip(c["false_per_query"], c["recall"]) if f > 0]
            if pts:
                ax.plot(*zip(*pts), marker=".", label=m)
        ax.axvline(report["budget_false_per_query"], color="grey", ls="--", lw=1)
        ax.set(xscale="log", xlabel="other database images within r, per query", ylabel="copies whose original is within r",
               title=f"Near-duplicate detection, {bits} bits")
        files.append(save_figure(fig, ax, out_dir / f"tradeoff_{bits}.png"))
    return files


def write_copy_report(report: dict, out_dir: str | Path) -> None:
    write_report(report, out_dir, markdown, plot)
