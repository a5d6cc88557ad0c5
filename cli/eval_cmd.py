"""nacsearch eval: retrieval mAP of NAC against baselines under a published protocol."""
from __future__ import annotations

import click

from nacsearch.cli.common import device_option, echo_json, fail, log

ALL_METHODS = "nac,simclr,distillhash,itq,lsh,pcah,sh,phash"


def _int_list(ctx, param, value: str) -> list[int]:
    try:
        return [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {value!r}") from None


@click.command("eval")
@click.option("--dataset", required=True,
              help="fashion-mnist:PATH, cifar10:PATH or mirflickr:PATH (files as distributed).")
@click.option("--bits", default="16,32,64", show_default=True, callback=_int_list, help="Code lengths.")
@click.option("--methods", default=ALL_METHODS, show_default=True,
              help="Comma-separated: nac, simclr, distillhash, itq, lsh, pcah, sh, phash, ahash, dhash.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Report directory.")
@click.option("--epochs", type=click.IntRange(1), default=None, help="Training epochs for deep methods [recipe].")
@device_option()
@click.option("--seed", type=int, default=0, show_default=True, help="Split and training seed.")
@click.option("--save-codes", is_flag=True, help="Also write each method's query/database codes and labels (.npy).")
@click.option("--features-from", type=click.Path(exists=True, file_okay=False), default=None,
              help="Checkpoint whose backbone features replace pixels for the classic methods and DistillHash.")
@click.option("--mirflickr-images", type=click.Choice(["all", "labelled"]), default="all", show_default=True,
              help="MIRFLICKR image set: all 25,000 or the 24,581 with at least one label.")
@click.option("--scale", type=click.FloatRange(0, 1, min_open=True), default=1.0, show_default=True,
              help="Shrink every split count (smoke runs); reports at scale < 1 are not comparable.")
@click.option("--json", "as_json", is_flag=True, help="Print the headline numbers as JSON.")
def eval_cmd(dataset, bits, methods, out_dir, epochs, device, seed, save_codes, features_from, mirflickr_images,
             scale, as_json):
    """Score hashing methods on a retrieval protocol and write report.json, report.md and plots.

    Deep methods (nac, simclr, distillhash) are trained on the protocol's training split;
    validation numbers come from training images only and are what any choice should use.
    """
    from nacsearch.eval.runner import run_eval

    names = [m.strip() for m in methods.split(",") if m.strip()]
    try:
        rep = run_eval(dataset, bits, names, out_dir, device=device, epochs=epochs, seed=seed, save_codes=save_codes,
                       scale=scale, features_from=features_from, mirflickr_images=mirflickr_images)
    except (ValueError, FileNotFoundError) as e:
        fail(str(e))
    key = f"map@{rep['protocol']['protocol']['map_at'][0]}"
    table = {b: {m: r["test"][key] for m, r in per.items()} for b, per in rep["results"].items()}
    if as_json:
        echo_json({"metric": key, "results": table, "report": f"{out_dir}/report.json"})
        return
    click.echo((f"{'method':<12}" + "".join(f"{b + ' bits':>12}" for b in table)))
    for m in names:
        click.echo(f"{m:<12}" + "".join(f"{table[b][m]:>12.4f}" for b in table))
    log(f"report written to {out_dir}/report.md")
