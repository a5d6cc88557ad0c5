"""The ``nacsearch`` command: a click group whose subcommands load lazily.

Only click is imported here, so ``nacsearch --help`` is instant; each command's
module imports torch/faiss inside the command body.
"""
from __future__ import annotations

import importlib
import logging

import click

# command name -> (module, attribute); modules import only click at top level
COMMANDS = {
    "train": ("nacsearch.cli.model_cmds", "train_cmd"),
    "encode": ("nacsearch.cli.model_cmds", "encode_cmd"),
    "sample-images": ("nacsearch.cli.model_cmds", "sample_images_cmd"),
    "demo": ("nacsearch.cli.model_cmds", "demo_cmd"),
    "build-index": ("nacsearch.cli.index_cmds", "build_index_cmd"),
    "add": ("nacsearch.cli.index_cmds", "add_cmd"),
    "remove": ("nacsearch.cli.index_cmds", "remove_cmd"),
    "prune": ("nacsearch.cli.index_cmds", "prune_cmd"),
    "query": ("nacsearch.cli.query_cmds", "query_cmd"),
    "info": ("nacsearch.cli.query_cmds", "info_cmd"),
    "duplicates": ("nacsearch.cli.dup_cmd", "duplicates_cmd"),
    "eval": ("nacsearch.cli.eval_cmd", "eval_cmd"),
    "eval-summary": ("nacsearch.cli.eval_cmd", "eval_summary_cmd"),
    "serve": ("nacsearch.cli.serve_cmd", "serve_cmd"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name]
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="nacsearch")
def main() -> None:
    """nacsearch: binary image hashing with NAC encoders and Hamming search.

    \b
    Typical use:
      nacsearch build-index ./photos            # train an encoder on the photos, index them
      nacsearch query photo.jpg -k 10           # nearest images by Hamming distance
      nacsearch query photo.jpg --radius 4      # every image within Hamming distance 4
      nacsearch duplicates --index photos/.nacsearch --html dups.html  # groups of copies
      nacsearch serve --index photos/.nacsearch # search page and JSON API on http://127.0.0.1:8000/
      nacsearch train fashion-mnist:/usr/share/datasets/fashion-mnist --out model/
      nacsearch eval --dataset fashion-mnist:/usr/share/datasets/fashion-mnist --out report/
      nacsearch eval-summary seed0/ seed1/ seed2/ --out spread/  # mean +- std over seeds

    Results go to stdout, logs and progress bars to stderr; most commands take --json.
    """
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # library logs -> stderr, plain lines


if __name__ == "__main__":
    main()
