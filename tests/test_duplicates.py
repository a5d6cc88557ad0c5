"""nacsearch duplicates: multi-hash range search + union-find equals a brute-force union-find."""
from __future__ import annotations

import csv
import io
import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from nacsearch import codes as C
from nacsearch.cli.main import main
from nacsearch.indexer.duplicates import duplicate_components


def brute_force_groups(codes: np.ndarray, radius: int) -> list[list[int]]:
    """Naive reference: all pairs from the full distance matrix, a dict-based union-find."""
    d = C.hamming_matrix(codes, codes)
    parent = list(range(len(codes)))

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(len(codes)):
        for j in range(i + 1, len(codes)):
            if d[i, j] <= radius:
                parent[find(j)] = find(i)
    sets: dict[int, list[int]] = {}
    for i in range(len(codes)):
        sets.setdefault(find(i), []).append(i)
    return sorted((s for s in sets.values() if len(s) > 1), key=lambda s: s[0])


def planted(n: int, bits: int, seed: int) -> np.ndarray:
    """Random codes where a third are copies of earlier ones with 0-3 bits flipped (chains happen)."""
    rng = np.random.default_rng(seed)
    b = rng.integers(0, 2, (n, bits), dtype=np.uint8)
    for i in range(n // 3, n):
        if rng.random() < 0.5:
            b[i] = b[rng.integers(0, i)]
            b[i, rng.choice(bits, rng.integers(0, 4), replace=False)] ^= 1
    return C.pack(b)


@pytest.mark.parametrize("bits", [16, 64])
@pytest.mark.parametrize("radius", [0, 1, 2, 4])
def test_groups_equal_brute_force_union_find(bits, radius):
    codes = planted(300, bits, seed=bits + radius)
    groups, links = duplicate_components(codes, radius, chunk=64)
    assert [g.tolist() for g in groups] == brute_force_groups(codes, radius)
    d = C.hamming_matrix(codes, codes)
    assert links == int(np.triu(d <= radius, k=1).sum())


def test_cli_duplicates_json_csv_html(image_folder, tiny_model, tmp_path):
    first = sorted(image_folder.rglob("*.png"))[0]
    shutil.copy(first, image_folder / "copy <b>&amp;.png")  # a byte copy with a hostile name
    idx = tmp_path / "idx"
    r = CliRunner()
    assert r.invoke(main, ["build-index", str(image_folder), "--index", str(idx), "--model", str(tiny_model),
                           "--device", "cpu"]).exit_code == 0
    res = r.invoke(main, ["duplicates", "--index", str(idx), "-r", "0", "--json", "--html", str(tmp_path / "d.html")])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    groups = [[m["path"] for m in g] for g in out["members"]]
    assert any(str(first) in g and str(image_folder / "copy <b>&amp;.png") in g for g in groups)
    assert all(m["distance"] == 0 for g in out["members"] for m in g)
    page = (tmp_path / "d.html").read_text()
    assert "copy &lt;b&gt;&amp;amp;.png" in page and "data:image/jpeg;base64," in page and "<b>" not in page
    res = r.invoke(main, ["duplicates", "--index", str(idx), "-r", "0", "--csv"])
    rows = list(csv.reader(io.StringIO(res.stdout)))
    assert rows[0] == ["group", "id", "distance", "path"]
    assert len(rows) - 1 == out["images_in_groups"]
    res = r.invoke(main, ["duplicates", "--index", str(idx), "-r", "0"])
    assert res.exit_code == 0 and "group 1" in res.stdout
    res = r.invoke(main, ["duplicates", "--index", str(tmp_path / "nothing")])
    assert res.exit_code == 1 and "no index" in res.output


def test_cli_help_states_the_default_radius():
    from click.testing import CliRunner

    from nacsearch.cli.main import main
    from nacsearch.indexer.duplicates import DEFAULT_RADIUS

    out = CliRunner().invoke(main, ["duplicates", "--help"]).output
    assert f"[{DEFAULT_RADIUS}: on the" in " ".join(out.split())
