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


def test_several_codes_per_original_count_the_nearest_and_rank_originals():
    # originals 0 and 1 own two rows each (rows interleaved), original 2 one row
    db = _codes([[0] * 8, [1] * 8, [1, 1] + [0] * 6, [0] * 7 + [1], [1] * 4 + [0] * 4])
    owner = np.array([0, 1, 1, 0, 2])
    q = _codes([[1] * 8, [1] + [0] * 7])
    ranks, dist, cum = copy_ranks(q, db, np.array([1, 2]), owner=owner)
    # q0 -> original 1 via row 1 at 0 (original 0: min(8, 7) = 7; original 2: 4): rank 1.
    # q1 -> original 2 at 3; original 0 at min(1, 2) = 1, original 1 at min(7, 1) = 1: rank 3.
    assert ranks.tolist() == [1, 3] and dist.tolist() == [0, 3]
    assert cum[1, :4].tolist() == [0, 2, 2, 3]  # originals, not rows, within r = 0..3
    # each original's second row costs one bit more: q1 -> original 0 at min(1, 2 + 1), original 1 at min(7, 1 + 1)
    ranks, dist, cum = copy_ranks(q, db, np.array([1, 2]), owner=owner, extra=np.array([0, 0, 1, 1, 0]))
    assert ranks.tolist() == [1, 3] and dist.tolist() == [0, 3] and cum[1, :4].tolist() == [0, 1, 2, 3]
    # one row per original reproduces the plain call
    plain = copy_ranks(q, db[[0, 1, 4]], np.array([1, 2]))
    same = copy_ranks(q, db[[0, 1, 4]], np.array([1, 2]), owner=np.array([0, 1, 2]))
    assert all(np.array_equal(a, b) for a, b in zip(plain, same))
    with pytest.raises(ValueError, match="owner"):
        copy_ranks(q, db, np.array([1, 2]), owner=np.array([0, 1, 1, 0, 3]))  # original 2 owns no row
    with pytest.raises(ValueError, match="extra"):
        copy_ranks(q, db, np.array([1, 2]), owner=owner, extra=np.array([0, 0, -1, 1, 0]))


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
    assert "pessimistic" in (out / "report.md").read_text() and rep["regions"]["penalty"] == 3  # build-index's
    r = CliRunner().invoke(cli, ["eval", "--protocol", "neardup", "--images", str(folder), "--methods", "dhash",
                                 "--queries", "16", "--no-regions", "--out", str(tmp_path / "whole"), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "whole" / "report.json").read_text())["regions"] is None
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


def test_regions_reach_every_method_and_an_unreachable_penalty_changes_nothing(tmp_path):
    """With regions the database holds 1 + count codes per original; a penalty of the code length makes a
    region never nearer than the whole image, so every figure but the code count is the plain run's."""
    from nacsearch.eval.copy_runner import run_neardup
    from nacsearch.regions import RegionConfig

    folder = tmp_path / "photos"
    for s in range(24):
        write_png(folder / f"img{s:02d}.png", np.asarray(_picture(seed=s)))
    kw = dict(seed=0, n_queries=16, progress=False)
    plain = run_neardup(folder, [64], ["dhash", "itq"], tmp_path / "plain", **kw)
    never = run_neardup(folder, [64], ["dhash", "itq"], tmp_path / "never",
                        regions=RegionConfig(penalty=64, frame_penalty=64), **kw)
    near = run_neardup(folder, [64], ["dhash"], tmp_path / "near", regions=RegionConfig(penalty=0), **kw)
    assert never["regions"]["penalty"] == 64 and plain["regions"] is None
    for m in ("dhash", "itq"):
        a, b = plain["results"]["64"][m], never["results"]["64"][m]
        assert {k: v for k, v in a.items() if k not in ("timings", "distinct_database_codes", "whole_image")} == \
               {k: v for k, v in b.items() if k not in ("timings", "distinct_database_codes", "whole_image")}
        assert b["distinct_database_codes"] > a["distinct_database_codes"]
    # free regions can only bring originals nearer: each copy's distance to its original never grows
    d_plain, d_near = (r["results"]["64"]["dhash"]["tradeoff"]["recall"] for r in (plain, near))
    assert all(n >= p for n, p in zip(d_near, d_plain)) and d_near != d_plain
    assert "Regions indexed" in (tmp_path / "near" / "report.md").read_text()
    # beside the figures with regions, the same codes' figures without them: the plain run's
    whole = near["results"]["64"]["dhash"]["whole_image"]
    assert whole["recall@1"] == plain["results"]["64"]["dhash"]["recall@1"]
    assert whole["per_edit_recall@1"] == plain["results"]["64"]["dhash"]["per_edit_recall@1"]
    assert "without the regions" in (tmp_path / "near" / "report.md").read_text()
