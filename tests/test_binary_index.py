"""FAISS binary indices against a numpy popcount brute force (tie-aware)."""
import numpy as np
import pytest

from nacsearch import codes as C
from nacsearch.indexer.binary_index import INDEX_TYPES, BinaryIndex, IndexParams


def brute_knn(q, db, ids, k):
    d = C.hamming_matrix(q, db)
    return [(np.sort(row)[:k], row, ids) for row in d]


def assert_knn_tie_aware(dist, got_ids, q, db, ids, k):
    """Same multiset of distances; at every distance below the k-th, the same id set;
    at the k-th distance, ids drawn from the tied set."""
    full = C.hamming_matrix(q, db)
    for i in range(len(q)):
        want = np.sort(full[i])[:k]
        np.testing.assert_array_equal(np.sort(dist[i]), want)
        kth = want[-1]
        for dd in np.unique(want):
            g = set(got_ids[i][dist[i] == dd].tolist())
            allowed = set(ids[full[i] == dd].tolist())
            if dd < kth:
                assert g == allowed
            else:
                assert g <= allowed and len(g) == (want == dd).sum()
        # reported distances are the true distances of the reported ids
        pos = {v: j for j, v in enumerate(ids)}
        np.testing.assert_array_equal(dist[i], full[i][[pos[v] for v in got_ids[i]]])


def data(bits=32, n=500, nq=20, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, 2, (10, bits), dtype=np.uint8)
    b = centres[rng.integers(0, 10, n)]
    flips = rng.random((n, bits)) < 0.05
    db = C.pack(b ^ flips)
    q = np.concatenate([db[:nq // 2], C.pack(rng.integers(0, 2, (nq - nq // 2, bits), dtype=np.uint8))])
    ids = rng.permutation(10 * n)[:n].astype(np.int64) + 7
    return q, db, ids


def make(kind, bits, db, ids):
    p = IndexParams(index_type=kind, bits=bits, nlist=8, nprobe=8)
    index = BinaryIndex(p)
    index.add(db, ids)
    return index


@pytest.mark.parametrize("kind", INDEX_TYPES)
@pytest.mark.parametrize("bits", [32, 64])
def test_knn_matches_brute_force(kind, bits):
    q, db, ids = data(bits)
    index = make(kind, bits, db, ids)
    for k in (1, 5, 37):
        dist, got = index.search(q, k)
        assert_knn_tie_aware(dist, got, q, db, ids, k)


@pytest.mark.parametrize("kind", INDEX_TYPES)
@pytest.mark.parametrize("radius", [0, 1, 2, 5])
def test_range_search_is_inclusive_and_exact(kind, radius):
    q, db, ids = data(32)
    index = make(kind, 32, db, ids)
    full = C.hamming_matrix(q, db)
    for i, (d, got) in enumerate(index.range_search(q, radius)):
        want = ids[full[i] <= radius]
        assert set(got.tolist()) == set(want.tolist())
        assert (d <= radius).all()
        assert list(zip(d, got)) == sorted(zip(d, got))  # ordered by (distance, id)


def test_radius_boundary_is_pinned():
    a = C.pack(np.zeros((1, 16), np.uint8))
    b = np.zeros((3, 16), np.uint8)
    b[1, :2] = 1   # distance 2
    b[2, :3] = 1   # distance 3
    for kind in INDEX_TYPES:
        index = make(kind, 16, C.pack(b), np.array([10, 11, 12]))
        d, ids = index.range_search(a, 2)[0]
        assert ids.tolist() == [10, 11] and d.tolist() == [0, 2], kind


@pytest.mark.parametrize("kind", INDEX_TYPES)
def test_remove_and_save_load(kind, tmp_path):
    q, db, ids = data(32)
    index = make(kind, 32, db, ids)
    gone = ids[:50]
    assert index.remove(gone) == 50
    keep_db, keep_ids = db[50:], ids[50:]
    again = BinaryIndex.from_bytes(index.to_bytes(), index.params)
    assert again.ntotal == len(keep_ids)
    dist, got = again.search(q, 5)
    assert_knn_tie_aware(dist, got, q, keep_db, keep_ids, 5)
    assert not set(got.ravel().tolist()) & set(gone.tolist())
    for d, found in again.range_search(q, 2):
        assert not set(found.tolist()) & set(gone.tolist())


def test_wrong_code_length_is_refused():
    index = BinaryIndex(IndexParams(bits=32))
    with pytest.raises(ValueError):
        index.add(np.zeros((2, 8), np.uint8), np.arange(2))
    with pytest.raises(ValueError):
        IndexParams(index_type="lsh")


def test_empty_index_searches():
    index = BinaryIndex(IndexParams(bits=16))
    d, ids = index.search(np.zeros((2, 2), np.uint8), 3)
    assert ids.shape == d.shape == (2, 0)
    assert all(len(i) == 0 for _, i in index.range_search(np.zeros((2, 2), np.uint8), 3))


@pytest.mark.parametrize("kind", ["hash", "multihash"])
def test_large_radius_answers_fast_and_exactly(kind):
    """radius >= 25 on a 24-bit hash prefix used to enumerate 2^24 buckets per query and never finish."""
    import time

    q, db, ids = data(64)
    db, ids = db[:300], ids[:300]
    index = make(kind, 64, db, ids)
    d_all = C.hamming_matrix(q, db)
    for r in (24, 25, 40, 64, 2**31 - 1, 10**12):
        t0 = time.perf_counter()
        found = index.range_search(q, r)
        assert time.perf_counter() - t0 < 5, f"radius {r} took too long"
        for row, (d, got) in zip(d_all, found):
            assert sorted(got.tolist()) == sorted(ids[row <= min(r, 64)].tolist())


@pytest.mark.parametrize("kind", INDEX_TYPES)
def test_k_is_capped_at_the_index_size(kind):
    q, db, ids = data(16)
    db, ids = db[:50], ids[:50]
    index = make(kind, 16, db, ids)
    for k in (50, 51, 10**8, 10**10):
        d, got = index.search(q, k)
        assert d.shape[1] <= 50
        if kind != "ivf":
            assert all(sorted(row.tolist()) == sorted(ids.tolist()) for row in got)


@pytest.mark.parametrize("kind", INDEX_TYPES)
def test_from_bytes_refuses_garbage_and_truncation(kind):
    q, db, ids = data(32)
    raw = make(kind, 32, db, ids).to_bytes()
    params = IndexParams(index_type=kind, bits=32)
    for bad in (raw[: len(raw) // 2], b"garbage" * 10, b""):
        with pytest.raises(ValueError):
            BinaryIndex.from_bytes(bad, params)
    with pytest.raises(ValueError):
        BinaryIndex.from_bytes(raw, IndexParams(index_type=kind, bits=64))
    got_ids, got_codes = BinaryIndex.from_bytes(raw, params).ids_and_codes()
    order = np.argsort(got_ids)
    np.testing.assert_array_equal(got_ids[order], np.sort(ids))
    np.testing.assert_array_equal(got_codes[order], db[np.argsort(ids)])
