"""Protocols, baselines and the evaluation runner on small synthetic data."""
import json

import numpy as np
import pytest

from nacsearch import codes as C
from nacsearch.eval.baselines.distillhash import label_stats, pseudo_labels
from nacsearch.eval.baselines.perceptual import PerceptualHash
from nacsearch.eval.baselines.projection import ITQ, LSH, PCAH, SpectralHashing
from nacsearch.eval.metrics import mean_average_precision
from nacsearch.eval.protocols import PROTOCOLS, Protocol, make_split


def clustered(n=600, dim=64, classes=6, seed=0):
    """Images whose pixels are noisy class prototypes: known structure for the hashers."""
    rng = np.random.default_rng(seed)
    protos = rng.random((classes, dim))
    labels = rng.integers(0, classes, n)
    x = np.clip(protos[labels] + rng.normal(0, 0.35, (n, dim)), 0, 1)
    return (x * 255).astype(np.uint8).reshape(n, 1, 8, 8), labels


@pytest.mark.parametrize("cls", [LSH, PCAH, ITQ, SpectralHashing])
@pytest.mark.parametrize("bits", [8, 16, 32])
def test_projection_hashers_give_requested_length(cls, bits):
    x, _ = clustered()
    codes = cls(bits).fit(x[:300]).encode(x[300:])
    assert codes.shape == (300, bits // 8) and codes.dtype == np.uint8
    assert C.bit_balance(codes)["dead_bits"] < bits // 2


def test_itq_beats_lsh_on_structured_data():
    x, y = clustered()
    scores = {}
    for cls in (ITQ, LSH):
        h = cls(16).fit(x[:300], seed=0)
        scores[cls.name] = mean_average_precision(h.encode(x[300:350]), h.encode(x[350:]), y[300:350], y[350:], "all")
    assert scores["itq"] > scores["lsh"] + 0.02, scores


def test_itq_rotation_is_orthogonal_and_reduces_quantisation_error():
    x, _ = clustered()
    h = ITQ(16).fit(x)
    np.testing.assert_allclose(h.r @ h.r.T, np.eye(16), atol=1e-4)
    v = (x.reshape(len(x), -1) / 255.0 - h.mean) @ h.w
    err = lambda z: np.square(np.where(z > 0, 1, -1) - z).sum()  # noqa: E731
    assert err(v @ h.r) < err(v)


def test_perceptual_hashes():
    x, _ = clustered(20)
    for kind in ("phash", "ahash", "dhash"):
        codes = PerceptualHash(64, kind).encode(x)
        assert codes.shape == (20, 8)
        np.testing.assert_array_equal(codes[:1], PerceptualHash(64, kind).encode(x[:1].copy()))
    assert PerceptualHash(32).encode(x).shape == (20, 4)


def test_distillhash_pseudo_labels_are_mostly_right():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 50)
    f = rng.normal(0, 1, (4, 16))[y] + rng.normal(0, 0.8, (200, 16))
    lab = pseudo_labels(f, k=10)
    assert lab.dtype == np.int8 and (np.diag(lab) == 1).all() and (lab == lab.T).all()
    st = label_stats(lab, y)
    assert st["similar_precision"] > 0.9 and st["dissimilar_precision"] > 0.9
    assert 0 < st["similar_fraction"] < 0.25 and st["dissimilar_fraction"] > 0.05


def test_protocol_splits_sizes_disjoint_per_class_deterministic():
    y = np.repeat(np.arange(10), 700)  # 7,000 like a 1/10 Fashion-MNIST
    p = Protocol("t", query_per_class=10, train_per_class=50, val_per_class=10)
    s = make_split(y, p, seed=3)
    assert s.sizes() == {"query": 100, "database": 6900, "train": 500, "val_query": 100, "val_database": 6800}
    assert not set(s.query) & set(s.database)
    assert set(s.train) <= set(s.database) and set(s.val_query) <= set(s.train)
    assert not set(s.val_database) & set(s.val_query) and not set(s.val_database) & set(s.query)
    assert (np.bincount(y[s.query]) == 10).all() and (np.bincount(y[s.train]) == 50).all()
    assert make_split(y, p, seed=3).sha256() == s.sha256() != make_split(y, p, seed=4).sha256()


def test_full_size_protocols_have_the_published_counts():
    y = np.repeat(np.arange(10), 7000)
    s = make_split(y, PROTOCOLS["fashion-mnist"], seed=0)
    assert (len(s.query), len(s.database), len(s.train)) == (1000, 69000, 5000)
    y = np.repeat(np.arange(10), 6000)
    s = make_split(y, PROTOCOLS["cifar10"], seed=0)
    assert (len(s.query), len(s.database), len(s.train)) == (10000, 50000, 5000)
    multi = np.random.default_rng(0).integers(0, 2, (25000, 24))
    s = make_split(multi, PROTOCOLS["mirflickr"], seed=0)
    assert (len(s.query), len(s.database), len(s.train)) == (2000, 23000, 5000)


