"""The click CLI through CliRunner: every command, its --help, JSON output and errors."""
import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from nacsearch.cli.main import COMMANDS, main


@pytest.fixture
def runner():
    return CliRunner()


def test_top_level_help_lists_every_command(runner):
    res = runner.invoke(main, ["--help"])
    assert res.exit_code == 0
    for name in COMMANDS:
        assert name in res.output


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_command_has_help(runner, name):
    res = runner.invoke(main, [name, "--help"])
    assert res.exit_code == 0 and "Usage:" in res.output and "--" in res.output


def test_help_does_not_import_torch_or_faiss():
    code = ("import sys; from click.testing import CliRunner; from nacsearch.cli.main import main; "
            "r = CliRunner().invoke(main, ['--help']); assert r.exit_code == 0; "
            "print(sorted(m for m in ('torch', 'faiss') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_build_query_info_add_remove(runner, image_folder, tiny_model, tmp_path):
    idx = tmp_path / "idx"
    res = runner.invoke(main, ["build-index", str(image_folder), "--index", str(idx), "--model", str(tiny_model),
                               "--device", "cpu", "--json"])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.stdout)
    assert rep["added"] == 30 and rep["records"] == 30

    q = sorted(image_folder.rglob("*.png"))[0]
    res = runner.invoke(main, ["query", str(q), "--index", str(idx), "-k", "3", "--json", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out[0]["hits"][0]["distance"] == 0 and len(out[0]["hits"]) == 3

    res = runner.invoke(main, ["query", str(q), "--index", str(idx), "--radius", "0", "--paths", "--device", "cpu"])
    assert res.exit_code == 0 and str(q) in res.stdout.splitlines()

    res = runner.invoke(main, ["query", str(q), "--index", str(idx), "-k", "2", "--device", "cpu"])
    assert res.exit_code == 0 and len(res.stdout.strip().splitlines()) == 2

    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff not a jpeg")
    res = runner.invoke(main, ["query", str(q), str(bad), "--index", str(idx), "--device", "cpu"])
    assert res.exit_code == 1 and f"{bad}: not an image format" in res.output and "(not_image)" in res.output
    assert "Traceback" not in res.output and "BytesIO" not in res.output

    res = runner.invoke(main, ["info", "--index", str(idx), "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    assert info["records"] == 30 and info["bits"] == 16 and info["index_type"] == "flat"
    assert info["regions"]["grid"] == 3 and info["regions"]["penalty"] == 3  # build-index's default
    text = runner.invoke(main, ["info", "--index", str(idx)]).stdout
    assert "records" in text and "regions     3x3 crops of 0.8 of each side (+3 bits) + a white frame (+0 bits)" in text

    res = runner.invoke(main, ["remove", str(q), "--index", str(idx), "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["removed"] == 1
    res = runner.invoke(main, ["remove", "/no/such.png", "--index", str(idx)])
    assert res.exit_code == 1

    res = runner.invoke(main, ["add", str(image_folder), "--index", str(idx), "--device", "cpu", "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["added"] == 1


def test_query_default_index_location(runner, image_folder, tiny_model):
    res = runner.invoke(main, ["build-index", str(image_folder), "--model", str(tiny_model), "--device", "cpu"])
    assert res.exit_code == 0
    assert (image_folder / ".nacsearch" / "index.json").exists()
    q = sorted(image_folder.rglob("*.png"))[1]
    res = runner.invoke(main, ["query", str(q), "-k", "1", "--paths", "--device", "cpu"])
    assert res.exit_code == 0, res.output


def test_clear_errors(runner, tmp_path, image_folder):
    res = runner.invoke(main, ["info", "--index", str(tmp_path)])
    assert res.exit_code == 1 and "no index" in res.output
    bad = tmp_path / "bad.png"
    bad.write_text("nope")
    res = runner.invoke(main, ["query", str(bad), "--index", str(tmp_path)])
    assert res.exit_code == 1 and "Traceback" not in res.output
    res = runner.invoke(main, ["train", str(tmp_path / "missing"), "--out", str(tmp_path / "m")])
    assert res.exit_code == 1 and "no such" in res.output.lower()
    res = runner.invoke(main, ["train", str(image_folder), "--out", str(tmp_path / "m"), "--bits", "12",
                               "--max-steps", "1"])
    assert res.exit_code == 1 and "multiple of 8" in res.output


def test_train_and_encode(runner, fmnist_dir, tmp_path):
    m = tmp_path / "m"
    res = runner.invoke(main, ["train", f"fashion-mnist:{fmnist_dir}", "--out", str(m), "--bits", "16", "--epochs", "1",
                               "--batch-size", "16", "--device", "cpu", "--json"])
    assert res.exit_code == 0, res.output
    assert (m / "model.safetensors").exists() and json.loads(res.stdout)["steps"] == 3
    res = runner.invoke(main, ["train", f"fashion-mnist:{fmnist_dir}", "--out", str(m)])
    assert res.exit_code == 1 and "--resume" in res.output

    from nacsearch.samples import write_sample_images
    write_sample_images(tmp_path / "s", n=20, source="synthetic")
    out = tmp_path / "codes.npy"
    res = runner.invoke(main, ["encode", str(tmp_path / "s"), "--model", str(m), "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    codes = np.load(out)
    assert codes.shape == (20, 2) and codes.dtype == np.uint8
    assert len(json.loads((tmp_path / "codes.paths.json").read_text())) == 20
    assert "mean_balance" in json.loads(res.stdout)


def test_train_with_a_longer_trained_head(runner, fmnist_dir, tmp_path):
    from nacsearch.checkpoint import load_model

    m = tmp_path / "m"
    res = runner.invoke(main, ["train", f"fashion-mnist:{fmnist_dir}", "--out", str(m), "--bits", "16", "--head-bits",
                               "32", "--code-layer", "itq-features", "--max-steps", "2", "--batch-size", "16",
                               "--device", "cpu"])
    assert res.exit_code == 0, res.output
    model, meta = load_model(m)
    assert meta["run"].model.head_bits == 32 and model.code_head.net[2].out_features == 16
    res = runner.invoke(main, ["train", f"fashion-mnist:{fmnist_dir}", "--out", str(tmp_path / "n"), "--bits", "16",
                               "--head-bits", "32", "--code-layer", "trained", "--max-steps", "1"])
    assert res.exit_code == 1 and "itq-features" in res.output and not (tmp_path / "n" / "config.json").exists()


def test_sample_images(runner, tmp_path):
    res = runner.invoke(main, ["sample-images", str(tmp_path / "s"), "-n", "20", "--source", "synthetic"])
    assert res.exit_code == 0
    assert len(list((tmp_path / "s").rglob("*.png"))) == 20
    assert (tmp_path / "s" / "labels.csv").read_text().startswith("path,label,class")


def test_eval_command(runner, fmnist_dir, tmp_path):
    out = tmp_path / "rep"
    res = runner.invoke(main, ["eval", "--dataset", f"fashion-mnist:{fmnist_dir}", "--bits", "8,16",
                               "--methods", "itq,lsh", "--scale", "0.01", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    table = json.loads(res.stdout)
    assert table["metric"] == "map@1000" and set(table["results"]) == {"8", "16"}
    assert set(table["results"]["16"]) == {"itq", "lsh"}
    assert (out / "report.json").exists() and (out / "split.npz").exists()
    res = runner.invoke(main, ["eval", "--dataset", str(tmp_path), "--methods", "itq", "--out", str(out)])
    assert res.exit_code == 1 and "evaluation needs" in res.output
    res = runner.invoke(main, ["eval", "--dataset", f"fashion-mnist:{fmnist_dir}", "--methods", "nope",
                               "--scale", "0.01", "--out", str(out)])
    assert res.exit_code == 1 and "unknown method" in res.output
    res = runner.invoke(main, ["eval", "--dataset", f"fashion-mnist:{fmnist_dir}", "--bits", "x", "--out", str(out)])
    assert res.exit_code == 2
    base = ["eval", "--dataset", f"fashion-mnist:{fmnist_dir}", "--methods", "distillhash", "--scale", "0.01",
            "--out", str(tmp_path / "d")]
    res = runner.invoke(main, base + ["--distill-set", "kk=3"])
    assert res.exit_code == 1 and "unknown DistillHash setting" in res.output
    res = runner.invoke(main, base + ["--distill-set", "k"])
    assert res.exit_code == 1 and "--distill-set expects KEY=VALUE" in res.output


def test_encode_and_build_warn_when_codes_collapse(runner, image_folder, tiny_model, tmp_path):
    import shutil

    same = tmp_path / "same"
    same.mkdir()
    first = sorted(image_folder.rglob("*.png"))[0]
    for i in range(3):
        shutil.copy(first, same / f"{i}.png")
    res = runner.invoke(main, ["encode", str(same), "--model", str(tiny_model), "--out", str(tmp_path / "c.npy"),
                               "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert "warning: all 3 codes are identical" in res.stderr and "warning" not in res.stdout
    res = runner.invoke(main, ["build-index", str(same), "--index", str(tmp_path / "i"), "--model", str(tiny_model),
                               "--device", "cpu", "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["warning"].startswith("all 3 codes are identical")
    res = runner.invoke(main, ["encode", str(image_folder), "--model", str(tiny_model), "--out",
                               str(tmp_path / "d.npy"), "--device", "cpu", "--json"])
    assert res.exit_code == 0 and "warning" in json.loads(res.stdout)


def test_key_value_settings_are_json_values_else_strings():
    from nacsearch.config import parse_settings

    assert parse_settings(["p=0.1", "loco=true", "recipe=copies", " k =[1, 2]", "s=a=b"]) == {
        "p": 0.1, "loco": True, "recipe": "copies", "k": [1, 2], "s": "a=b"}
    assert parse_settings([]) == {}
    for bad in ("k", "=3"):
        with pytest.raises(ValueError, match="expects KEY=VALUE"):
            parse_settings([bad])
