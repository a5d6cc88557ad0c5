"""ITQ (nacsearch.itq) and the ITQ code layer installed in a trained encoder (nacsearch.code_layer)."""
import copy
import dataclasses
import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from nacsearch import codes as C
from nacsearch.checkpoint import load_model
from nacsearch.cli.main import main
from nacsearch.code_layer import fit_code_layer, last_layer_inputs
from nacsearch.config import ModelConfig, ObjectiveConfig, RunConfig, TrainConfig
from nacsearch.datasets.arrays import ArrayImages
from nacsearch.encode import encode_images, preactivations
from nacsearch.eval.baselines.projection import ITQ
from nacsearch.itq import fit_itq, itq_rotation, principal_directions
from nacsearch.samples import synthetic_images
from nacsearch.train import train


def quantisation_error(v: np.ndarray, r: np.ndarray) -> float:
    z = v @ r
    return float(np.square(np.where(z > 0, 1.0, -1.0) - z).sum())


def test_principal_directions_match_a_naive_svd():
    x = np.random.default_rng(0).standard_normal((300, 6)) * np.array([5, 4, 3, 2, 1, 0.5])
    x = (x - x.mean(0)).astype(np.float32)
    w = principal_directions(x, 3)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    np.testing.assert_allclose(np.abs(w.T @ vt[:3].T), np.eye(3), atol=1e-4)  # same axes, up to sign
    with pytest.raises(ValueError, match="components"):
        principal_directions(x, 7)


def test_itq_rotation_is_orthogonal_and_lowers_the_quantisation_error():
    x = np.random.default_rng(1).standard_normal((500, 8)).astype(np.float32) @ np.diag(np.arange(1, 9)).astype(np.float32)
    v = (x - x.mean(0)) @ principal_directions(x - x.mean(0), 8)
    r = itq_rotation(v, np.random.default_rng(0))
    np.testing.assert_allclose(r @ r.T, np.eye(8), atol=1e-4)
    start = itq_rotation(v, np.random.default_rng(0), iterations=0)  # the random start
    assert quantisation_error(v, r) < quantisation_error(v, start)


def test_fit_itq_is_the_baseline_itq_as_one_affine_map():
    x = np.random.default_rng(2).standard_normal((400, 20)).astype(np.float32)
    mean, proj = fit_itq(x, 16, np.random.default_rng(5))
    assert proj.shape == (20, 16) and mean.shape == (20,)
    np.testing.assert_allclose(proj.T @ proj, np.eye(16), atol=1e-4)      # orthonormal PCA basis times a rotation
    base = ITQ(16, features=lambda imgs: imgs).fit(x, seed=5)
    ours = C.encode_preactivations((x - mean) @ proj)
    assert (C.to_pm1(base.encode(x)) == C.to_pm1(ours)).mean() > 0.999   # float rounding may flip a tied bit
    with pytest.raises(ValueError, match="N >= 2"):
        fit_itq(x[:1], 16, np.random.default_rng(0))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    images = ArrayImages(synthetic_images(96, size=16, seed=0)[0]).images      # (96, 1, 16, 16) uint8
    run = RunConfig(model=ModelConfig(bits=16, image_size=16, channels=1, width=4, head_gain=8.0),
                    objective=ObjectiveConfig(p=0.2), train=TrainConfig(epochs=100, batch_size=32, max_steps=6, seed=1))
    out = tmp_path_factory.mktemp("trained")
    train(run, ArrayImages(images), out, device="cpu", progress=False)
    model, _ = load_model(out)
    return model, images, run


def test_trained_code_layer_changes_nothing(trained):
    model, images, _ = trained
    m = copy.deepcopy(model)
    assert fit_code_layer(m, images, "trained", 0) == {"code_layer": "trained"}
    np.testing.assert_array_equal(encode_images(m, images), encode_images(model, images))


