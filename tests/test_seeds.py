"""Seed spread: mean +- std over seed reports and the 'best only beyond the spread' rule."""
import json

import pytest
from click.testing import CliRunner

from nacsearch.cli.main import main
from nacsearch.eval.seeds import load_reports, summarise, verdict


def report(seed, values, dataset="fashion-mnist:X", train_on="train"):
    """A minimal report.json: ``values`` maps bits -> method -> (map@1000, map@all)."""
    return {"dataset": dataset, "train_on": train_on, "epochs": 40, "minutes": None, "scale": 1.0,
            "mirflickr_images": None, "seed": seed,
            "results": {b: {m: {"test": {"map@1000": v[0], "map@all": v[1]}} for m, v in per.items()}
                        for b, per in values.items()}}


def write(tmp_path, reps):
    dirs = []
    for i, r in enumerate(reps):
        d = tmp_path / f"r{i}"
        d.mkdir(parents=True)
        (d / "report.json").write_text(json.dumps(r))
        dirs.append(d)
    return dirs


def test_mean_and_sample_std_hand_computed():
    reps = [report(s, {"64": {"nac": (v, 0.5)}}) for s, v in ((0, 0.70), (1, 0.72), (2, 0.74))]
    cell = summarise(reps)["64"]["nac"]["map@1000"]
    assert cell["mean"] == pytest.approx(0.72) and cell["std"] == pytest.approx(0.02) and cell["n"] == 3
    assert cell["seeds"] == [0, 1, 2]


def test_best_only_beyond_the_larger_std():
    clear = {"nac": {"map@1000": {"mean": 0.75, "std": 0.01, "n": 3}},
             "itq": {"map@1000": {"mean": 0.70, "std": 0.02, "n": 3}}}
    assert verdict(clear, "map@1000")["best"] == "nac"
    tie = {"nac": {"map@1000": {"mean": 0.71, "std": 0.01, "n": 3}},
           "itq": {"map@1000": {"mean": 0.70, "std": 0.02, "n": 3}}}
    v = verdict(tie, "map@1000")
    assert v["best"] is None and v["leader"] == "nac" and v["margin"] == pytest.approx(0.01)
    close_one_seed = {"nac": {"map@1000": {"mean": 0.75, "std": 0.001, "n": 3}},
                      "simclr": {"map@1000": {"mean": 0.74, "std": 0.0, "n": 1}}}
    v = verdict(close_one_seed, "map@1000")
    assert v["best"] is None and v["needs_seeds"] == ["simclr"]
    far_one_seed = {"nac": {"map@1000": {"mean": 0.75, "std": 0.001, "n": 3}},
                    "lsh": {"map@1000": {"mean": 0.60, "std": 0.0, "n": 1}}}
    assert verdict(far_one_seed, "map@1000")["best"] == "nac"
    assert verdict(far_one_seed, "map@1000")["paired"] is None  # no values given
    alone = {"nac": {"map@1000": {"mean": 0.75, "std": 0.001, "n": 3}}}
    assert verdict(alone, "map@1000") == {"leader": "nac", "best": None}


def test_reports_must_differ_only_in_seed(tmp_path):
    with pytest.raises(ValueError, match="train_on"):
        load_reports(write(tmp_path / "a", [report(0, {}), report(1, {}, train_on="database")]))
    with pytest.raises(ValueError, match="seed 0 gives nac at 16 bits twice"):
        load_reports(write(tmp_path / "b", [report(0, {"16": {"nac": (0.5, 0.4)}}), report(0, {"16": {"nac": (0.6, 0.4)}})]))
    other_size = {**report(1, {}), "train_images": 69000}
    with pytest.raises(ValueError, match="train_images"):
        load_reports(write(tmp_path / "c", [{**report(0, {}), "train_images": 5000}, other_size]))


