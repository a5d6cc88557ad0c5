"""report.md and PNG plots from a report dict (report.json is written by the runner)."""
from __future__ import annotations

from pathlib import Path

from nacsearch.safeio import atomic_write_figure, atomic_write_text


def _table(report: dict, metric: str, split: str = "test") -> list[str]:
    bits = [str(b) for b in report["bits"]]
    rows = {m: [report["results"].get(b, {}).get(m, {}).get(split, {}).get(metric) for b in bits]
            for m in report["methods"]}
    best = {b: max((v[i] for v in rows.values() if v[i] is not None), default=None) for i, b in enumerate(bits)}
    lines = ["| method | " + " | ".join(f"{b} bits" for b in bits) + " |",
             "|---|" + "---|" * len(bits)]
    for m, vals in rows.items():
        cells = []
        for b, v in zip(bits, vals):
            if v is None:
                cells.append("–")
            else:
                cells.append(f"**{v:.4f}**" if v == best[b] else f"{v:.4f}")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return lines


def _setup(report: dict) -> str:
    """One line: what learned methods trained on, and for how long."""
    on = "the unlabeled database (transductive)" if report.get("train_on") == "database" else "the training split"
    n = report.get("train_images")
    epochs = f"{report['epochs']} epochs" if report.get("epochs") else "the recipe's epochs"
    length = f"a {report['minutes']:g}-minute budget per method (capped at {epochs})" if report.get("minutes") else epochs
    return f"Learned methods fit {on}{f' ({n} images)' if n else ''}; deep methods train {length}."


def _code_layers(report: dict) -> str:
    """One line naming the deep methods whose code layer was re-fitted after training (nacsearch.code_layer)."""
    fitted = sorted({f"{m} ({r['diagnostics']['code_layer']})" for per_bits in report["results"].values()
                     for m, r in per_bits.items() if r.get("diagnostics", {}).get("code_layer", "trained") != "trained"})
    if not fitted:
        return ""
    return (f"Code layer re-fitted by ITQ after training (codes are still the signs of the last linear layer): "
            f"{', '.join(fitted)}; other deep methods' codes come from their trained layer.")


def _pseudo_labels(report: dict) -> list[str]:
    """DistillHash-style pseudo-label diagnostics: share of confident pairs whose label is right."""
    rows = []
    for b, per in report["results"].items():
        for m, res in per.items():
            d = res.get("diagnostics", {}).get("pseudo_labels")
            if d:
                cell = lambda v: "–" if v is None else f"{v:.4f}"  # noqa: E731
                rows.append(f"| {m} | {b} | {d['similar_fraction']:.4f} | {cell(d.get('similar_precision'))} | "
                            f"{d['dissimilar_fraction']:.4f} | {cell(d.get('dissimilar_precision'))} |")
    if not rows:
        return []
    return ["## Pseudo-labels (DistillHash-style; true labels used only for these diagnostics)", "",
            "| method | bits | similar pairs | similar share truly same class | dissimilar pairs | "
            "dissimilar share truly different |", "|---|---|---|---|---|---|", *rows, ""]


def markdown(report: dict) -> str:
    proto = report["protocol"]
    headline = f"map@{proto['protocol']['map_at'][0]}"
    layers = _code_layers(report)
    out = [f"# Retrieval report: {report['dataset']}", "",
           f"Protocol `{proto['protocol']['name']}`, seed {proto['seed']}, split sizes {proto['sizes']}, "
           f"split SHA-256 `{proto['split_sha256'][:16]}…`, {report['images']} images"
           + (f" ({report['mirflickr_images']} image set)" if report.get("mirflickr_images") else "") + ".",
           "Ranking by Hamming distance, ties broken by database index; relevance = at least one shared label.",
           _setup(report), *([layers] if layers else []), "",
           f"## Test {headline} (best per column in bold)", "", *_table(report, headline), ""]
    for k in proto["protocol"]["map_at"][1:]:
        out += [f"## Test map@{k}", "", *_table(report, f"map@{k}"), ""]
    out += ["## Precision within Hamming radius 2", "", *_table(report, "precision@radius2"), "",
            f"## Validation {headline} (used for every choice; from training images only)", "",
            *_table(report, headline, "validation"), ""]
    for k in proto["protocol"]["map_at"][1:]:  # reports made before validation had them print none
        if any(f"map@{k}" in r.get("validation", {}) for per_bits in report["results"].values() for r in per_bits.values()):
            out += [f"## Validation map@{k}", "", *_table(report, f"map@{k}", "validation"), ""]
    out += [*_pseudo_labels(report),
            f"Total wall time {report.get('wall_s')} s; revision {report['provenance'].get('git_revision')}.", ""]
    return "\n".join(out)


def save_figure(fig, ax, path: Path) -> Path:
    """Legend, grid, tight layout, PNG at 110 dpi; closes the figure."""
    import matplotlib.pyplot as plt

    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    atomic_write_figure(fig, path)
    plt.close(fig)
    return path


def plot(report: dict, out_dir: Path) -> list[Path]:
    """pr_<bits>.png (precision-recall over Hamming radii) and precision_at_n.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    bits_list = [str(b) for b in report["bits"]]
    fig2, axes2 = plt.subplots(1, len(bits_list), figsize=(5 * len(bits_list), 4), squeeze=False)
    for col, b in enumerate(bits_list):
        fig, ax = plt.subplots(figsize=(5, 4))
        for m, res in report["results"].get(b, {}).items():
            pr = res["test"].get("pr_curve")
            if pr:
                ax.plot(pr["recall"], pr["precision"], marker=".", label=m)
            pn = res["test"]["precision@n"]
            axes2[0, col].plot([int(n) for n in pn], list(pn.values()), marker="o", label=m)
        ax.set(xlabel="recall", ylabel="precision", title=f"PR over Hamming radii, {b} bits")
        files.append(save_figure(fig, ax, out_dir / f"pr_{b}.png"))
        axes2[0, col].set(xscale="log", xlabel="N", ylabel="precision@N", title=f"{b} bits")
        axes2[0, col].grid(alpha=0.3)
        axes2[0, col].legend(fontsize=7)
    fig2.tight_layout()
    path = out_dir / "precision_at_n.png"
    atomic_write_figure(fig2, path)
    plt.close(fig2)
    return files + [path]


def write_report(report: dict, out_dir: str | Path, to_markdown=None, to_plots=None) -> None:
    """report.md and the plots (``to_markdown`` / ``to_plots`` default to the retrieval report's)."""
    out = Path(out_dir)
    atomic_write_text(out / "report.md", (to_markdown or markdown)(report))
    try:
        (to_plots or plot)(report, out)
    except ImportError:  # matplotlib is an optional extra
        atomic_write_text(out / "plots-skipped.txt", "install nacsearch[plot] for PNG plots\n")