def test_itq_features_layer_encodes_as_itq_on_the_backbone_features(trained):
    model, images, _ = trained
    m = copy.deepcopy(model)
    rec = fit_code_layer(m, images, "itq-features", seed=3)
    assert rec["fit_images"] == len(images)
    h = preactivations(model, images, features=True)                      # the untouched model's features
    mean, proj = fit_itq(h, 16, np.random.default_rng(3))
    expect = C.to_pm1(C.encode_preactivations((h - mean) @ proj))
    assert (C.to_pm1(encode_images(m, images)) == expect).mean() > 0.999
    for (k, a), (_, b) in zip(m.backbone.state_dict().items(), model.backbone.state_dict().items()):
        torch.testing.assert_close(a, b, msg=k)                          # only the code head changes


def test_itq_hidden_layer_keeps_the_first_layer_and_fits_the_last(trained):
    model, images, _ = trained
    m = copy.deepcopy(model)
    fit_code_layer(m, images, "itq-hidden", seed=0)
    torch.testing.assert_close(m.code_head.net[0].weight, model.code_head.net[0].weight)
    a = last_layer_inputs(model, images)                                   # (N, H) hidden ReLU activations
    mean, proj = fit_itq(a, 16, np.random.default_rng(0))
    expect = C.to_pm1(C.encode_preactivations((a - mean) @ proj))
    assert (C.to_pm1(encode_images(m, images)) == expect).mean() > 0.999
    assert not torch.equal(m.code_head.net[2].weight, model.code_head.net[2].weight)


def test_code_layer_rejects_what_it_cannot_fit(trained):
    model, images, _ = trained
    with pytest.raises(ValueError, match="code layer must be one of"):
        fit_code_layer(copy.deepcopy(model), images, "pca", 0)
    with pytest.raises(ValueError, match="at least 2 images"):
        fit_code_layer(copy.deepcopy(model), images[:1], "itq-hidden", 0)
    with pytest.raises(ValueError, match="code_layer must be one of"):
        ModelConfig(code_layer="pca")


def test_itq_features_needs_hidden_equal_to_the_feature_dim():
    from nacsearch.models import HashEncoder

    model = HashEncoder(ModelConfig(bits=16, image_size=16, channels=1, width=4, hidden=8))
    images = ArrayImages(synthetic_images(8, size=16, seed=0)[0]).images
    with pytest.raises(ValueError, match="hidden width"):
        fit_code_layer(model, images, "itq-features", 0)


def test_training_with_an_itq_code_layer_saves_it_and_a_finished_run_resumes_to_the_same_model(trained, tmp_path):
    _, images, run = trained
    run = dataclasses.replace(run, model=dataclasses.replace(run.model, code_layer="itq-features"))
    data = ArrayImages(images)
    train(run, data, tmp_path, device="cpu", progress=False)
    meta = json.loads((tmp_path / "config.json").read_text())
    assert meta["state"]["code_layer"] == {"code_layer": "itq-features", "fit_images": 96, "seed": 1}
    assert meta["state"]["complete"] and meta["config"]["model"]["code_layer"] == "itq-features"
    model, _ = load_model(tmp_path)
    first = model.code_head.net[0]
    torch.testing.assert_close(first.weight, torch.eye(first.in_features))
    codes = encode_images(model, images)
    train(run, data, tmp_path, device="cpu", progress=False, resume=True)   # nothing left to train
    again, _ = load_model(tmp_path)
    np.testing.assert_array_equal(encode_images(again, images), codes)