def test_cli_writes_summary(tmp_path):
    reps = [report(s, {"16": {"nac": (0.70 + s / 100, 0.4), "itq": (0.60, 0.45 + s / 100)}}) for s in range(3)]
    dirs = write(tmp_path, reps)
    res = CliRunner().invoke(main, ["eval-summary", *map(str, dirs), "--out", str(tmp_path / "s"), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["seeds"] == [0, 1, 2]
    assert out["verdicts"]["map@1000"]["16"]["best"] == "nac"
    assert out["verdicts"]["map@all"]["16"]["best"] == "itq"
    md = (tmp_path / "s" / "summary.md").read_text()
    assert "**0.7100 ± 0.0100 (3)**" in md and "**0.4600 ± 0.0100 (3)**" in md


def test_one_seed_cell_shows_no_spread(tmp_path):
    reps = [report(s, {"16": {"nac": (0.70 + s / 100, 0.4)}}) for s in range(2)]
    reps.append(report(0, {"16": {"lsh": (0.55, 0.30)}}))
    dirs = write(tmp_path, reps)
    res = CliRunner().invoke(main, ["eval-summary", *map(str, dirs), "--out", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    md = (tmp_path / "s" / "summary.md").read_text()
    assert "| lsh | 0.5500 (1 seed) |" in md and "0.5500 ± " not in md
    assert "0.7050 ± 0.0071 (2)" in md
    settings = json.loads((tmp_path / "s" / "summary.json").read_text())["settings"]
    assert settings["epochs"] == 40 and settings["train_on"] == "train" and settings["dataset"] == "fashion-mnist:X"
    bad = CliRunner().invoke(main, ["eval-summary", str(tmp_path / "s"), "--out", str(tmp_path / "t")])
    assert bad.exit_code == 1 and "Traceback" not in bad.output


def test_paired_difference_uses_matching_seeds_only():
    from nacsearch.eval.seeds import paired

    lead = {"values": [0.70, 0.75, 0.72], "seeds": [0, 1, 2]}
    other = {"values": [0.69, 0.73], "seeds": [0, 1]}
    p = paired(lead, other)
    assert p["seeds"] == [0, 1]
    assert p["mean"] == pytest.approx(0.015) and p["std"] == pytest.approx(0.005 * 2 ** 0.5)
    assert p["min"] == pytest.approx(0.01) and p["max"] == pytest.approx(0.02)
    assert paired(lead, {"values": [0.69], "seeds": [2]}) is None


def test_one_seed_may_come_as_one_report_per_code_length(tmp_path):
    reps = [report(s, {b: {"nac": (0.6 + s / 100 + int(b) / 1000, 0.4)}}) for s in range(2) for b in ("16", "32")]
    summary = summarise(load_reports(write(tmp_path, reps)))
    assert summary["16"]["nac"]["map@1000"]["values"] == pytest.approx([0.616, 0.626])
    assert summary["32"]["nac"]["map@1000"]["seeds"] == [0, 1]
    res = CliRunner().invoke(main, ["eval-summary", *map(str, sorted(tmp_path.glob("r*"))), "--out", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert doc["seeds"] == [0, 1] and "Seeds [0, 1]," in (tmp_path / "s" / "summary.md").read_text()


def test_replace_lets_a_later_report_supersede_a_cell_and_lists_it(tmp_path):
    old = [report(s, {"32": {"nac": (0.60, 0.40), "itq": (0.65 + s / 100, 0.45)}}) for s in range(2)]
    new = [report(s, {"32": {"nac": (0.70 + s / 100, 0.50)}}) for s in range(2)]
    dirs = [str(d) for d in write(tmp_path, old + new)]
    with pytest.raises(ValueError, match="twice"):
        load_reports(dirs)                                   # refused unless asked
    replaced: list = []
    summary = summarise(load_reports(dirs, replaced))
    assert summary["32"]["nac"]["map@1000"]["values"] == pytest.approx([0.70, 0.71])  # the later ones only
    assert summary["32"]["itq"]["map@1000"]["values"] == pytest.approx([0.65, 0.66])  # kept from the earlier
    assert replaced == [{"seed": s, "bits": "32", "method": "nac", "report": dirs[s], "by": dirs[2 + s]} for s in range(2)]
    res = CliRunner().invoke(main, ["eval-summary", *dirs, "--replace", "--out", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert len(doc["replaced"]) == 2 and doc["verdicts"]["map@1000"]["32"]["best"] == "nac"
    assert f"seed 1, 32 bits, nac: {dirs[1]} replaced by {dirs[3]}" in (tmp_path / "s" / "summary.md").read_text()
    assert CliRunner().invoke(main, ["eval-summary", *dirs, "--out", str(tmp_path / "t")]).exit_code == 1