def test_runner_end_to_end(fmnist_dir, tmp_path):
    from nacsearch.eval.runner import run_eval

    # 60 fixture images; scale shrinks the 100/500/100-per-class protocol to 1/1/1 per class
    rep = run_eval(f"fashion-mnist:{fmnist_dir}", [16], ["itq", "lsh", "phash", "nac", "distillhash"], tmp_path,
                   device="cpu", epochs=1, scale=0.01, save_codes=True, progress=False)
    res = rep["results"]["16"]
    for m in ("itq", "lsh", "phash", "nac", "distillhash"):
        assert 0.0 <= res[m]["test"]["map@1000"] <= 1.0
        assert "map@1000" in res[m]["validation"] and "map@all" in res[m]["validation"]
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["protocol"]["sizes"]["query"] == 10 and saved["protocol"]["split_sha256"]
    assert (tmp_path / "report.md").read_text().count("**") >= 2
    assert res["nac"]["diagnostics"]["code_layer"] == "itq-features"          # the categories recipe's NAC
    assert res["distillhash"]["diagnostics"]["code_layer"] == "trained"
    assert "re-fitted by ITQ after training (codes are still the signs of the last linear layer): nac (itq-features)" \
        in (tmp_path / "report.md").read_text()
    assert (tmp_path / "pr_16.png").stat().st_size > 1000 and (tmp_path / "precision_at_n.png").exists()
    q = np.load(tmp_path / "codes" / "itq_16_query.npy")
    db = np.load(tmp_path / "codes" / "itq_16_database.npy")
    lq, ldb = np.load(tmp_path / "codes" / "query_labels.npy"), np.load(tmp_path / "codes" / "database_labels.npy")
    assert mean_average_precision(q, db, lq, ldb, 1000) == pytest.approx(res["itq"]["test"]["map@1000"])


def _results(rep, bits="16"):
    return {m: (r["test"]["map@1000"], r["validation"]["map@1000"]) for m, r in rep["results"][bits].items()}


def test_runner_feature_methods_reuse_the_runs_simclr_encoder(fmnist_dir, tmp_path):
    """'+simclr' methods fit on the same SimCLR encoder the 'simclr' row scores (trained once), and the
    transductive variant trains on the whole database."""
    from nacsearch.eval.baselines.base import checkpoint_features
    from nacsearch.eval.runner import run_eval

    rep = run_eval(f"fashion-mnist:{fmnist_dir}", [16], ["itq+simclr", "distillhash+simclr", "simclr", "cibhash"],
                   tmp_path, device="cpu", epochs=1, scale=0.01, progress=False, train_on="database")
    assert rep["train_images"] == rep["protocol"]["sizes"]["database"] == 50
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == \
        ["cibhash-16", "distillhash-features-16", "simclr-16"]
    split = np.load(tmp_path / "split.npz")
    from nacsearch.datasets import open_dataset

    data = open_dataset(f"fashion-mnist:{fmnist_dir}")
    itq = ITQ(16, checkpoint_features(str(tmp_path / "models" / "simclr-16"))).fit(data.images[split["database"]], 0)
    q, db = itq.encode(data.images[split["query"]]), itq.encode(data.images[split["database"]])
    expect = mean_average_precision(q, db, data.labels[split["query"]], data.labels[split["database"]], 1000)
    assert rep["results"]["16"]["itq+simclr"]["test"]["map@1000"] == pytest.approx(expect)
    assert rep["results"]["16"]["distillhash+simclr"]["diagnostics"]["init_from"] == str(tmp_path / "models" / "simclr-16")
    diag = rep["results"]["16"]["distillhash+simclr"]["diagnostics"]["pseudo_labels"]
    assert 0 <= diag["similar_fraction"] <= 1 and "similar_precision" in diag
    md = (tmp_path / "report.md").read_text()
    assert "Pseudo-labels" in md and "unlabeled database (transductive) (50 images)" in md


