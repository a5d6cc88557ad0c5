"""The training budget: planning, calibration that leaves no trace, the plan recorded and kept on resume."""
import json

import numpy as np
import pytest
import torch

from nacsearch import budget as B
from nacsearch.checkpoint import load_model, read_meta
from nacsearch.config import RunConfig, TrainConfig, run_config_from_dict, to_dict
from nacsearch.datasets.arrays import ArrayImages, sample_indices
from nacsearch.datasets.imagefolder import load_image_folder
from nacsearch.train import train
from nacsearch.samples import synthetic_images
from tests.conftest import write_png
from tests.test_train import tiny_run


@pytest.fixture(scope="module")
def data():
    return ArrayImages(synthetic_images(128, size=16, seed=0)[0])


def with_train(run: RunConfig, **kw) -> RunConfig:
    return RunConfig(run.model, run.views, run.objective, TrainConfig(**{**to_dict(run.train), **kw}))


def test_plan_by_hand():
    assert B.plan_budget(10, 0.1, 100_000).steps == 6000            # 600 s / 0.1 s
    assert B.plan_budget(10, 0.1, 5000).steps == 5000               # the epochs end first
    assert not B.plan_budget(10, 0.1, 5000).bound and B.plan_budget(10, 0.1, 100_000).bound
    assert B.plan_budget(0.001, 5.0, 100).steps == 1                # never zero steps
    assert B.plan_budget(0, 5.0, 100).steps == 100                  # no budget
    assert B.plan_budget(1, 0.5, 1000).eta_s == pytest.approx(60.0)


def test_time_steps_skips_warmup_calls_and_stops_when_enough():
    calls = []

    def step(i):
        calls.append(i)

    B.time_steps(step, enough=lambda s: True, skip=3)
    assert calls == list(range(8))  # 3 untimed + 5 timed, then enough


def test_calibration_leaves_no_trace(data, tmp_path):
    """A budget that does not bind gives bit-identical weights to a run without one."""
    run = tiny_run(10)
    train(with_train(run, minutes=0), data, tmp_path / "plain", device="cpu", progress=False)
    train(with_train(run, minutes=60), data, tmp_path / "budget", device="cpu", progress=False)
    a, _ = load_model(tmp_path / "plain")
    b, _ = load_model(tmp_path / "budget")
    for (k, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), k
    budget = read_meta(tmp_path / "budget")["state"]["budget"]
    assert budget["steps"] == 10 and not budget["bound"] and budget["step_s"] > 0


def test_a_binding_budget_plans_the_run_and_resume_keeps_the_plan(data, tmp_path, monkeypatch):
    monkeypatch.setattr("nacsearch.train.time_steps", lambda *a, **k: 2.0)  # pretend a step takes 2 s
    run = with_train(tiny_run(1000), minutes=0.2)  # 12 s -> 6 of the 400 steps (4 a epoch x 100 epochs)
    res = train(run, data, tmp_path / "m", device="cpu", progress=False)
    state = read_meta(tmp_path / "m")["state"]
    assert res.steps == 6 and state["total_steps"] == 6 and state["complete"]
    assert state["budget"] == {"minutes": 0.2, "step_s": 2.0, "full_steps": 400, "steps": 6, "eta_s": 12.0,
                               "bound": True}
    monkeypatch.setattr("nacsearch.train.time_steps", lambda *a, **k: 0.001)  # a resume must not re-plan
    res = train(run, data, tmp_path / "m", device="cpu", progress=False, resume=True)
    assert res.steps == 6


def test_a_misjudged_plan_is_made_again_from_the_real_rate(data, tmp_path, monkeypatch):
    monkeypatch.setattr("nacsearch.train.time_steps", lambda *a, **k: 1e-5)  # calibration: far too fast
    monkeypatch.setattr("nacsearch.budget.REPLAN_MIN_STEPS", 20)
    run = with_train(tiny_run(100_000), minutes=0.01, epochs=100)  # 0.6 s; 400 steps (4 a epoch x 100)
    res = train(run, data, tmp_path / "m", device="cpu", progress=False)
    state = read_meta(tmp_path / "m")["state"]
    replan = state["budget"]["replan"]
    assert state["budget"]["steps"] == 400 and replan["first_plan_steps"] == 400 and replan["at_step"] == 40
    assert 41 <= res.steps == state["total_steps"] == replan["steps"] < 400 and state["complete"]
    assert replan["steps"] == max(41, int(0.6 / replan["step_s"]))     # what fits in the budget at the real rate
    assert B.replan_step(100) is None and B.replan_step(10_000) == 1000
    # timed from 20 % of the run's own steps before the re-plan, also in a run resumed after step 500
    assert B.replan_timed_from(0, 1000) == 200 and B.replan_timed_from(500, 1000) == 600


