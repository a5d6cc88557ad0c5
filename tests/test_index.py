"""Index directories: build, resume, bad files, validation, add/remove consistency."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nacsearch import codes as C
from nacsearch.indexer.build import build_index
from nacsearch.indexer.pipeline import add_images
from nacsearch.indexer.index import FAISS_FILE, INDEX_JSON, Index, IndexError_
from nacsearch.indexer.search import encode_query_images, search_codes, search_images
from tests.conftest import write_png


def consistent(index: Index) -> None:
    ids, codes = index.store.all_codes()
    assert index.faiss.ntotal == index.store.count() == len(ids)
    assert len(np.unique(ids)) == len(ids)
    if index.params.index_type != "ivf":
        assert sorted(index.faiss.ids().tolist()) == ids.tolist()


def snapshot(root: Path) -> dict:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("kind", ["flat", "multihash", "ivf"])
def test_build_query_self_at_distance_zero(image_folder, tiny_model, tmp_path, kind):
    res = build_index(image_folder, tmp_path / "idx", tiny_model, index_type=kind, progress=False, device="cpu").to_dict()
    assert res["added"] == 30 and res["records"] == 30 and res["skipped"] == 0
    index = Index.open(tmp_path / "idx")
    consistent(index)
    q = sorted(image_folder.rglob("*.png"))[4]
    hits = search_images(index, [q], k=5, device="cpu")[0]
    assert hits[0].distance == 0
    zero = [h.path for h in hits if h.distance == 0]
    assert str(q) in zero
    # radius search agrees with a brute force over the stored codes
    ids, codes = index.store.all_codes()
    qc = encode_query_images(index, [q], "cpu")
    d = C.hamming_matrix(qc, codes)[0]
    got = search_codes(index, qc, k=0, radius=3)[0]
    assert sorted(h.id for h in got) == sorted(ids[d <= 3].tolist())
    index.close()


def test_bad_files_are_reported_not_indexed(image_folder, tiny_model, tmp_path):
    bad = image_folder / "bad"
    bad.mkdir()
    (bad / "zero.png").write_bytes(b"")
    (bad / "text.jpg").write_text("hello, not a picture")
    good = sorted(image_folder.glob("c*/*.png"))[0].read_bytes()
    (bad / "trunc.png").write_bytes(good[: len(good) // 2])
    from PIL import Image
    Image.new("L", (12000, 12000)).save(bad / "huge.png")  # 144 Mpx > the decompression-bomb limit
    res = build_index(image_folder, tmp_path / "idx", tiny_model, progress=False, device="cpu").to_dict()
    assert res["added"] == 30 and res["skipped"] == 4
    rows = [json.loads(line) for line in (tmp_path / "idx" / "skipped.jsonl").read_text().splitlines()]
    reasons = {Path(r["path"]).name: r["reason"] for r in rows}
    assert reasons == {"zero.png": "empty", "text.jpg": "not_image", "trunc.png": "truncated", "huge.png": "too_large"}
    index = Index.open(tmp_path / "idx")
    assert all(index.store.id_for_path(str((bad / n).resolve())) is None for n in reasons)


def test_rerun_adds_only_new_and_changed(image_folder, tiny_model, tmp_path):
    build_index(image_folder, tmp_path / "idx", tiny_model, progress=False, device="cpu")
    index = Index.open(tmp_path / "idx")
    target = sorted(image_folder.rglob("*.png"))[0]
    old_id = index.store.id_for_path(str(target.resolve()))
    write_png(target, np.full((20, 20), 255, np.uint8))
    os.utime(target, ns=(time.time_ns(), time.time_ns() + 10**9))
    write_png(image_folder / "new" / "n.png", np.zeros((20, 20), np.uint8))
    rep = add_images(index, image_folder, progress=False, device="cpu")
    assert (rep.added, rep.replaced, rep.unchanged) == (2, 1, 29)
    assert index.store.get(old_id) is None and index.store.count() == 31
    consistent(index)


def test_remove_keeps_lmdb_and_faiss_in_step(image_folder, tiny_model, tmp_path):
    build_index(image_folder, tmp_path / "idx", tiny_model, index_type="hash", progress=False, device="cpu")
    index = Index.open(tmp_path / "idx")
    ids, _ = index.store.all_codes()
    assert index.remove(ids[:10]) == 10
    index.close()
    again = Index.open(tmp_path / "idx")
    consistent(again)
    assert again.store.count() == 20
    _, found = again.faiss.search(again.store.all_codes()[1], 20)
    assert not set(found.ravel().tolist()) & set(ids[:10].tolist())


def test_stale_faiss_is_rebuilt_from_lmdb(image_folder, tiny_model, tmp_path):
    build_index(image_folder, tmp_path / "idx", tiny_model, progress=False, device="cpu")
    (tmp_path / "idx" / FAISS_FILE).unlink()
    index = Index.open(tmp_path / "idx")
    consistent(index)
    assert index.faiss.ntotal == 30


def test_mismatched_model_or_bits_is_refused_and_changes_nothing(image_folder, tiny_model, tmp_path):
    from nacsearch.config import ModelConfig, RunConfig, TrainConfig
    from nacsearch.datasets.arrays import ArrayImages
    from nacsearch.samples import synthetic_images
    from nacsearch.train import train

    build_index(image_folder, tmp_path / "idx", tiny_model, progress=False, device="cpu")
    other = tmp_path / "other"
    images, _ = synthetic_images(32, size=16, seed=1)
    train(RunConfig(model=ModelConfig(bits=32, image_size=16, channels=1, width=4),
                    train=TrainConfig(epochs=1, batch_size=16, max_steps=1)), ArrayImages(images), other,
          device="cpu", progress=False)
    before = snapshot(tmp_path / "idx")
    with pytest.raises(IndexError_, match="model"):
        build_index(image_folder, tmp_path / "idx", other, progress=False, device="cpu")
    with pytest.raises(IndexError_, match="32 bits"):
        build_index(image_folder, tmp_path / "idx", bits=32, progress=False, device="cpu")
    assert snapshot(tmp_path / "idx") == before


def test_corrupt_index_json_is_refused(image_folder, tiny_model, tmp_path):
    build_index(image_folder, tmp_path / "idx", tiny_model, progress=False, device="cpu")
    (tmp_path / "idx" / INDEX_JSON).write_text("{ not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        Index.open(tmp_path / "idx")
    with pytest.raises(IndexError_, match="no index"):
        Index.open(tmp_path / "nothing")


def _pairs(root: Path) -> dict:
    index = Index.open(root)
    ids, codes = index.store.all_codes()
    out = {index.store.get(i).abspath: (int(i), codes[k].tobytes()) for k, i in enumerate(ids)}
    consistent(index)
    index.close()
    return out


def test_killed_build_resumes_to_the_same_index(tmp_path, tiny_model):
    from nacsearch.samples import synthetic_images

    images, _ = synthetic_images(600, size=20, seed=5)
    folder = tmp_path / "many"
    for i, img in enumerate(images):
        write_png(folder / f"{i // 100}" / f"{i:04d}.png", img)
    cmd = [sys.executable, "-m", "nacsearch.cli.main", "build-index", str(folder), "--model", str(tiny_model),
           "--batch-size", "8", "--device", "cpu", "--index"]
    ref = tmp_path / "ref"
    subprocess.run(cmd + [str(ref)], check=True, capture_output=True)
    victim = tmp_path / "victim"
    proc = subprocess.Popen(cmd + [str(victim)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:  # wait until some batches are committed, then kill -9
        if (victim / "store.lmdb" / "data.mdb").exists() and _count(victim) >= 40:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = _count(victim)
    assert 0 < partial < 600, "the kill should land mid-build"
    subprocess.run(cmd + [str(victim)], check=True, capture_output=True)
    assert _pairs(victim) == _pairs(ref)


def _count(root: Path) -> int:
    from nacsearch.indexer.store import Store

    st = Store(root / "store.lmdb", 2, readonly=True)
    try:
        return st.count()
    except Exception:  # noqa: BLE001 - store not created yet
        return 0
    finally:
        st.close()


def test_build_without_model_trains_and_resumes_an_interrupted_training(image_folder, tmp_path):
    from nacsearch.checkpoint import is_complete, read_meta

    root = tmp_path / "idx"
    res = build_index(image_folder, root, bits=16, epochs=2, progress=False, device="cpu").to_dict()
    assert res["trained_model"] and res["records"] == 30 and is_complete(root / "model")
    meta = json.loads((root / "model" / "config.json").read_text())
    assert meta["state"]["step"] == meta["state"]["total_steps"] == 2
    # pretend training died after step 1 and no index was written yet
    shutil.rmtree(root / "store.lmdb")
    (root / "index.json").unlink()
    meta["state"].update(step=1, complete=False)
    (root / "model" / "config.json").write_text(json.dumps(meta))
    assert not is_complete(root / "model")
    res = build_index(image_folder, root, bits=16, epochs=2, progress=False, device="cpu").to_dict()
    assert res["trained_model"] and res["records"] == 30
    assert read_meta(root / "model")["state"]["step"] == 2 and is_complete(root / "model")


def test_python_api_mirrors_the_cli(image_folder, tiny_model, tmp_path):
    from nacsearch.indexer.binary_index import IndexParams

    index = Index.create(tmp_path / "api", tiny_model, IndexParams(bits=16))
    rep = add_images(index, image_folder, device="cpu", progress=False)
    assert rep.added == 30
    q = sorted(image_folder.rglob("*.png"))[:2]
    by_path = search_images(index, q, k=3, device="cpu")
    by_code = search_codes(index, encode_query_images(index, q, "cpu"), k=3)
    assert [[h.id for h in hits] for hits in by_path] == [[h.id for h in hits] for hits in by_code]
    assert all(h.distance == 0 for h in search_images(index, q, k=0, radius=0, device="cpu")[0])
    assert index.remove([by_path[0][0].id]) == 1 and index.store.count() == 29
    index.close()


def test_a_failed_search_inside_with_leaves_the_index_reopenable(image_folder, tiny_model, tmp_path):
    from nacsearch.imageio import ImageError
    from nacsearch.indexer.binary_index import IndexParams

    with Index.create(tmp_path / "api", tiny_model, IndexParams(bits=16)) as index:
        add_images(index, image_folder, device="cpu", progress=False)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"")
    with pytest.raises(ImageError, match=f"{bad}: zero-byte file"):
        with Index.open(tmp_path / "api") as index:
            search_images(index, [bad], k=3, device="cpu")
    with Index.open(tmp_path / "api") as index:  # raised "already open in this process" before
        assert index.store.count() == 30
