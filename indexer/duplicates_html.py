"""A self-contained HTML page of duplicate groups: thumbnails side by side, no network resources."""
from __future__ import annotations

import base64
import html
import os

from nacsearch.imageio import ImageError, thumbnail_jpeg
from nacsearch.indexer.duplicates import DuplicateGroups
from nacsearch.indexer.records import FileChanged, indexed_content
from nacsearch.safeio import atomic_write_text

STYLE = ("body{font-family:sans-serif;margin:1.5em}section{margin-bottom:1.5em}"
         "figure{display:inline-block;margin:0 .5em .5em 0;width:180px;vertical-align:top}"
         "img{max-width:180px;max-height:180px;border:1px solid #ccc}figcaption{font-size:12px;word-break:break-all}")


def _thumb(id_: int, path: str | None, sha256: str | None) -> str:
    """A thumbnail of the file, only while it still holds the indexed content."""
    if not path or not sha256:
        return ""
    try:
        data = thumbnail_jpeg(indexed_content(id_, path, sha256), side=180)
    except FileChanged:
        return "<div>(changed since indexed)</div>"
    except ImageError:
        return "<div>(unreadable)</div>"
    return f'<img alt="" src="data:image/jpeg;base64,{base64.b64encode(data).decode()}">'


def groups_html(res: DuplicateGroups) -> str:
    """The page as a string (thumbnails embedded as data URIs; names escaped)."""
    parts = [f"<!doctype html><meta charset=utf-8><title>nacsearch duplicates</title><style>{STYLE}</style>",
             f"<h1>{len(res.groups)} duplicate group(s)</h1><p>{res.images} images, Hamming radius {res.radius}.</p>"]
    for g, members in enumerate(res.groups, start=1):
        parts.append(f"<section><h2>Group {g} ({len(members)} images)</h2>")
        for m in members:
            name = html.escape(os.fsdecode(m["path"] or "?"), quote=True)
            parts.append(f"<figure>{_thumb(m['id'], m['path'], m['sha256'])}<figcaption>distance {m['distance']} "
                         f"· id {m['id']}<br>{name}</figcaption></figure>")
        parts.append("</section>")
    return "\n".join(parts) + "\n"


def write_groups_html(res: DuplicateGroups, out: str | os.PathLike) -> None:
    """Write :func:`groups_html` atomically (never through a symlink)."""
    atomic_write_text(out, groups_html(res))
