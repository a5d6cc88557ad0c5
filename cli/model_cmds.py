"""Commands that train and apply encoders: train, encode, sample-images."""
from __future__ import annotations

import click

from nacsearch.cli.common import bits_option, budget_options, call, device_option, echo_json, fail, log, recipe_option
from nacsearch.config import BACKBONES, CODE_LAYERS, OPTIMIZERS
from nacsearch.named_recipes import COLLECTION_RECIPE

DATA_HELP = ("DATA is a folder of images (searched recursively) or fashion-mnist:PATH, cifar10:PATH, "
             "mirflickr:PATH for the datasets as distributed.")


@click.command("train", help="Train a NAC encoder on unlabeled images.\n\n" + DATA_HELP)
@click.argument("data")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Model directory to write.")
@bits_option()
@click.option("--backbone", type=click.Choice(BACKBONES), default=BACKBONES[0], show_default=True)
@click.option("--objective", type=click.Choice(["nac", "simclr", "cibhash"]), default="nac", show_default=True,
              help="nac = binary-symmetric-channel MI (the method); simclr = NT-Xent ablation; "
                   "cibhash = CIBHash-style baseline.")
@click.option("--epochs", type=click.IntRange(1), default=None, help="Passes over the data [recipe default].")
@click.option("--max-steps", type=click.IntRange(0), default=0, help="Stop after N steps (0 = no limit).")
@budget_options()
@recipe_option(COLLECTION_RECIPE)
@click.option("--p", "p", type=click.FloatRange(0, 0.5, min_open=True, max_open=True), default=None,
              help="Channel flip probability [recipe default].")
@click.option("--code-layer", type=click.Choice(CODE_LAYERS), default=None,
              help="The last linear layer whose signs are the codes: as trained, or re-fitted by ITQ after training "
                   "on the training images' backbone features (itq-features) or on its own inputs (itq-hidden); "
                   "ITQ keeps the far tail of a ranking in order (benchmarks/RESULTS.md) [recipe default].")
@click.option("--head-bits", type=click.IntRange(0), default=None,
              help="Length of the code head NAC trains (0 = --bits).  Another length needs the itq-features code "
                   "layer, which fits the --bits-long code on the backbone features after training [recipe default].")
@click.option("--batch-size", type=click.IntRange(2), default=None)
@click.option("--lr", type=click.FloatRange(0, min_open=True), default=None)
@click.option("--optimizer", type=click.Choice(OPTIMIZERS), default=OPTIMIZERS[0], show_default=True)
@click.option("--image-size", type=click.IntRange(8, 1024), default=None,
              help="Input size in pixels [the dataset's native size; 32 for folders].")
