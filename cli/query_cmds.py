"""Read-only commands: query and info."""
from __future__ import annotations

import click

from nacsearch.cli.common import call, device_option, echo_json, echo_paths, fail, shown


@click.command("query")
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--index", "index_dir", type=click.Path(file_okay=False), default=None,
              help="Index directory [default: the .nacsearch folder beside the first query image, "
                   "then in its parent folders].")
@click.option("-k", "k", type=click.IntRange(0), default=10, show_default=True,
              help="Number of neighbours (with --radius: cap on hits, 0 = no cap); more than the index "
                   "holds returns everything.")
@click.option("--radius", type=click.IntRange(0), default=None,
              help="Return every image within this Hamming distance (inclusive: distance <= R; "
                   "R above the code length means every image).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable results on stdout (exact paths).")
@click.option("--paths", "paths_only", is_flag=True,
              help="Print absolute result paths only, one per line (raw bytes in a pipe).")
@click.option("-0", "--null", "null", is_flag=True, help="With --paths: end each path with NUL, like find -print0.")
@device_option()
def query_cmd(images, index_dir, k, radius, as_json, paths_only, null, device):
    """Find the indexed images nearest to each query image by Hamming distance.

    Hits are ordered by distance, then by id (insertion order); paths are absolute.
    In the table, control characters and bytes that are not UTF-8 are shown as
    backslash escapes; --json, and --paths in a pipe, give them exactly.
    """
    from nacsearch.imageio import ImageError
    from nacsearch.indexer.search import query_files

    if radius is None and k == 0:
        fail("-k must be >= 1 without --radius")
    try:
        results = call(query_files, list(images), index_dir, k=k, radius=radius, device=device)
    except ImageError as e:
        fail(shown(f"cannot read query image {e} ({e.reason})"))
    if as_json:
        echo_json([{"query": q, "k": k, "radius": radius, "hits": [h.to_dict() for h in hits]}
                   for q, hits in zip(images, results)])
        return
    if paths_only or null:
        echo_paths([h.path for hits in results for h in hits], null=null)
        return
    for q, hits in zip(images, results):
        if len(images) > 1:
            click.echo(f"# {shown(q)}")
        if not hits:
            click.echo("(no results)")
        for h in hits:
            click.echo(f"{h.rank:>4}  {h.distance:>4}  {shown(h.path)}")


@click.command("info")
@click.option("--index", "index_dir", type=click.Path(exists=True, file_okay=False), required=True)
@click.option("--json", "as_json", is_flag=True)
def info_cmd(index_dir, as_json):
    """Counts, bits, model, index type, bit balance and disk size of an index."""
    from nacsearch.indexer.manage import index_info

    info = call(index_info, index_dir)
    if as_json:
        echo_json(info)
        return
    m = info["model"]
    click.echo(f"index       {info['index']}\nrecords     {info['records']} (faiss {info['faiss_ntotal']})\n"
               f"bits        {info['bits']}\nindex type  {info['index_type']}\n"
               f"model       {m['sha256'][:16]} {m['config']['backbone']} {m['objective']['name']} "
               f"{m['config']['channels']}x{m['config']['image_size']}px\n"
               f"bit balance {info['mean_bit_balance']} ({info['dead_bits']} dead bits, "
               f"{info['unique_codes']} unique codes)\ndisk        {info['disk_bytes'] / 1e6:.2f} MB")
    r = info.get("regions")
    frame = f" + a white frame (+{r.get('frame_penalty', 0)} bits)" if r and r["frame"] else ""
    click.echo(f"regions     {r['grid']}x{r['grid']} crops of {r['crop']:g} of each side (+{r['penalty']} bits){frame}"
               if r else "regions     none (whole images only)")