def test_the_plan_is_logged_before_training(data, tmp_path, caplog):
    with caplog.at_level("INFO", logger="nacsearch.train"):
        train(with_train(tiny_run(4), minutes=5), data, tmp_path, device="cpu", progress=False)
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("plan:"))
    assert "4 steps of 32" in line and "ETA" in line and "ms/step" in line


def test_sample_is_seeded_sorted_and_bounded():
    a = sample_indices(1000, 100, seed=3)
    assert len(a) == 100 and len(set(a)) == 100 and np.all(np.diff(a) > 0) and a.max() < 1000
    assert np.array_equal(a, sample_indices(1000, 100, seed=3))
    assert not np.array_equal(a, sample_indices(1000, 100, seed=4))
    assert np.array_equal(sample_indices(50, 100, 0), np.arange(50))
    assert np.array_equal(sample_indices(50, 0, 0), np.arange(50))


def test_training_uses_at_most_max_images(data, tmp_path, caplog):
    with caplog.at_level("INFO", logger="nacsearch.train"):
        train(with_train(tiny_run(2), max_images=40, minutes=0), data, tmp_path, device="cpu", progress=False)
    assert any("on 40 images" in r.getMessage() for r in caplog.records)


def test_a_large_folder_is_sampled_before_decoding(tmp_path, monkeypatch):
    for i in range(12):
        write_png(tmp_path / f"{i:02d}.png", np.full((8, 8), i * 20, np.uint8))
    decoded = []
    import nacsearch.datasets.imagefolder as F

    real = F.load_image
    monkeypatch.setattr(F, "load_image", lambda p, c, s: decoded.append(p) or real(p, c, s))
    folder = load_image_folder(tmp_path, 1, 8, progress=False, max_images=5, seed=0)
    assert len(folder.paths) == 5 and sorted(decoded) == sorted(folder.paths)
    again = load_image_folder(tmp_path, 1, 8, progress=False, max_images=5, seed=0)
    assert again.paths == folder.paths


def test_files_written_before_the_budget_existed_read_as_unbudgeted():
    d = to_dict(RunConfig())
    del d["train"]["minutes"], d["train"]["max_images"]
    run = run_config_from_dict(json.loads(json.dumps(d)))
    assert run.train.minutes == 0 and run.train.max_images == 0
    assert TrainConfig().minutes == 10 and TrainConfig().max_images == 50_000


def test_models_written_before_mirror_sums_keep_plain_codes():
    from nacsearch.config import ModelConfig

    d = to_dict(RunConfig(model=ModelConfig(mirror_sum=True)))
    assert run_config_from_dict(json.loads(json.dumps(d))).model.mirror_sum is True   # round trip
    del d["model"]["mirror_sum"]                    # a model (and the index built with it) from before the field
    assert run_config_from_dict(json.loads(json.dumps(d))).model.mirror_sum is False  # queries encode as it did


@pytest.mark.parametrize("bad", [{"minutes": -1}, {"max_images": -5}])
def test_bad_budget_values_are_refused(bad):
    with pytest.raises(ValueError):
        TrainConfig(**bad)


def test_build_index_options_reach_the_models_config(image_folder, tmp_path):
    from click.testing import CliRunner

    from nacsearch.cli.main import main

    res = CliRunner().invoke(main, ["build-index", str(image_folder), "--index", str(tmp_path / "i"), "--bits", "16",
                                    "--epochs", "1", "--train-minutes", "0.5", "--train-images", "20",
                                    "--device", "cpu", "--json"])
    assert res.exit_code == 0, res.output
    meta = read_meta(tmp_path / "i" / "model")
    assert meta["run"].train.minutes == 0.5 and meta["run"].train.max_images == 20
    assert meta["state"]["budget"]["minutes"] == 0.5 and meta["state"]["budget"]["steps"] >= 1
    assert json.loads(res.stdout)["records"] == 30  # trained on 20, encoded all


