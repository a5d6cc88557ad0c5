"""nacsearch eval: retrieval mAP under a published protocol, or the near-duplicate protocol on a folder."""
from __future__ import annotations

import click

from nacsearch.cli.common import budget_options, call, device_option, echo_json, fail, log

ALL_METHODS = "nac,simclr,cibhash,distillhash,itq,lsh,pcah,sh,phash"
NEARDUP_DEFAULT_METHODS = "nac,simclr,phash,dhash,ahash,whash,itq"


def _int_list(ctx, param, value: str) -> list[int]:
    try:
        return [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {value!r}") from None


@click.command("eval")
@click.option("--protocol", type=click.Choice(["retrieval", "neardup"]), default="retrieval", show_default=True,
              help="retrieval: category mAP on --dataset; neardup: find the original of edited copies of "
                   "the images in --images.")
@click.option("--dataset", default=None, help="retrieval: fashion-mnist:PATH, cifar10:PATH or mirflickr:PATH.")
@click.option("--images", type=click.Path(exists=True), default=None,
              help="neardup: a folder of images (made distinct, split, edited; see the protocol doc).")
@click.option("--bits", default=None, callback=lambda c, p, v: _int_list(c, p, v) if v else None,
              help="Code lengths [retrieval: 16,32,64; neardup: 64].")
@click.option("--methods", default=None,
              help=f"Comma-separated [retrieval: {ALL_METHODS}; neardup: {NEARDUP_DEFAULT_METHODS}]; "
                   "also lsh, pcah, sh, ahash, dhash, whash.  retrieval: itq+simclr (and lsh, pcah, sh, "
                   "distillhash +simclr) run on the backbone features of the SimCLR encoder trained in "
                   "the same run; itq+nac etc. on the run's NAC encoder.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Report directory.")
@click.option("--epochs", type=click.IntRange(1), default=None, help="retrieval: training epochs for deep methods.")
@device_option()
@click.option("--seed", type=int, default=0, show_default=True, help="Split and training seed.")
@click.option("--save-codes", is_flag=True, help="retrieval: also write each method's codes and labels (.npy).")
@click.option("--features-from", type=click.Path(exists=True, file_okay=False), default=None,
              help="retrieval: checkpoint whose backbone features replace pixels for classic methods and DistillHash.")
@click.option("--mirflickr-images", type=click.Choice(["all", "labelled"]), default="all", show_default=True,
              help="MIRFLICKR image set: all 25,000 or the 24,581 with at least one label.")
@click.option("--scale", type=click.FloatRange(0, 1, min_open=True), default=1.0, show_default=True,
              help="retrieval: shrink every split count (smoke runs); not comparable.")
@click.option("--split", type=click.Choice(["test", "validation"]), default="test", show_default=True,
              help="neardup: which collection to score; choose settings on validation only.")
@click.option("--queries", type=click.IntRange(1), default=1000, show_default=True, help="neardup: edited copies.")
@click.option("--regions/--no-regions", default=True, show_default=True,
              help="neardup: every method's database also holds codes of regions of each original (3 x 3 crops "
                   "keeping 80 % of each side, and the image in a white frame), a crop's match counting 3 bits "
                   "more than a whole-image match, as build-index's indexes do; methods still train on the "
                   "originals; the report gives the whole-image figures beside them.")
@click.option("--train-on", type=click.Choice(["train", "database"]), default="train", show_default=True,
              help="retrieval: learned methods fit the protocol's training split, or the whole unlabeled "
                   "database (transductive, as build-index does; give --train-minutes).")
@click.option("--nac-set", "nac_set", multiple=True, metavar="KEY=VALUE",
              help="retrieval: override one of NAC's recipe settings (e.g. prior_weight=0.1, p=0.1); repeatable.")
@click.option("--distill-set", "distill_set", multiple=True, metavar="KEY=VALUE",
              help="retrieval: DistillHash-style pseudo-label setting: k (mutual neighbours), alpha, beta "
                   "(similar / dissimilar thresholds in stds of the distance distribution); repeatable.")
@budget_options("train-")
@click.option("--json", "as_json", is_flag=True, help="Print the headline numbers as JSON.")
def eval_cmd(protocol, dataset, images, bits, methods, out_dir, epochs, device, seed, save_codes, features_from,
             mirflickr_images, scale, split, queries, regions, train_on, nac_set, distill_set, minutes, max_images,
             as_json):
    """Score hashing methods and write report.json, report.md and plots.

    retrieval: deep methods train on the protocol's training split; validation numbers come
    from training images only.  neardup: learned methods train on the collection's originals
    with build-index's budget; recall@1 ranks ties pessimistically.
    """
    names = [m.strip() for m in (methods or (NEARDUP_DEFAULT_METHODS if protocol == "neardup" else ALL_METHODS)).split(",")
             if m.strip()]
    if protocol == "neardup":
        if not images:
            fail("--protocol neardup needs --images DIR")
        _neardup(images, bits or [64], names, out_dir, device, seed, split, queries, minutes, max_images, as_json,
                 regions)
        return
    if not dataset:
        fail("--protocol retrieval needs --dataset KIND:PATH")
    _retrieval(dataset, bits or [16, 32, 64], names, out_dir, epochs, device, seed, save_codes, scale,
               features_from, mirflickr_images, as_json, train_on=train_on, minutes=minutes,
               nac_overrides=_settings(nac_set, "--nac-set"), distill=_settings(distill_set, "--distill-set"))


def _settings(pairs: tuple[str, ...], option: str) -> dict | None:
    """``("p=0.1", "recipe=copies")`` -> ``{"p": 0.1, "recipe": "copies"}`` (JSON values, else strings)."""
    from nacsearch.config import parse_settings

    try:
        return parse_settings(pairs) or None
    except ValueError as e:
        fail(f"{option} {e}")


def _neardup(images, bits, names, out_dir, device, seed, split, queries, minutes, max_images, as_json, regions):
    from nacsearch.eval.copy_runner import BUDGETED, run_neardup
    from nacsearch.regions import RegionConfig

    budget = {k: v for k, v in (("minutes", minutes), ("max_images", max_images)) if v is not None}
    rep = call(run_neardup, images, bits, names, out_dir, split=split, seed=seed, n_queries=queries,
               device=device, train={m: budget for m in BUDGETED} if budget else None,
               regions=RegionConfig() if regions else None)
    table = {b: {m: {"recall@1": r["recall@1"], "recall@10": r["recall@10"],
                     "recall_at_false": r["best_recall_at_false"]["recall"]} for m, r in per.items()}
             for b, per in rep["results"].items()}
    if as_json:
        echo_json({"protocol": "neardup", "results": table, "report": f"{out_dir}/report.json"})
        return
    click.echo(f"{'bits':<6}{'method':<10}{'recall@1':>10}{'recall@10':>11}{'at<=0.1fp':>11}")
    for b, per in table.items():
        for m, r in per.items():
            click.echo(f"{b:<6}{m:<10}{r['recall@1']:>10.4f}{r['recall@10']:>11.4f}{r['recall_at_false']:>11.4f}")
    log(f"report written to {out_dir}/report.md")


def _retrieval(dataset, bits, names, out_dir, epochs, device, seed, save_codes, scale, features_from,
               mirflickr_images, as_json, **kw):
    from nacsearch.eval.runner import run_eval

    try:
        rep = run_eval(dataset, bits, names, out_dir, device=device, epochs=epochs, seed=seed, save_codes=save_codes,
                       scale=scale, features_from=features_from, mirflickr_images=mirflickr_images, **kw)
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


@click.command("eval-summary")
@click.argument("reports", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Directory for summary.json and summary.md.")
@click.option("--replace", is_flag=True,
              help="A later directory's cell (seed, length, method) supersedes an earlier one's instead of being "
                   "refused, e.g. one method re-run beside older reports; summary.md lists what was replaced.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdicts as JSON.")
def eval_summary_cmd(reports, out_dir, replace, as_json):
    """Mean +- std over retrieval reports that differ only in seed (one directory each).

    A method is called best at a code length only when its mean beats the runner-up's by more
    than the larger standard deviation; closer methods with fewer seeds are flagged.
    """
    from nacsearch.eval.seeds import write_summary

    doc = call(write_summary, list(reports), out_dir, replace)
    if as_json:
        echo_json({"seeds": doc["seeds"], "verdicts": doc["verdicts"], "summary": f"{out_dir}/summary.md"})
        return
    for metric, per in doc["verdicts"].items():
        for bits, v in sorted(per.items(), key=lambda kv: int(kv[0])):
            click.echo(f"{metric} {bits} bits: " + (f"best {v['best']}" if v.get("best") else
                                                    f"no winner (leader {v.get('leader')})"))
    log(f"summary written to {out_dir}/summary.md")