def test_runner_itq_on_nac_features_reuses_the_runs_nac_encoder(fmnist_dir, tmp_path):
    """'itq+nac' fits ITQ on the backbone features of the very model the 'nac' row scores (trained once)."""
    from nacsearch.datasets import open_dataset
    from nacsearch.eval.baselines.base import checkpoint_features
    from nacsearch.eval.runner import run_eval

    rep = run_eval(f"fashion-mnist:{fmnist_dir}", [16], ["itq+nac", "nac"], tmp_path, device="cpu", epochs=1,
                   scale=0.01, progress=False)
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["nac-16"]
    split, data = np.load(tmp_path / "split.npz"), open_dataset(f"fashion-mnist:{fmnist_dir}")
    itq = ITQ(16, checkpoint_features(str(tmp_path / "models" / "nac-16"))).fit(data.images[split["train"]], 0)
    q, db = itq.encode(data.images[split["query"]]), itq.encode(data.images[split["database"]])
    expect = mean_average_precision(q, db, data.labels[split["query"]], data.labels[split["database"]], 1000)
    assert rep["results"]["16"]["itq+nac"]["test"]["map@1000"] == pytest.approx(expect)


def test_runner_passes_distill_settings_to_the_pseudo_labels_only(fmnist_dir, tmp_path):
    """``distill`` reaches DistillHash-style's pseudo-labels (the same labels a direct call makes) and is
    recorded; an unknown setting fails before anything trains."""
    from nacsearch.datasets import open_dataset
    from nacsearch.eval.baselines.distillhash import label_stats, make_objective
    from nacsearch.eval.runner import run_eval

    spec, strict = f"fashion-mnist:{fmnist_dir}", {"k": 3, "alpha": 0.5}
    rep = run_eval(spec, [16], ["distillhash"], tmp_path, device="cpu", epochs=1, scale=0.01, progress=False,
                   distill=strict)
    data, train = open_dataset(spec), np.load(tmp_path / "split.npz")["train"]
    _, labels = make_objective(data.images[train], None, **strict)
    _, default = make_objective(data.images[train], None)
    diag = rep["results"]["16"]["distillhash"]["diagnostics"]["pseudo_labels"]
    assert diag["similar_fraction"] == label_stats(labels)["similar_fraction"] != label_stats(default)["similar_fraction"]
    assert diag["k"] == 3 and rep["distill"] == strict
    with pytest.raises(ValueError, match="unknown DistillHash setting"):
        run_eval(spec, [16], ["distillhash"], tmp_path / "bad", distill={"kk": 3}, scale=0.01)
    assert not (tmp_path / "bad" / "models").exists()


def test_runner_same_seed_same_numbers_other_seed_other_split_and_model(fmnist_dir, tmp_path):
    from nacsearch.checkpoint import load_model
    from nacsearch.eval.runner import run_eval

    spec = f"fashion-mnist:{fmnist_dir}"
    kw = dict(device="cpu", epochs=1, scale=0.01, progress=False)
    a = run_eval(spec, [16], ["nac", "itq"], tmp_path / "a", seed=0, **kw)
    b = run_eval(spec, [16], ["nac", "itq"], tmp_path / "b", seed=0, **kw)
    c = run_eval(spec, [16], ["nac", "itq"], tmp_path / "c", seed=1, **kw)
    assert _results(a) == _results(b)
    assert a["protocol"]["split_sha256"] == b["protocol"]["split_sha256"] != c["protocol"]["split_sha256"]
    wa, wc = (load_model(tmp_path / d / "models" / "nac-16", "cpu")[0].state_dict() for d in "ac")
    assert any(not np.array_equal(wa[k].numpy(), wc[k].numpy()) for k in wa)


def test_runner_rejects_unknown_methods_and_settings(fmnist_dir, tmp_path):
    from nacsearch.eval.runner import parse_method, run_eval

    assert parse_method("itq+simclr") == ("itq", "simclr") and parse_method("nac") == ("nac", None)
    assert parse_method("itq+nac") == ("itq", "nac")
    for bad in ("nac+simclr", "itq+cibhash", "bogus", "phash+simclr", "nac+nac"):
        with pytest.raises(ValueError):
            parse_method(bad)
    with pytest.raises(ValueError, match="unknown NAC setting"):
        run_eval(f"fashion-mnist:{fmnist_dir}", [16], ["nac"], tmp_path, nac_overrides={"warp": 1}, scale=0.01)


def test_distillhash_pseudo_labels_use_the_one_seeded_sample(monkeypatch, tmp_path):
    from nacsearch.datasets.arrays import sample_indices
    from nacsearch.eval.baselines import deep

    monkeypatch.setattr(deep, "DISTILL_MAX_IMAGES", 20)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (30, 1, 8, 8), dtype=np.uint8)
    truth = np.arange(30) % 3
    hasher = deep.DeepHasher(16, "distillhash", tmp_path / "m", "cpu", progress=False)
    kept, _ = hasher._distill(images, 5, truth)
    keep = sample_indices(30, 20, 5)
    assert len(keep) == 20 and np.array_equal(kept, images[keep])
    small, _ = hasher._distill(images[:20], 5, truth[:20])
    assert np.array_equal(small, images[:20])  # at or under the cap: every image
