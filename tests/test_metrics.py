"""Retrieval metrics against hand-worked cases and naive loops."""
import numpy as np
import pytest

from nacsearch import codes as C
from nacsearch.eval import metrics as M


def naive_map(q, db, lq, ldb, topk):
    qb, dbb = C.unpack(q), C.unpack(db)
    aps = []
    for i in range(len(qb)):
        dist = [int((qb[i] != dbb[j]).sum()) for j in range(len(dbb))]
        order = sorted(range(len(dbb)), key=lambda j: (dist[j], j))
        if topk != "all":
            order = order[:topk]
        if np.ndim(lq) == 1:
            rel = [lq[i] == ldb[j] for j in order]
        else:
            rel = [bool(np.dot(lq[i], ldb[j]) > 0) for j in order]
        hits, s = 0, 0.0
        for k, r in enumerate(rel, 1):
            if r:
                hits += 1
                s += hits / k
        aps.append(s / hits if hits else 0.0)
    return float(np.mean(aps))


def codes_of(bits01):
    return C.pack(np.asarray(bits01, np.uint8))


def test_hand_worked_ap():
    # query 00000000; database distances 0, 1, 2, 3 ; relevant items at ranks 1 and 3
    q = codes_of([[0] * 8])
    db = codes_of([[0] * 8, [1] + [0] * 7, [1, 1] + [0] * 6, [1, 1, 1] + [0] * 5])
    lq, ldb = np.array([1]), np.array([1, 0, 1, 0])
    # AP = (1/1 + 2/3) / 2
    assert M.mean_average_precision(q, db, lq, ldb, "all") == pytest.approx((1 + 2 / 3) / 2)
    assert M.mean_average_precision(q, db, lq, ldb, 2) == pytest.approx(1.0)


def test_tie_break_by_database_index():
    q = codes_of([[0] * 8])
    db = codes_of([[1] + [0] * 7, [0, 1] + [0] * 6])  # both at distance 1
    # item 0 irrelevant, item 1 relevant -> rank 2 -> AP 1/2 ; swapped labels -> AP 1
    assert M.mean_average_precision(q, db, np.array([5]), np.array([0, 5]), "all") == pytest.approx(0.5)
    assert M.mean_average_precision(q, db, np.array([5]), np.array([5, 0]), "all") == pytest.approx(1.0)


def test_perfect_ranking_scores_one():
    rng = np.random.default_rng(0)
    centres = rng.integers(0, 2, (4, 32), dtype=np.uint8)
    labels = np.repeat(np.arange(4), 20)
    codes = C.pack(centres[labels])
    r = M.evaluate(codes[:8], codes, labels[:8], labels, map_at=(10, "all"), precision_at=(5,))
    assert r["map@all"] == pytest.approx(1.0) and r["map@10"] == pytest.approx(1.0)
    assert r["precision@n"]["5"] == pytest.approx(1.0)
    assert r["precision@radius2"] == pytest.approx(1.0)


@pytest.mark.parametrize("multi", [False, True])
@pytest.mark.parametrize("topk", [1, 7, "all"])
def test_map_matches_naive(multi, topk):
    rng = np.random.default_rng(3)
    q, db = rng.integers(0, 256, (13, 2), dtype=np.uint8), rng.integers(0, 256, (40, 2), dtype=np.uint8)
    if multi:
        lq, ldb = rng.integers(0, 2, (13, 5)), rng.integers(0, 2, (40, 5))
    else:
        lq, ldb = rng.integers(0, 3, 13), rng.integers(0, 3, 40)
    got = M.mean_average_precision(q, db, lq, ldb, topk, chunk=4)
    assert got == pytest.approx(naive_map(q, db, lq, ldb, topk))


def test_multilabel_relevance():
    lq = np.array([[1, 0, 0], [0, 0, 0]])
    ldb = np.array([[1, 1, 0], [0, 1, 1]])
    np.testing.assert_array_equal(M.relevance(lq, ldb), [[True, False], [False, False]])
    with pytest.raises(ValueError):
        M.relevance(np.zeros(2), np.zeros((2, 3)))


def test_precision_at_radius_and_pr_curve_hand_worked():
    q = codes_of([[0] * 8])
    db = codes_of([[0] * 8, [1] + [0] * 7, [1, 1, 1] + [0] * 5, [1] * 8])
    lq, ldb = np.array([0]), np.array([0, 1, 0, 0])
    r = M.evaluate(q, db, lq, ldb, map_at=("all",), precision_at=(1, 2), radius=2)
    assert r["precision@radius2"] == pytest.approx(0.5)   # 2 retrieved, 1 relevant
    assert r["precision@n"] == {"1": 1.0, "2": 0.5}
    pr = r["pr_curve"]
    assert pr["precision"][0] == pytest.approx(1.0) and pr["recall"][0] == pytest.approx(1 / 3)
    assert pr["precision"][3] == pytest.approx(2 / 3) and pr["recall"][3] == pytest.approx(2 / 3)
    assert pr["recall"][8] == pytest.approx(1.0) and pr["precision"][8] == pytest.approx(3 / 4)


def test_no_relevant_items_scores_zero_and_no_retrieval_precision_zero():
    q = codes_of([[0] * 8])
    db = codes_of([[1] * 8])
    r = M.evaluate(q, db, np.array([1]), np.array([2]), map_at=("all",), precision_at=())
    assert r["map@all"] == 0.0 and r["precision@radius2"] == 0.0


def test_chunking_does_not_change_results():
    rng = np.random.default_rng(5)
    q, db = rng.integers(0, 256, (50, 4), dtype=np.uint8), rng.integers(0, 256, (300, 4), dtype=np.uint8)
    lq, ldb = rng.integers(0, 5, 50), rng.integers(0, 5, 300)
    a = M.evaluate(q, db, lq, ldb, chunk=7)
    b = M.evaluate(q, db, lq, ldb, chunk=1000)
    assert a == b


def test_split_scores_scores_test_and_validation_on_their_own_index_sets():
    from nacsearch.eval.metrics import split_scores

    rng = np.random.default_rng(4)
    codes = np.packbits(rng.random((40, 16)) > 0.5, axis=1)              # (40, 2)
    labels = rng.integers(0, 3, 40)
    split = {"query": np.arange(0, 5), "database": np.arange(5, 25),
             "val_query": np.arange(25, 30), "val_database": np.arange(30, 40)}
    got = split_scores(codes, labels, split)
    for name, q, db in (("test", "query", "database"), ("validation", "val_query", "val_database")):
        want = M.evaluate(codes[split[q]], codes[split[db]], labels[split[q]], labels[split[db]], map_at=(1000, "all"))
        assert got[name] == {"map@1000": round(want["map@1000"], 4), "map@all": round(want["map@all"], 4),
                             "precision@radius2": round(want["precision@radius2"], 4)}
    assert got["test"] != got["validation"]
