"""README's headline numbers are generated from the committed seed-grid summary, never typed."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "fashion-mnist" / "headline.py"


def _module():
    spec = importlib.util.spec_from_file_location("headline", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _cell(mean, std, n=3):
    return {"mean": mean, "std": std, "n": n, "values": [], "seeds": []}


def test_render_bolds_only_the_best_and_states_each_verdict():
    h = _module()
    doc = {"seeds": [2, 0, 1], "settings": {"dataset": "fashion-mnist:/data", "train_on": "train", "epochs": 40,
                                            "minutes": None, "train_images": 5000},
           "summary": {"16": {"nac": {"map@1000": _cell(0.70, 0.01), "map@all": _cell(0.40, 0.01)},
                              "itq": {"map@1000": _cell(0.60, 0.01), "map@all": _cell(0.45, 0.02)}}},
           "verdicts": {"map@1000": {"16": {"leader": "nac", "runner_up": "itq", "margin": 0.1, "spread": 0.01,
                                            "best": "nac"}},
                        "map@all": {"16": {"leader": "itq", "runner_up": "nac", "margin": 0.05, "spread": 0.02,
                                           "best": None}}}}
    block = h.render(doc)
    assert block.startswith(h.START) and block.endswith(h.END)
    assert "| NAC (ITQ code layer) | **0.700 ± 0.010** | 0.400 ± 0.010 |" in block
    assert "| ITQ (pixels) | 0.600 ± 0.010 | 0.450 ± 0.020 |" in block
    assert "| SimCLR-sign | – | – |" in block
    assert "- map@1000: 16 bits: nac best, by 0.100 over itq (spread 0.010)." in block
    assert "- map@all: 16 bits: no winner (itq leads nac by 0.050, spread 0.020)." in block
    assert "On fashion-mnist, deep methods trained 40 epochs on the training split (5,000 images); " \
           "test mean ± std over seeds 0, 1, 2" in block


def test_rewrite_replaces_only_the_block():
    h = _module()
    text = f"intro\n{h.START}\nold numbers\n{h.END}\noutro\n"
    assert h.rewrite(text, "NEW") == "intro\nNEW\noutro\n"
    with pytest.raises(ValueError):
        h.rewrite("no markers here", "NEW")


def test_readme_headline_matches_the_committed_summary():
    h = _module()
    block = h.render(json.loads(h.SUMMARY.read_text()))
    readme = h.README.read_text()
    assert block in readme, "README.md headline is stale: run python benchmarks/fashion-mnist/headline.py"
