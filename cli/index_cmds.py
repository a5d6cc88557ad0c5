"""Commands that create and change indexes: build-index, add, remove."""
from __future__ import annotations

import click

from nacsearch.cli.common import (bits_option, budget_options, call, device_option, echo_json, log, recipe_option,
                                  shown)
from nacsearch.indexer.params import INDEX_TYPES
from nacsearch.named_recipes import COLLECTION_RECIPE

INDEX_HELP = "Index directory [default: IMAGES/.nacsearch]."


def _report(res: dict, as_json: bool) -> None:
    if as_json:
        echo_json(res)
        return
    moved = f", {res['moved']} moved" if res.get("moved") else ""
    pruned = f", {res['pruned']} pruned" if res.get("pruned") else ""
    click.echo(f"{shown(res['index'])}: {res['records']} images indexed "
               f"(+{res['added']} new, {res['replaced']} replaced{moved}, {res['unchanged']} unchanged{pruned}, "
               f"{res['skipped']} skipped; {res['images_per_s']} img/s)")
    if res["skipped"]:
        log(f"skipped files and reasons: {res['skipped_report']}")
    if res["warning"]:
        log(f"warning: {res['warning']}")


@click.command("build-index")
@click.argument("images", type=click.Path(exists=True))
@click.option("--index", "index_dir", type=click.Path(file_okay=False), default=None, help=INDEX_HELP)
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="Trained model directory; without it a NAC encoder is trained on IMAGES first.")
@bits_option(default=None)
@click.option("--index-type", type=click.Choice(INDEX_TYPES), default=INDEX_TYPES[0], show_default=True,
              help="flat = exact; hash/multihash = fast Hamming-radius search; ivf = large collections.")
@click.option("--epochs", type=click.IntRange(1), default=None,
              help="At most this many training epochs when no --model is given [recipe default].")
@budget_options("train-")
@recipe_option(COLLECTION_RECIPE)
@click.option("--image-size", type=click.IntRange(8, 1024), default=None,
              help="Input size of an encoder trained here [32 px].")
@click.option("--regions/--no-regions", default=True, show_default=True,
              help="A new index also holds codes of regions of every image (3 x 3 crops keeping 80 % of each "
                   "side, and the image in a white frame), so that cropped and bordered copies are found; a "
                   "crop's match counts 3 bits more than a whole-image match.  An existing index keeps its choice.")
@click.option("--batch-size", type=click.IntRange(1), default=256, show_default=True)
@device_option()
@click.option("--json", "as_json", is_flag=True, help="Print the build report as JSON.")
def build_index_cmd(images, index_dir, model_dir, bits, index_type, epochs, minutes, max_images, recipe, image_size,
                    regions, batch_size, device, as_json):
    """Index every image under IMAGES (recursively) for Hamming search.

    Rerunning the same command resumes an interrupted build and indexes only new or
    changed files.  Unreadable files are skipped and listed in skipped.jsonl.  The index
    folder must be new, empty, or an index already: nacsearch never writes into (or
    deletes from) a folder of yours.
    """
    from nacsearch.indexer.build import build_index
    from nacsearch.regions import RegionConfig

    overrides = {k: v for k, v in (("epochs", epochs), ("image_size", image_size), ("minutes", minutes),
                                   ("max_images", max_images), ("recipe", recipe)) if v is not None}
    res = call(build_index, images, index_dir, model_dir, bits, index_type, batch_size, device,
               regions=RegionConfig() if regions else None, **overrides)
    _report(res.to_dict(), as_json)


@click.command("add")
@click.argument("images", type=click.Path(exists=True))
@click.option("--index", "index_dir", type=click.Path(file_okay=False), default=None, help=INDEX_HELP)
@click.option("--batch-size", type=click.IntRange(1), default=256, show_default=True)
@click.option("--prune", is_flag=True, help="First remove the records of indexed files that no longer exist.")
@device_option()
@click.option("--json", "as_json", is_flag=True)
def add_cmd(images, index_dir, batch_size, prune, device, as_json):
    """Add new and changed images under IMAGES to an existing index.

    A new path whose content is already indexed under a path that no longer exists
    (a renamed or moved file or folder) takes over that record instead of adding a copy.
    """
    from nacsearch.indexer.build import add_to_index

    res = call(add_to_index, images, index_dir, batch_size=batch_size, device=device, prune=prune)
    _report(res.to_dict(), as_json)


@click.command("remove")
@click.argument("paths", nargs=-1, required=True)
@click.option("--index", "index_dir", type=click.Path(exists=True, file_okay=False), required=True)
@click.option("--json", "as_json", is_flag=True)
def remove_cmd(paths, index_dir, as_json):
    """Remove images (by path as indexed, or by numeric id) from an index."""
    from nacsearch.indexer.manage import remove_from_index

    res = call(remove_from_index, index_dir, list(paths)).to_dict()
    if as_json:
        echo_json(res)
    else:
        click.echo(f"removed {res['removed']} image(s); {res['records']} remain")
        for p in res["not_found"]:
            log(f"not in the index: {shown(p)}")
    if res["not_found"] and not res["removed"]:
        raise SystemExit(1)


@click.command("prune")
@click.option("--index", "index_dir", type=click.Path(exists=True, file_okay=False), required=True)
@click.option("--json", "as_json", is_flag=True)
def prune_cmd(index_dir, as_json):
    """Remove the records of indexed files that no longer exist on disk."""
    from nacsearch.indexer.manage import prune_index

    res = call(prune_index, index_dir).to_dict()
    if as_json:
        echo_json(res)
    else:
        click.echo(f"pruned {res['pruned']} record(s) of deleted files; {res['records']} remain")
