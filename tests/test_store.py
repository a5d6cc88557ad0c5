import os

import numpy as np
import pytest

from nacsearch.indexer import store as S
from nacsearch.indexer.records import Record
from nacsearch.indexer.store import Store


def rec(i, sha=None):
    return Record(path=f"p{i}.png", abspath=f"/abs/p{i}.png", size=i, mtime_ns=10 * i,
                  sha256=sha or f"{i:064x}", labels=[i % 3], meta={"k": i})


def test_round_trip_and_keys(tmp_path):
    st = Store(tmp_path / "db", 2)
    codes = np.arange(10, dtype=np.uint8).reshape(5, 2)
    ids = st.add([rec(i) for i in range(5)], codes)
    assert ids.tolist() == [0, 1, 2, 3, 4]
    assert st.count() == 5 and st.id_sum() == 10
    assert st.get(3) == rec(3)
    assert st.id_for_path("/abs/p2.png") == 2
    assert st.ids_for_sha(f"{4:064x}") == [4]
    got_ids, got_codes = st.all_codes()
    np.testing.assert_array_equal(got_ids, ids)
    np.testing.assert_array_equal(got_codes, codes)
    st.close()
    again = Store(tmp_path / "db", 2, readonly=True)
    assert again.get(0) == rec(0) and again.count() == 5


def test_delete_and_duplicate_sha(tmp_path):
    st = Store(tmp_path / "db", 1)
    same = "ab" * 32
    st.add([rec(0, same), rec(1, same), rec(2)], np.zeros((3, 1), np.uint8))
    assert st.ids_for_sha(same) == [0, 1]
    assert st.delete([1, 99]) == 1
    assert st.ids_for_sha(same) == [0] and st.count() == 2 and st.get(1) is None
    assert st.id_for_path("/abs/p1.png") is None
    ids = st.add([rec(1)], np.zeros((1, 1), np.uint8))
    assert ids.tolist() == [3]  # ids are never reused


def test_failed_batch_writes_nothing(tmp_path):
    st = Store(tmp_path / "db", 1)
    st.add([rec(0)], np.zeros((1, 1), np.uint8))
    with pytest.raises(ValueError):
        st.add([rec(5), rec(0)], np.zeros((2, 1), np.uint8))  # second is a duplicate path
    assert st.count() == 1 and st.get(1) is None and st.id_for_path("/abs/p5.png") is None
    with pytest.raises(ValueError):
        st.add([rec(7)], np.zeros((1, 2), np.uint8))  # wrong code width


def test_map_full_grows_and_retries(tmp_path, monkeypatch):
    monkeypatch.setattr(S, "INITIAL_MAP", 64 * 1024)
    st = Store(tmp_path / "db", 32)
    n = 2000
    st.add([rec(i) for i in range(n)], np.zeros((n, 32), np.uint8))
    assert st.count() == n and st.env.info()["map_size"] > 64 * 1024


def test_reopens_after_fork(tmp_path):
    st = Store(tmp_path / "db", 1)
    st.add([rec(0)], np.zeros((1, 1), np.uint8))
    pid = os.fork()
    if pid == 0:  # child: must not reuse the parent's environment
        code = 1
        try:
            code = 0 if st.count() == 1 and st._pid == os.getpid() else 2
        except BaseException as e:  # noqa: BLE001 - report and exit, never return into pytest
            print("child failed:", repr(e))
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert st.count() == 1


def test_a_layout_1_store_is_rekeyed_by_path_hash_on_a_writable_open(tmp_path):
    """Stores written before path hashing keyed ``paths`` by UTF-8 text; reads and writes keep working."""
    st = Store(tmp_path / "db", 1)
    st.add([rec(0), rec(1)], np.zeros((2, 1), np.uint8))
    with st.env.begin(write=True) as txn:  # rewrite as layout 1: text keys, no layout marker
        paths = st.db("paths")
        txn.drop(paths, delete=False)
        for i in (0, 1):
            txn.put(f"/abs/p{i}.png".encode(), S.id_key(i), db=paths)
        txn.delete(b"layout", db=st.db("meta"))
    st.close()
    old = Store(tmp_path / "db", 1, readonly=True)
    assert old.id_for_path("/abs/p1.png") == 1  # read-only: the old keys are read as they are
    old.close()
    st = Store(tmp_path / "db", 1)
    assert st.id_for_path("/abs/p1.png") == 1 and st.id_for_path("/abs/p0.png") == 0
    with st.env.begin() as txn:
        keys = [k for k, _ in txn.cursor(db=st.db("paths"))]
    assert sorted(keys) == sorted(S.path_key(f"/abs/p{i}.png") for i in (0, 1))
    assert st.delete([0]) == 1 and st.id_for_path("/abs/p0.png") is None
