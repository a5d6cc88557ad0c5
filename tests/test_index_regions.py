"""Indexes with regions: region codes live and die with their record, search takes each image's nearest
code (a region's counting the penalty more) as a naive loop does, duplicates link through regions, and a
cropped copy finds its original through them."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from nacsearch import codes as C
from nacsearch.cli.main import main as cli
from nacsearch.indexer.binary_index import IndexParams
from nacsearch.indexer.duplicates import duplicate_components
from nacsearch.indexer.index import Index
from nacsearch.indexer.search import search_codes
from nacsearch.indexer.records import Record
from nacsearch.regions import RegionConfig
from tests.test_duplicates import brute_force_groups

R = RegionConfig(grid=1)  # 2 regions per image: the centre crop (penalty 3) and the framed image (penalty 0)
BITS = 16


def _records(n: int, start: int = 0) -> list[Record]:
    return [Record(f"/x/{i}.png", f"/x/{i}.png", 1, 1, f"{i:064x}") for i in range(start, start + n)]


def _filled(tmp_path, tiny_model, n: int = 60, seed: int = 0, index_type: str = "flat"):
    rng = np.random.default_rng(seed)
    whole = C.pack(rng.integers(0, 2, (n, BITS), dtype=np.uint8))
    regions = C.pack(rng.integers(0, 2, (n * R.count, BITS), dtype=np.uint8)).reshape(n, R.count, -1)
    index = Index.create(tmp_path / "ix", tiny_model, IndexParams(index_type, bits=BITS), regions=R)
    index.add_codes(_records(n), whole, regions=regions)
    return index, whole, regions


def _naive(q: np.ndarray, whole: np.ndarray, regions: np.ndarray, pens: tuple[int, ...]) -> np.ndarray:
    """(nq, n) image distances: min(whole, every region + its penalty), by loops."""
    out = np.zeros((len(q), len(whole)), np.int64)
    for a in range(len(q)):
        for b in range(len(whole)):
            ds = [int(C.hamming_matrix(q[a:a + 1], whole[b:b + 1])[0, 0])]
            ds += [int(C.hamming_matrix(q[a:a + 1], r[None])[0, 0]) + pen for r, pen in zip(regions[b], pens)]
            out[a, b] = min(ds)
    return out


@pytest.mark.parametrize("index_type", ["flat", "multihash"])
def test_search_equals_a_naive_nearest_code_per_image(tmp_path, tiny_model, index_type):
    index, whole, regions = _filled(tmp_path, tiny_model, index_type=index_type)
    q = C.pack(np.random.default_rng(9).integers(0, 2, (12, BITS), dtype=np.uint8))
    assert R.penalties == (3, 0)
    truth = _naive(q, whole, regions, R.penalties)
    for a, hits in enumerate(search_codes(index, q, k=0, radius=4)):
        want = sorted((int(d), i) for i, d in enumerate(truth[a]) if d <= 4)
        assert [(h.distance, h.id) for h in hits] == want  # each image once, by (distance, id)
    for a, hits in enumerate(search_codes(index, q, k=7)):
        assert [h.distance for h in hits] == sorted(truth[a])[:7]
        assert all(truth[a, h.id] == h.distance for h in hits) and len({h.id for h in hits}) == 7
    index.close()


def test_region_codes_live_and_die_with_their_record(tmp_path, tiny_model):
    index, whole, regions = _filled(tmp_path, tiny_model, n=5)
    owner, codes = index.store.all_region_codes(R.count)
    assert owner.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4] and np.array_equal(codes, regions.reshape(10, -1))
    assert index.remove([1, 3]) == 2
    assert index.store.all_region_codes(R.count)[0].tolist() == [0, 0, 2, 2, 4, 4]
    # a changed file replaces its record: the old id's regions go in the same transaction
    index.add_codes(_records(1, start=0)[:1], whole[:1], replace={"/x/0.png": 0}, regions=regions[4:5])
    owner, codes = index.store.all_region_codes(R.count)
    assert owner.tolist() == [2, 2, 4, 4, 5, 5] and np.array_equal(codes[4:], regions[4])
    hit = search_codes(index, regions[4, 1:2], k=1)[0][0]  # the framed image's code: penalty 0
    assert hit.id in (4, 5) and hit.distance == 0
    with pytest.raises(Exception, match="region codes are required"):
        index.add_codes(_records(1, start=9), whole[:1])
    index.close()
    with Index.open(tmp_path / "ix", readonly=True) as ro:
        assert ro.regions == R and ro.info()["regions"]["grid"] == 1
        assert ro.store.all_region_codes(R.count)[0].tolist() == [2, 2, 4, 4, 5, 5]


def test_an_index_without_regions_opens_read_only_and_refuses_region_codes(tmp_path, tiny_model):
    with Index.create(tmp_path / "plain", tiny_model, IndexParams(bits=BITS)) as index:
        index.add_codes(_records(2), np.zeros((2, 2), np.uint8))
        with pytest.raises(Exception, match="not used"):
            index.add_codes(_records(1, start=5), np.zeros((1, 2), np.uint8), regions=np.zeros((1, 2, 2), np.uint8))
    meta = json.loads((tmp_path / "plain" / "index.json").read_text())
    del meta["regions"]  # as written before regions existed
    (tmp_path / "plain" / "index.json").write_text(json.dumps(meta))
    with Index.open(tmp_path / "plain", readonly=True) as ro:
        assert ro.regions is None and [h.id for h in search_codes(ro, np.zeros((1, 2), np.uint8), k=5)[0]] == [0, 1]


@pytest.mark.parametrize("radius", [0, 1, 2, 3])
def test_duplicates_through_regions_equal_brute_force(radius):
    rng = np.random.default_rng(radius)
    n, bits = 80, 16
    whole = C.pack(rng.integers(0, 2, (n, bits), dtype=np.uint8))
    rbits = rng.integers(0, 2, (n, 2, bits), dtype=np.uint8)
    for i in range(n // 2, n):  # half the images: a near copy of an earlier image's region
        j = int(rng.integers(0, i))
        b = rbits[j, 0].copy()
        b[rng.choice(bits, int(rng.integers(0, 3)), replace=False)] ^= 1
        whole[i] = C.pack(b[None])[0]
    rcodes = C.pack(rbits.reshape(-1, bits))
    owner = np.repeat(np.arange(n), 2)
    pens = (1, 0)
    d = _naive(whole, whole, rcodes.reshape(n, 2, -1), pens)
    d = np.minimum(d, d.T)  # linked when either image's whole code is near the other's region or whole code
    groups, links = duplicate_components(whole, radius, chunk=16, regions=(owner, rcodes, np.tile(pens, n)))
    assert [g.tolist() for g in groups] == _groups(d <= radius)
    assert links == int(np.triu(d <= radius, k=1).sum())
    plain, _ = duplicate_components(whole, radius, chunk=16)
    assert [g.tolist() for g in plain] == brute_force_groups(whole, radius)


def _groups(adj: np.ndarray) -> list[list[int]]:
    seen, out = set(), []
    for s in range(len(adj)):
        if s in seen:
            continue
        comp, todo = {s}, [s]
        while todo:
            i = todo.pop()
            for j in np.flatnonzero(adj[i]).tolist():
                if j not in comp:
                    comp.add(j)
                    todo.append(j)
        seen |= comp
        if len(comp) > 1:
            out.append(sorted(comp))
    return out


def test_build_index_indexes_regions_by_default_and_a_crop_finds_its_original(tiny_model, tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(12):
        a = np.asarray(Image.fromarray(rng.integers(0, 256, (5, 5), dtype=np.uint8)).resize((80, 80)))
        Image.fromarray(a).save(folder / f"{i:02d}.png")
    run = CliRunner()
    r = run.invoke(cli, ["build-index", str(folder), "--model", str(tiny_model), "--device", "cpu", "--json"])
    assert r.exit_code == 0, r.output
    with Index.open(folder / ".nacsearch", readonly=True) as index:
        assert index.regions == RegionConfig()
        assert len(index.store.all_region_codes(10)[0]) == 12 * 10
    crop = tmp_path / "crop.png"
    Image.open(folder / "03.png").crop((0, 0, 64, 64)).save(crop)  # exactly the top-left grid region
    r = run.invoke(cli, ["build-index", str(folder), "--index", str(tmp_path / "plain"), "--model", str(tiny_model),
                         "--no-regions", "--device", "cpu", "--json"])
    assert r.exit_code == 0, r.output
    with Index.open(tmp_path / "plain", readonly=True) as index:
        assert index.regions is None and len(index.store.all_region_codes(10)[0]) == 0
    found = {}
    for name in (".nacsearch", "plain"):
        where = folder / name if name == ".nacsearch" else tmp_path / name
        r = run.invoke(cli, ["query", str(crop), "--index", str(where), "-k", "12", "--device", "cpu", "--json"])
        assert r.exit_code == 0, r.output
        hits = json.loads(r.stdout)
        hits = hits[0]["hits"] if isinstance(hits, list) else hits["results"][0]["hits"]
        found[name] = {h["path"].rsplit("/", 1)[-1]: h["distance"] for h in hits}
        assert len(found[name]) == 12  # every image once
    # the crop's code is the one stored for the region: distance 0, plus the crops' penalty
    pen = RegionConfig().penalty
    assert found[".nacsearch"]["03.png"] == min(pen, found["plain"]["03.png"])
    assert all(found[".nacsearch"][k] <= found["plain"][k] for k in found["plain"])


def test_a_store_made_before_regions_reads_no_region_codes(tmp_path):
    """A store whose LMDB holds only the tables written before regions existed opens read-only (where no
    table can be made) and has no region codes."""
    import lmdb

    from nacsearch.indexer.store import Store

    env = lmdb.open(str(tmp_path / "old"), max_dbs=8)
    for name in ("records", "codes", "paths", "sha", "meta"):
        env.open_db(name.encode())
    env.close()
    store = Store(tmp_path / "old", 2, readonly=True)
    owner, codes = store.all_region_codes(10)
    assert owner.shape == (0,) and codes.shape == (0, 2) and store.all_codes()[1].shape == (0, 2)
    store.close()
