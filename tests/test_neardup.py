"""The near-duplicate protocol: edits do what they say, ties rank pessimistically, the trade-off
curve matches a hand count, sources are made distinct, and the CLI writes a report."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from nacsearch import codes as C
from nacsearch.cli.main import main as cli
from nacsearch.eval.copy_metrics import best_recall_at_false, copy_metrics, copy_ranks, tradeoff
from nacsearch.eval.edits import EDITS, EditParams, apply_edit
from nacsearch.eval.neardup import distinct, make_copies, thumbnails
from tests.conftest import write_png

P = EditParams()


def _picture(w: int = 100, h: int = 80, seed: int = 0) -> Image.Image:
    """A coarse random colour mosaic plus blocks: structure every edit visibly changes."""
    rng = np.random.default_rng(seed)
    a = np.asarray(Image.fromarray(rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)).resize((w, h),
                                                                                         Image.Resampling.BILINEAR))
    a = a.copy()
    for _ in range(4):
        y, x = rng.integers(0, h - 20), rng.integers(0, w - 20)
        a[y:y + 15, x:x + 15] = rng.integers(0, 256, 3)
    return Image.fromarray(a, "RGB")


def _a(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("RGB")).astype(int)


def test_size_changing_edits():
    img = _picture()
    assert apply_edit("downscale", img, 0).size == (40, 32)
    c = apply_edit("crop", img, 3)
    assert c.size == (80, 64)
    a, ca = _a(img), _a(c)
    hits = [(y, x) for y in range(17) for x in range(21) if np.array_equal(a[y:y + 64, x:x + 80], ca)]
    assert len(hits) == 1  # a true sub-image at one offset
    b = apply_edit("border_caption", img, 0)
    side = round(80 * P.border)
    assert b.size == (100 + 2 * side, 80 + 2 * side)
    ba = _a(b)
    assert np.array_equal(ba[side:side + 80, side:side + 100], a)
    assert (ba[:side] == 255).all() and (ba[:, :side] == 255).all()  # top and left frame are white
    assert (ba[-side:] < 100).any()                                   # the caption is drawn in the bottom one


def test_pixel_edits():
    img = _picture()
    a = _a(img)
    assert np.array_equal(_a(apply_edit("mirror", img, 0)), a[:, ::-1])
    g = apply_edit("grayscale", img, 0)
    ga = _a(g)
    assert g.mode == "L" and (ga[..., 0] == ga[..., 1]).all() and (ga[..., 1] == ga[..., 2]).all()
    r = _a(apply_edit("rotate", img, 0))
    assert r.shape == a.shape and (r[0, 0] == 255).all() and not np.array_equal(r, a)  # white corner fill
    j = apply_edit("jpeg", img, 0)
    assert j.format == "JPEG" and j.size == img.size and 0 < np.abs(_a(j) - a).mean() < 20
    bc = _a(apply_edit("brightness_contrast", img, 5))
    assert np.abs(bc - a).mean() > 5


def test_edits_are_seeded():
    img = _picture()
    for kind in EDITS:
        assert np.array_equal(_a(apply_edit(kind, img, 7)), _a(apply_edit(kind, img, 7))), kind
    assert not np.array_equal(_a(apply_edit("crop", img, 1)), _a(apply_edit("crop", img, 2)))
    with pytest.raises(ValueError):
        apply_edit("sepia", img, 0)


def _codes(rows: list[list[int]]) -> np.ndarray:
    return C.pack(np.asarray(rows, np.uint8))


def test_pessimistic_ties_hand_built():
    # 8-bit codes; database 0 and 1 are identical, 2 is two bits away from them, 3 far away.
    db = _codes([[0] * 8, [0] * 8, [1, 1] + [0] * 6, [1] * 8])
    q = _codes([[0] * 8, [0] * 8, [1] + [0] * 7])
    ranks, dist, _ = copy_ranks(q, db, np.array([0, 1, 2]))
    # q0 -> original 0 tied with 1 at distance 0: rank 2 (last among ties), not 1
    # q1 -> same; q2 (distance 1 to 2, 1 to 0 and 1): three images at <= 1, so rank 3
    assert ranks.tolist() == [2, 2, 3] and dist.tolist() == [0, 0, 1]
    m = copy_metrics(q, db, np.array([0, 1, 2]), ["a", "a", "b"], ks=(1, 2))
    assert m["recall@1"] == 0 and m["recall@2"] == pytest.approx(2 / 3)
    assert m["per_edit_recall@1"] == {"a": 0.0, "b": 0.0}
    assert m["distinct_database_codes"] == 3


def test_tradeoff_hand_computed():
    db = _codes([[0] * 8, [1] + [0] * 7, [1, 1, 1] + [0] * 5])
    q = _codes([[0] * 8, [1, 1, 1, 1] + [0] * 4])
    _, d, cum = copy_ranks(q, db, np.array([0, 2]))
    c = tradeoff(d, cum)
    # q0: original at 0; others at 1 (db1) and 3 (db2).  q1: original (db2) at 1; others at 3 (db1) and 4 (db0).
    assert c["recall"][:5] == [0.5, 1.0, 1.0, 1.0, 1.0]
    assert c["false_per_query"][:5] == [0.0, 0.5, 0.5, 1.5, 2.0]
    assert best_recall_at_false(c, 0.1) == {"recall": 0.5, "radius": 0, "false_per_query": 0.0, "budget": 0.1}
    assert best_recall_at_false(c, 0.5)["recall"] == 1.0 and best_recall_at_false(c, 0.5)["radius"] == 1


def test_distinct_drops_copies_and_blanks():
    imgs = [_picture(seed=0), _picture(seed=1), _picture(seed=0).resize((90, 70)), Image.new("RGB", (50, 50), "white"),
            apply_edit("brightness_contrast", _picture(seed=1), 3)]
    keep, info = distinct(thumbnails(imgs))
    assert keep.tolist() == [0, 1]
    assert info == {"dropped_near_identical": 2, "dropped_blank": 1}


def test_copies_deal_every_kind_evenly():
    srcs = [_picture(seed=s) for s in range(20)]
    copies, target, kinds, seeds = make_copies(srcs, 16, 0, P, progress=False)
    assert len(copies) == 16 and len(set(target.tolist())) == 16
    assert sorted(kinds) == sorted(list(EDITS) * 2)
    again = make_copies(srcs, 16, 0, P, progress=False)
    assert again[0] == copies and again[2] == kinds


def test_cli_neardup_report(tmp_path):
    folder = tmp_path / "photos"
    for s in range(24):
        write_png(folder / f"img{s:02d}.png", np.asarray(_picture(seed=s)))
    out = tmp_path / "rep"
    r = CliRunner().invoke(cli, ["eval", "--protocol", "neardup", "--images", str(folder), "--methods", "dhash,itq",
                                 "--queries", "16", "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout)
    rep = json.loads((out / "report.json").read_text())
    assert rep["set"]["queries"] == 16 and rep["set"]["database"] == 18  # 24 sources: 6 for validation
    assert got["results"]["64"]["dhash"]["recall@1"] == rep["results"]["64"]["dhash"]["recall@1"]
    assert set(rep["results"]["64"]["itq"]["per_edit_recall@1"]) == set(EDITS)
    assert "pessimistic" in (out / "report.md").read_text()
    r = CliRunner().invoke(cli, ["eval", "--protocol", "neardup", "--out", str(out)])
    assert r.exit_code != 0 and "--images" in r.output


def test_train_seed_reaches_the_fits_only(tmp_path, monkeypatch):
    """``train_seed`` seeds the learned methods' fits; the collections and copies stay those of ``seed``."""
    from nacsearch.eval import runner
    from nacsearch.eval.copy_runner import run_neardup
    from nacsearch.eval.runner import make_hasher

    folder = tmp_path / "photos"
    for s in range(24):
        write_png(folder / f"img{s:02d}.png", np.asarray(_picture(seed=s)))
    seeds = []

    def recording(*a, **kw):
        hasher = make_hasher(*a, **kw)
        real = hasher.fit
        hasher.fit = lambda x, seed: (seeds.append(seed), real(x, seed))[1]
        return hasher

    monkeypatch.setattr(runner, "make_hasher", recording)
    reps = [run_neardup(folder, [64], ["itq"], tmp_path / f"r{i}", seed=0, n_queries=16, progress=False, train_seed=ts)
            for i, ts in enumerate([None, 5])]
    assert seeds == [0, 5] and [r["train_seed"] for r in reps] == [0, 5]
    assert reps[0]["set"] == reps[1]["set"]
    assert "training seed 5" in (tmp_path / "r1" / "report.md").read_text()