def test_recipes_fill_in_views_and_epochs_and_yield_to_explicit_values():
    from nacsearch.config import ViewConfig
    from nacsearch.named_recipes import CATEGORY_VIEWS, COPY_VIEWS, RECIPES
    from nacsearch.recipes import make_run_config

    cat = make_run_config(3, 32)
    assert cat.views == CATEGORY_VIEWS == ViewConfig(jitter=0.8) and cat.train.epochs == TrainConfig.epochs
    assert make_run_config(1, 32).views == ViewConfig(jitter=0.8, grayscale_p=0.0)
    assert COPY_VIEWS.jitter == ViewConfig().jitter == 0.4  # the copies recipe keeps the jitter it was validated with
    assert make_run_config(3, 32, objective="simclr").views == CATEGORY_VIEWS
    assert make_run_config(3, 32, objective="cibhash").views == ViewConfig()   # chosen on its own validation
    assert make_run_config(1, 32, objective="cibhash").views == ViewConfig(grayscale_p=0.0)
    assert make_run_config(3, 32, objective="cibhash", views=ViewConfig(flip=0.0)).views == ViewConfig(flip=0.0)
    assert make_run_config(3, 32, recipe="copies", objective="cibhash").views == COPY_VIEWS
    cop = make_run_config(3, 32, recipe="copies")
    assert cop.views == COPY_VIEWS and cop.train.epochs == RECIPES["copies"]["epochs"]
    assert cop.objective.prior_weight == RECIPES["copies"]["prior_weight"] > 0 == cat.objective.prior_weight
    assert make_run_config(3, 32, recipe="copies", prior_weight=0.0).objective.prior_weight == 0.0
    assert (cop.objective.prior_normalise, cop.model.input_norm, cop.views.clean_p) == (False, "image", 0.5)
    assert (cat.objective.prior_normalise, cat.model.input_norm, cat.views.clean_p) == (False, "dataset", 0.0)
    assert (cop.model.mirror_sum, cat.model.mirror_sum) == (RECIPES["copies"]["mirror_sum"], False)
    assert make_run_config(3, 32, recipe="copies", mirror_sum=False).model.mirror_sum is False
    plain = make_run_config(3, 32, recipe="copies", input_norm="dataset", prior_normalise=False)
    assert (plain.objective.prior_normalise, plain.model.input_norm) == (False, "dataset")
    gray = make_run_config(1, 32, recipe="copies")
    assert gray.views.grayscale_p == 0 and gray.views.zoom_out_p == COPY_VIEWS.zoom_out_p
    mine = make_run_config(3, 32, recipe="copies", epochs=3, views=ViewConfig(flip=0.0))
    assert mine.train.epochs == 3 and mine.views == ViewConfig(flip=0.0)
    with pytest.raises(ValueError, match="recipe"):
        make_run_config(3, 32, recipe="fastest")


def test_every_recipe_key_is_read_and_a_recipe_width_reaches_every_method(monkeypatch):
    import dataclasses
    import importlib.util
    from pathlib import Path

    from nacsearch.named_recipes import RECIPE_KEYS, RECIPES
    from nacsearch.recipes import make_run_config

    assert all(set(r) <= set(RECIPE_KEYS) for r in RECIPES.values())
    for key in ("width", "backbone", "pool", "hidden"):  # each recipe-level key changes what make_run_config gives
        value = {"width": 24, "backbone": "resnet18", "pool": "grid2", "hidden": 64}[key]
        monkeypatch.setitem(RECIPES, "categories", {**RECIPES["categories"], key: value})
        for objective in ("nac", "simclr"):
            assert getattr(make_run_config(1, 28, objective=objective).model, key) == value
        monkeypatch.setitem(RECIPES, "categories", {k: v for k, v in RECIPES["categories"].items() if k != key})
    assert make_run_config(1, 28, width=12).model.width == 12  # an explicit value still wins
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "fashion-mnist" / "recipe_set.py"
    spec = importlib.util.spec_from_file_location("recipe_set", path)
    rs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rs)
    assert rs.recipe_with({"views": dataclasses.replace(RECIPES["categories"]["views"])}, {"width": 32})["width"] == 32
    with pytest.raises(ValueError, match="not a recipe setting"):
        rs.recipe_with(RECIPES["categories"], {"temperature": 0.1})


def test_build_index_recipe_option_reaches_the_models_config(image_folder, tmp_path):
    from click.testing import CliRunner

    from nacsearch.cli.main import main
    from nacsearch.named_recipes import COPY_VIEWS

    res = CliRunner().invoke(main, ["build-index", str(image_folder), "--index", str(tmp_path / "i"), "--bits", "16",
                                    "--recipe", "copies", "--epochs", "1", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    views = read_meta(tmp_path / "i" / "model")["run"].views
    assert views.zoom_out_p == COPY_VIEWS.zoom_out_p and views.rotate_p == COPY_VIEWS.rotate_p