@click.option("--channels", type=click.Choice(["1", "3"]), default=None, help="1 = grayscale, 3 = RGB.")
@click.option("--backbone-weights", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Initialise the backbone from this .safetensors/.pth file (nothing is downloaded).")
@device_option()
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--resume", is_flag=True, help="Continue from the checkpoint in --out.")
@click.option("--json", "as_json", is_flag=True, help="Print the training summary as JSON.")
def train_cmd(data, out_dir, bits, backbone, objective, epochs, max_steps, minutes, max_images, recipe, p, code_layer,
              head_bits, batch_size, lr, optimizer, image_size, channels, backbone_weights, device, seed, resume, as_json):
    from pathlib import Path

    from nacsearch.recipes import fit

    if Path(out_dir, "config.json").exists() and not resume:
        fail(f"{out_dir} already holds a model; pass --resume to continue it or choose another --out")
    res = call(fit, data, out_dir, device=device, resume=resume, channels=int(channels) if channels else None,
               image_size=image_size, backbone_weights=backbone_weights, bits=bits, backbone=backbone,
               objective=objective, epochs=epochs, max_steps=max_steps, p=p, batch_size=batch_size, lr=lr,
               optimizer=optimizer, seed=seed, minutes=minutes, max_images=max_images, recipe=recipe,
               code_layer=code_layer, head_bits=head_bits)
    summary = {"model": str(res.out_dir), "steps": res.steps, "final_loss": res.final_loss,
               "images_per_s": round(res.images_per_s, 1), "wall_s": round(res.wall_s, 1),
               "balance": res.history[-1]["balance"] if res.history else None}
    if as_json:
        echo_json(summary)
    else:
        click.echo(f"model written to {res.out_dir} ({res.steps} steps, final loss {res.final_loss:.4f}, "
                   f"{res.images_per_s:.0f} img/s)")


@click.command("encode")
@click.argument("images")
@click.option("--model", "model_dir", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="Output .npy of packed codes uint8 (n, bits/8); paths go to OUT.paths.json (a JSON array, same order).")
@device_option()
@click.option("--batch-size", type=click.IntRange(1), default=256, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the summary (with bit balance) as JSON.")
def encode_cmd(images, model_dir, out_path, device, batch_size, as_json):
    """Encode a folder (or one file) of images into packed binary codes.

    Codes use nacsearch's layout: bit j of a code is bit j%8 (LSB first) of byte j//8,
    the FAISS binary layout; a bit is 1 where the pre-activation is > 0.
    """
    from nacsearch.encode import encode_folder

    res = call(encode_folder, images, model_dir, out_path, device=device, batch_size=batch_size)
    if as_json:
        echo_json(res)
    else:
        click.echo(f"{res['count']} codes of {res['bits']} bits written to {res['codes']} "
                   f"(paths in {res['paths']}); {res['skipped']} files skipped")
        click.echo(res["balance_summary"])
    if res["warning"]:
        log(f"warning: {res['warning']}")


@click.command("sample-images")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("-n", "--count", type=click.IntRange(10), default=1000, show_default=True)
@click.option("--source", type=click.Choice(["auto", "fashion-mnist", "synthetic"]), default="auto", show_default=True,
              help="auto = real Fashion-MNIST files if installed, else generated shapes.")
@click.option("--fashion-mnist", "fmnist", default="/usr/share/datasets/fashion-mnist", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def sample_images_cmd(out_dir, count, source, fmnist, seed):
    """Write labelled sample PNGs (OUT_DIR/<class>/<n>.png + labels.csv), offline."""
    from nacsearch.samples import write_sample_images

    res = call(write_sample_images, out_dir, count, source, seed, fmnist)
    log(f"wrote {res['count']} {res['source']} images in {len(res['classes'])} classes to {res['dir']}")
    click.echo(res["dir"])


@click.command("demo")
@click.argument("out_dir", type=click.Path(file_okay=False), default="demo")
@click.option("-n", "--count", type=click.IntRange(50), default=1000, show_default=True, help="Sample images to write.")
@click.option("--epochs", type=click.IntRange(1), default=None, help="Encoder training epochs [recipe default].")
@device_option()
@click.option("--json", "as_json", is_flag=True)
def demo_cmd(out_dir, count, epochs, device, as_json):
    """Sample images -> NAC encoder -> index -> queries, all offline (the README's first command).

    Uses real Fashion-MNIST images when /usr/share/datasets/fashion-mnist exists, else generated shapes.
    """
    from nacsearch.indexer.demo import run_demo

    res = call(run_demo, out_dir, count, epochs, device)
    if as_json:
        echo_json(res)
        return
    b = res["build"]
    click.echo(f"indexed {b['records']} images in {res['index']} ({b['images_per_s']} img/s encoding)")
    for row in res["queries"]:
        click.echo(f"\nquery {row['query']} ({row['class']}): {row['same_class']} nearest share its class")
        for h in row["hits"]:
            click.echo(f"{h['rank']:>4}  {h['distance']:>4}  {h['path']}")
    click.echo(f"\ntry: nacsearch query {res['queries'][0]['query']} --index {res['index']} -k 10")