def test_a_run_stopped_before_its_code_layer_was_fitted_is_refused_until_resumed(trained, tmp_path, monkeypatch):
    from nacsearch.checkpoint import CheckpointError
    from nacsearch.train import _Trainer

    _, images, run = trained
    run = dataclasses.replace(run, model=dataclasses.replace(run.model, code_layer="itq-features"))
    data = ArrayImages(images)
    clean = tmp_path / "clean"
    train(run, data, clean, device="cpu", progress=False)
    def killed(self, total, spe):      # the process dies after its last step's checkpoint, before the fit
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(_Trainer, "fit_code_layer", killed)
        with pytest.raises(KeyboardInterrupt):
            train(run, data, tmp_path / "cut", device="cpu", progress=False)
    meta = json.loads((tmp_path / "cut" / "config.json").read_text())
    assert meta["state"]["complete"] and "code_layer" not in meta["state"]
    with pytest.raises(CheckpointError, match="never fitted.*--resume"):
        load_model(tmp_path / "cut")
    folder = tmp_path / "imgs"                                             # the CLI says so in one line, exit 1
    folder.mkdir()
    for i in range(3):
        Image.fromarray(images[i, 0]).save(folder / f"{i}.png")
    res = CliRunner().invoke(main, ["encode", str(folder), "--model", str(tmp_path / "cut"),
                                    "--out", str(tmp_path / "c.npy")])
    assert res.exit_code == 1 and "never fitted" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "c.npy").exists()
    train(run, data, tmp_path / "cut", device="cpu", progress=False, resume=True)
    np.testing.assert_array_equal(encode_images(load_model(tmp_path / "cut")[0], images),
                                  encode_images(load_model(clean)[0], images))


def test_a_mirror_summed_model_gets_itq_on_the_summed_inputs_and_stays_mirror_invariant(trained):
    model, images, _ = trained
    m = copy.deepcopy(model)
    m.cfg = dataclasses.replace(m.cfg, mirror_sum=True)
    fit_code_layer(m, images, "itq-hidden", seed=2)
    plain = copy.deepcopy(model)
    a = last_layer_inputs(plain, images) + last_layer_inputs(plain, np.ascontiguousarray(images[..., ::-1]))
    mean, proj = fit_itq(a, 16, np.random.default_rng(2))
    expect = C.to_pm1(C.encode_preactivations((a - mean) @ proj))
    assert (C.to_pm1(encode_images(m, images)) == expect).mean() > 0.999
    np.testing.assert_array_equal(encode_images(m, np.ascontiguousarray(images[..., ::-1])), encode_images(m, images))


def test_the_categories_recipe_gives_nac_an_itq_code_layer_and_nothing_else_gets_one():
    from nacsearch.recipes import make_run_config

    assert make_run_config(1, 28).model.code_layer == "itq-features"
    assert make_run_config(1, 28, objective="simclr").model.code_layer == "trained"   # SimCLR-sign stays sign codes
    assert make_run_config(1, 28, objective="cibhash").model.code_layer == "trained"
    assert make_run_config(1, 28, recipe="copies").model.code_layer == "trained"
    assert make_run_config(1, 28, code_layer="itq-hidden").model.code_layer == "itq-hidden"
    assert ModelConfig().code_layer == "trained"                                      # a bare config: as trained


def test_a_code_layer_that_cannot_be_fitted_is_refused_before_the_first_step(tmp_path, monkeypatch):
    from nacsearch import train as T

    images = ArrayImages(synthetic_images(16, size=16, seed=0)[0])
    steps = []
    monkeypatch.setattr(T._Trainer, "step", lambda *a, **k: steps.append(1))
    for model, match in ((ModelConfig(bits=64, image_size=16, channels=1, width=4, code_layer="itq-features"),
                          "64 bits needs at least"),                       # 64 directions in 32 features
                         (ModelConfig(bits=16, image_size=16, channels=1, width=4, hidden=8, code_layer="itq-features"),
                          "hidden width")):
        run = RunConfig(model=model, train=TrainConfig(epochs=1, batch_size=8, max_steps=2))
        with pytest.raises(ValueError, match=match):
            train(run, images, tmp_path / "m", device="cpu", progress=False)
    assert steps == [] and not (tmp_path / "m" / "config.json").exists()
    monkeypatch.undo()
    fine = RunConfig(model=ModelConfig(bits=32, image_size=16, channels=1, width=4, code_layer="itq-features"),
                     train=TrainConfig(epochs=1, batch_size=8, max_steps=1))
    train(fine, images, tmp_path / "ok", device="cpu", progress=False)   # 32 bits in 32 features: a full rotation
