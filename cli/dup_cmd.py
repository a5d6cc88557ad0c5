"""nacsearch duplicates: groups of near-identical images in an index."""
from __future__ import annotations

import click

from nacsearch.cli.common import call, echo_json, log, shown


@click.command("duplicates")
@click.option("--index", "index_dir", type=click.Path(file_okay=False), default=".nacsearch", show_default=True,
              help="Index directory.")
@click.option("-r", "--radius", type=click.IntRange(0), default=None,
              help="Link images whose codes are within this Hamming distance (inclusive) [2: on the "
                   "near-duplicate validation set, 64-bit codes, the largest radius with under 0.1 false matches "
                   "per image; raise it to find more edited copies at more false matches].")
@click.option("--json", "as_json", is_flag=True, help="All groups as JSON on stdout.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV on stdout: group,id,distance,path.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False), default=None,
              help="Also write an HTML page with the groups' thumbnails side by side.")
def duplicates_cmd(index_dir, radius, as_json, as_csv, html_file):
    """List every group of images whose codes lie within RADIUS of each other.

    Groups are connected components: a chain a~b~c is one group even when a and c are
    further apart; each member's distance to the group's first member is shown.  The index
    is only read.  Found with multi-hash range search, not an n x n comparison.
    """
    from nacsearch.indexer.duplicates import DEFAULT_RADIUS, find_duplicates

    res = call(find_duplicates, index_dir, DEFAULT_RADIUS if radius is None else radius)
    if html_file:
        from nacsearch.indexer.duplicates_html import write_groups_html

        call(write_groups_html, res, html_file)
        log(f"wrote {html_file}")
    if as_json:
        echo_json(res.to_dict())
    elif as_csv:
        import csv
        import sys

        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(["group", "id", "distance", "path"])
        for g, members in enumerate(res.groups, start=1):
            for m in members:
                w.writerow([g, m["id"], m["distance"], m["path"]])
    else:
        for g, members in enumerate(res.groups, start=1):
            click.echo(f"group {g} ({len(members)} images)")
            for m in members:
                click.echo(f"  {m['distance']:>3}  {shown(m['path'] or '?')}")
    log(f"{len(res.groups)} group(s), {sum(len(g) for g in res.groups)} of {res.images} images, radius {res.radius}")
