"""nacsearch serve: the HTTP search API and result page over one index."""
from __future__ import annotations

import click

from nacsearch.cli.common import call, device_option, fail, log

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@click.command("serve")
@click.option("--index", "index_dir", type=click.Path(exists=True, file_okay=False), required=True,
              help="The index to serve (opened read-only).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback makes the index searchable from the network.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--max-upload-mb", type=click.FloatRange(0.001), default=32.0, show_default=True,
              help="Largest accepted upload.")
@click.option("--log-level", type=click.Choice(["warning", "info", "debug"]), default="info", show_default=True,
              help="info logs every request; warning only problems.")
@device_option()
def serve_cmd(index_dir, host, port, max_upload_mb, log_level, device):
    """Serve a JSON search API and a result page for one index.

    \b
    The model and index are loaded once; searches are answered from memory.  An add,
    remove or prune run by another process becomes visible without a restart.
    Open http://HOST:PORT/ for the page, /docs for the API.  Ctrl-C stops the server.
    """
    try:
        from nacsearch.web.app import serve
    except ImportError as e:
        fail(f"nacsearch serve needs the serve extra ({e.name} is missing): pip install 'nacsearch[serve]'")
    if host not in LOOPBACK:
        log(f"warning: listening on {host}: anyone who can reach this address can search the index and "
            f"fetch its images")
    call(serve, index_dir, host, port, device, int(max_upload_mb * 1024 * 1024), log_level)
