"""Nothing lost, nothing let in: hostile folders, damaged index files, odd names, bounds.

One section per failure found by trying the index as a careful user and as an attacker.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nacsearch.cli.main import main
from nacsearch.indexer.build import build_index
from nacsearch.indexer.index import FAISS_FILE, INDEX_JSON, Index
from nacsearch.indexer.search import search_images
from tests.conftest import write_png


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def built(image_folder, tiny_model, tmp_path) -> Path:
    """An index of the 30-image folder with the tiny model."""
    root = tmp_path / "idx"
    build_index(image_folder, root, tiny_model, progress=False, device="cpu")
    return root


def tree(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def cli(runner, *args):
    return runner.invoke(main, [str(a) for a in args])


# -- 1. data loss: an --index folder that holds the user's files -------------------------------

def test_index_into_a_folder_of_the_users_files_is_refused_and_nothing_is_touched(runner, image_folder, tiny_model):
    mine = image_folder / "model"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    before = tree(image_folder)
    res = cli(runner, "build-index", image_folder, "--index", image_folder, "--model", tiny_model, "--device", "cpu")
    assert res.exit_code == 1 and "not empty and is not a nacsearch index" in res.output
    assert tree(image_folder) == before


def test_an_empty_folder_is_claimed_and_an_index_reopened(image_folder, tiny_model, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert build_index(image_folder, empty, tiny_model, progress=False, device="cpu").to_dict()["records"] == 30
    assert build_index(image_folder, empty, tiny_model, progress=False, device="cpu").to_dict()["unchanged"] == 30


# -- 2. writes never follow symlinks planted in an index folder -------------------------------------

def test_planted_symlinks_in_an_index_are_refused(runner, built, image_folder, tmp_path):
    victim, rc = tmp_path / "authorized_keys", tmp_path / "bashrc"
    victim.write_text("ssh-ed25519 AAAA user\n")
    rc.write_text("alias ll='ls -l'\n")
    (built / FAISS_FILE).unlink()
    (built / FAISS_FILE).symlink_to(victim)
    (built / "skipped.jsonl").symlink_to(rc)
    good = sorted(image_folder.rglob("*.png"))[0].read_bytes()
    (image_folder / "$(touch pwned).png").write_bytes(good[:40])
    for args in (["add", image_folder, "--index", built], ["query", sorted(image_folder.rglob("*.png"))[1],
                                                          "--index", built], ["info", "--index", built]):
        res = cli(runner, *args, *(["--device", "cpu"] if args[0] != "info" else []))
        assert res.exit_code == 1 and "symbolic link" in res.output, res.output
    assert victim.read_text() == "ssh-ed25519 AAAA user\n" and rc.read_text() == "alias ll='ls -l'\n"


def test_safe_writes_replace_a_link_and_never_write_through_it(tmp_path):
    from nacsearch.safeio import UnsafePathError, append_lines, atomic_write_bytes

    target = tmp_path / "target"
    target.write_text("keep")
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(UnsafePathError):
        append_lines(link, ["x\n"])
    atomic_write_bytes(link, b"new")
    assert target.read_text() == "keep" and not link.is_symlink() and link.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "target"]  # no temp file left


def test_arrays_and_figures_are_written_through_the_same_safe_path(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nacsearch.safeio import atomic_write_arrays, atomic_write_figure

    target = tmp_path / "target"
    target.write_text("keep")
    for name in ("one.npy", "many.npz", "fig.png"):
        (tmp_path / name).symlink_to(target)
    a = np.arange(6, dtype=np.uint8).reshape(2, 3)
    atomic_write_arrays(tmp_path / "one.npy", a)
    atomic_write_arrays(tmp_path / "many.npz", q=a, d=a.T)
    fig = plt.figure()
    atomic_write_figure(fig, tmp_path / "fig.png")
    plt.close(fig)
    assert target.read_text() == "keep" and not any((tmp_path / n).is_symlink() for n in ("one.npy", "many.npz"))
    np.testing.assert_array_equal(np.load(tmp_path / "one.npy"), a)
    with np.load(tmp_path / "many.npz") as z:
        np.testing.assert_array_equal(z["d"], a.T)
    assert (tmp_path / "fig.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="not both"):
        atomic_write_arrays(tmp_path / "x.npz", a, q=a)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.png", "many.npz", "one.npy", "target"]


# -- 3. any file name the OS allows: not UTF-8, newline, escape, > 511 bytes ------------------------

def odd_names(folder: Path) -> list[Path]:
    src = sorted(folder.rglob("*.png"))
    deep = folder / "d" / ("x" * 200) / ("y" * 200)
    deep.mkdir(parents=True)
    paths = [Path(os.fsdecode(bytes(folder) + b"/caf\xe9-latin1.png")), folder / "two\nlines.png",
             folder / "esc\x1b[31mred.png", deep / ("z" * 150 + ".png")]
    assert len(os.fsencode(paths[-1])) > 511
    for src_path, p in zip(src[:4], paths):
        p.write_bytes(src_path.read_bytes())
    return paths


def test_odd_file_names_are_indexed_found_removed_and_encoded(runner, image_folder, tiny_model, tmp_path):
    odd = odd_names(image_folder)
    idx = tmp_path / "idx"
    res = cli(runner, "build-index", image_folder, "--index", idx, "--model", tiny_model, "--device", "cpu", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["records"] == 34
    for p in odd:
        res = cli(runner, "query", p, "--index", idx, "--radius", "0", "-k", "0", "--json", "--device", "cpu")
        assert res.exit_code == 0, res.output
        assert str(p) in [h["path"] for h in json.loads(res.stdout)[0]["hits"]]
    res = cli(runner, "remove", odd[0], odd[3], "--index", idx, "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["removed"] == 2
    out = tmp_path / "codes.npy"
    res = cli(runner, "encode", image_folder, "--model", tiny_model, "--out", out, "--device", "cpu")
    assert res.exit_code == 0, res.output
    paths = json.loads((tmp_path / "codes.paths.json").read_text())
    assert len(paths) == len(np.load(out)) == 34 and set(map(str, odd)) <= set(paths)


# -- 4. a hash index with a large radius answers (see test_binary_index for exactness) -------------

def test_hash_index_radius_beyond_the_prefix_answers(runner, image_folder, tiny_model, tmp_path):
    build_index(image_folder, tmp_path / "h", tiny_model, index_type="hash", progress=False, device="cpu")
    q = sorted(image_folder.rglob("*.png"))[0]
    res = cli(runner, "query", q, "--index", tmp_path / "h", "--radius", "25", "-k", "0", "--json", "--device", "cpu")
    assert res.exit_code == 0 and len(json.loads(res.stdout)[0]["hits"]) == 30  # 16-bit codes: all within 25


# -- 5. damaged index files -------------------------------------------------------------------------

def _neighbours(root: Path, q: Path) -> list:
    with Index.open(root, readonly=True) as index:
        return [(h.id, h.distance) for h in search_images(index, [q], k=5, device="cpu")[0]]


@pytest.mark.parametrize("damage", ["truncated", "garbage", "wrong_codes", "wrong_codes_unhashed"])
def test_damaged_faiss_file_is_rebuilt_from_the_store(built, image_folder, damage):
    q = sorted(image_folder.rglob("*.png"))[3]
    want = _neighbours(built, q)
    f = built / FAISS_FILE
    if damage == "truncated":
        f.write_bytes(f.read_bytes()[:100])
    elif damage == "garbage":
        f.write_bytes(os.urandom(4000))
    else:  # a valid FAISS file with the right ids and count but other codes
        from nacsearch.indexer.binary_index import BinaryIndex

        with Index.open(built, readonly=True) as index:
            ids, codes = index.store.all_codes()
            fake = BinaryIndex(index.params)
            fake.add(np.ascontiguousarray(codes[::-1]), ids)
        f.write_bytes(fake.to_bytes())
        if damage == "wrong_codes_unhashed":  # as an index written before file hashes were recorded
            meta = json.loads((built / INDEX_JSON).read_text())
            del meta["counts"]["faiss_sha256"]
            (built / INDEX_JSON).write_text(json.dumps(meta))
    assert _neighbours(built, q) == want
    with Index.open(built) as index:  # a writable open also repairs the file
        pass
    from nacsearch.indexer.binary_index import BinaryIndex
    with Index.open(built, readonly=True) as index:
        assert index._disagreement(BinaryIndex.from_bytes(f.read_bytes(), index.params)) is None


def _run_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nacsearch.cli.main", *map(str, args)], capture_output=True,
                          text=True, timeout=120)


def test_truncated_store_is_refused_without_a_crash(built):
    data = built / "store.lmdb" / "data.mdb"
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    res = _run_cli("info", "--index", built)
    assert res.returncode == 1 and "truncated" in res.stderr, (res.returncode, res.stderr)


@pytest.mark.parametrize("how", ["deleted", "emptied"])
def test_missing_or_emptied_store_is_refused_and_counts_are_kept(runner, built, image_folder, how):
    meta_before = (built / INDEX_JSON).read_bytes()
    shutil.rmtree(built / "store.lmdb")
    if how == "emptied":
        (built / "store.lmdb").mkdir()
        from nacsearch.indexer.store import Store
        Store(built / "store.lmdb", 2).count()  # a fresh, empty LMDB environment
    for args in (["info", "--index", built], ["add", image_folder, "--index", built, "--device", "cpu"],
                 ["query", sorted(image_folder.rglob("*.png"))[0], "--index", built, "--device", "cpu"]):
        res = cli(runner, *args)
        assert res.exit_code == 1 and "missing or was replaced" in res.output, res.output
    assert (built / INDEX_JSON).read_bytes() == meta_before


def test_a_damaged_record_gives_a_message_naming_it_and_can_be_removed(runner, built, image_folder):
    from nacsearch.indexer.records import id_key

    with Index.open(built) as index:
        env = index.store.env
        with env.begin(write=True) as txn:
            txn.put(id_key(0), b'{"path": "x" "oops"}', db=index.store.db("records"))
    q = sorted(image_folder.rglob("*.png"))[0]
    res = cli(runner, "query", q, "--index", built, "-k", "30", "--device", "cpu")
    assert res.exit_code == 1 and "record 0" in res.output and "damaged" in res.output
    res = cli(runner, "remove", "0", "--index", built)
    assert res.exit_code == 0, res.output
    assert cli(runner, "query", q, "--index", built, "-k", "30", "--device", "cpu").exit_code == 0


# -- 6. wrong codes without a warning ----------------------------------------------------------------

def test_16bit_and_float_images_decode_like_their_8bit_twins(tmp_path):
    from PIL import Image

    from nacsearch.imageio import load_image

    rng = np.random.default_rng(0)
    a8 = rng.integers(0, 256, (40, 40), dtype=np.uint8)
    Image.fromarray(a8).save(tmp_path / "a8.png")
    Image.fromarray(a8.astype(np.uint16) * 257).save(tmp_path / "a16.png")
    Image.fromarray(a8.astype(np.float32) / 255).save(tmp_path / "af.tif")
    ref = load_image(tmp_path / "a8.png", 1, 16).astype(int)
    for name in ("a16.png", "af.tif"):
        got = load_image(tmp_path / name, 1, 16).astype(int)
        assert np.abs(got - ref).max() <= 1, name


def test_16bit_png_lands_within_hamming_2_of_its_8bit_twin(built, image_folder, tmp_path):
    from PIL import Image

    from nacsearch import codes as C
    from nacsearch.indexer.search import encode_query_images

    src = sorted(image_folder.rglob("*.png"))[0]
    a8 = np.asarray(Image.open(src).convert("L"))
    Image.fromarray(a8.astype(np.uint16) * 257).save(tmp_path / "twin16.png")
    with Index.open(built, readonly=True) as index:
        c = encode_query_images(index, [src, tmp_path / "twin16.png"], "cpu")
    assert C.hamming_matrix(c[:1], c[1:])[0, 0] <= 2


def test_an_edited_model_config_is_refused(runner, built, image_folder):
    cfg = built / "model" / "config.json"
    meta = json.loads(cfg.read_text())
    meta["config"]["model"]["image_size"] = 24
    cfg.write_text(json.dumps(meta))
    res = cli(runner, "query", sorted(image_folder.rglob("*.png"))[0], "--index", built, "--device", "cpu")
    assert res.exit_code == 1 and "image_size" in res.output and "changed after indexing" in res.output


# -- 7. bounded arguments ------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [["-k", "100000000"], ["-k", "10000000000"], ["--radius", "2147483647", "-k", "0"],
                                  ["--radius", "100000000000000000000", "-k", "0"]])
def test_huge_k_and_radius_return_everything(runner, built, image_folder, args):
    q = sorted(image_folder.rglob("*.png"))[0]
    res = cli(runner, "query", q, "--index", built, "--json", "--device", "cpu", *args)
    assert res.exit_code == 0, res.output
    assert len(json.loads(res.stdout)[0]["hits"]) == 30


def test_removing_an_id_beyond_64_bits_is_not_found(runner, built):
    res = cli(runner, "remove", "99999999999999999999999", "--index", built)
    assert res.exit_code == 1 and "not in the index" in res.output and "Traceback" not in res.output


# -- 8. paths that lead somewhere ----------------------------------------------------------------------

def test_paths_are_absolute_exact_and_escaped_for_people(runner, image_folder, tiny_model, tmp_path, monkeypatch):
    odd = odd_names(image_folder)
    idx = tmp_path / "idx"
    monkeypatch.chdir(image_folder)
    build_index(".", idx, tiny_model, progress=False, device="cpu")
    monkeypatch.chdir(tmp_path)
    nl, esc = odd[1], odd[2]
    res = cli(runner, "query", nl, "--index", idx, "--radius", "0", "-k", "0", "-0", "--device", "cpu")
    found = [os.fsdecode(b) for b in res.stdout_bytes.split(b"\0")[:-1]]
    assert str(nl) in found and all(os.path.isabs(p) and os.path.exists(p) for p in found)
    res = cli(runner, "query", esc, "--index", idx, "--radius", "0", "-k", "0", "--device", "cpu")
    assert "\x1b" not in res.stdout and "esc\\x1b[31mred.png" in res.stdout
    res = cli(runner, "query", odd[0], "--index", idx, "--radius", "0", "-k", "0", "--paths", "--device", "cpu")
    assert os.fsencode(odd[0]) + b"\n" in res.stdout_bytes


def test_prune_drops_deleted_files_and_a_renamed_folder_is_not_doubled(runner, image_folder, tiny_model, tmp_path):
    idx = tmp_path / "idx"
    build_index(image_folder, idx, tiny_model, progress=False, device="cpu")
    moved = tmp_path / "renamed"
    image_folder.rename(moved)
    res = cli(runner, "add", moved, "--index", idx, "--device", "cpu", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert (out["records"], out["moved"], out["added"]) == (30, 30, 0)
    q = sorted(moved.rglob("*.png"))[0]
    hits = json.loads(cli(runner, "query", q, "--index", idx, "--radius", "0", "--json", "--device", "cpu").stdout)
    assert all(h["path"].startswith(str(moved)) for h in hits[0]["hits"])
    for p in sorted(moved.rglob("*.png"))[:5]:
        p.unlink()
    res = cli(runner, "prune", "--index", idx, "--json")
    assert res.exit_code == 0 and json.loads(res.stdout) == {"pruned": 5, "records": 25}


# -- 9. messages, not tracebacks -------------------------------------------------------------------------

DISK_FULL = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from nacsearch.cli.main import main
sys.argv = ["nacsearch"] + sys.argv[2:]
main()
"""


def test_disk_full_during_build_is_a_message_and_the_rerun_completes(tiny_model, tmp_path):
    from nacsearch.samples import synthetic_images

    images, _ = synthetic_images(400, size=20, seed=2)
    folder = tmp_path / "many"
    for i, img in enumerate(images):
        write_png(folder / f"{i:04d}.png", img)
    idx = tmp_path / "idx"
    args = ["build-index", folder, "--index", idx, "--model", tiny_model, "--batch-size", "16", "--device", "cpu"]
    res = subprocess.run([sys.executable, "-c", DISK_FULL, str(64 * 1024), *map(str, args)], capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert "disk full" in res.stderr or "File too large" in res.stderr
    assert not list(idx.rglob("*.tmp"))
    res = _run_cli(*args, "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads(res.stdout)["records"] == 400


def _immutable(paths, on: bool) -> bool:
    flag = "+i" if on else "-i"
    return all(subprocess.run(["chattr", flag, str(p)], capture_output=True).returncode == 0 for p in paths)


def test_a_read_only_index_answers_queries(runner, built, image_folder):
    members = [built, built / "store.lmdb", *sorted((built / "store.lmdb").iterdir())]
    if os.geteuid() == 0:
        if shutil.which("chattr") is None or not _immutable(members, True):
            _immutable(members, False)
            pytest.skip("running as root without chattr +i: no way to make the index read-only")
    else:
        for p in members:
            p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        q = sorted(image_folder.rglob("*.png"))[0]
        res = cli(runner, "query", q, "--index", built, "--radius", "0", "--json", "--device", "cpu")
        assert res.exit_code == 0, res.output
        assert json.loads(res.stdout)[0]["hits"][0]["distance"] == 0
        assert cli(runner, "info", "--index", built).exit_code == 0
        res = cli(runner, "remove", "0", "--index", built)
        assert res.exit_code == 1 and "Traceback" not in res.output
    finally:
        if os.geteuid() == 0:
            _immutable(members, False)
        else:
            for p in members:
                p.chmod(0o755 if p.is_dir() else 0o644)


@pytest.mark.parametrize("edit", [{"params": "flat"}, {"counts": None}, {"model": None},
                                  {"model": {"sha256": "ab", "config": {}, "objective": None}},
                                  {"counts": {"records": "many"}}, {"params": {"index_type": "lsh"}}])
def test_malformed_index_json_fields_are_messages(runner, built, edit):
    meta = json.loads((built / INDEX_JSON).read_text())
    meta.update(edit)
    (built / INDEX_JSON).write_text(json.dumps(meta))
    res = cli(runner, "info", "--index", built)
    assert res.exit_code == 1 and "index.json" in res.output and res.exception.__class__ is SystemExit


HOLD_LOCK = """
import sys, time
from nacsearch.indexer.index import Index
with Index.open(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_a_second_writer_is_told_another_process_is_updating(runner, built, image_folder):
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(built)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        res = cli(runner, "add", image_folder, "--index", built, "--device", "cpu")
        assert res.exit_code == 1 and "another process is updating" in res.output
        q = sorted(image_folder.rglob("*.png"))[0]
        assert cli(runner, "query", q, "--index", built, "--device", "cpu").exit_code == 0  # readers go on
    finally:
        holder.kill()
        holder.wait()
    assert cli(runner, "add", image_folder, "--index", built, "--device", "cpu").exit_code == 0


# -- 10. memory on huge images -----------------------------------------------------------------------

def test_large_decodes_run_one_at_a_time_and_jpegs_decode_reduced(tmp_path, monkeypatch):
    """Huge images decode in one thread, one at a time (memory stays one image); JPEGs DCT-scale."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from PIL import Image

    from nacsearch import imageio

    seen = {"threads": set(), "now": 0, "max": 0, "pixels": []}
    lock = threading.Lock()
    real = imageio._load_reduced

    def watched(img, min_side):
        with lock:
            seen["now"] += 1
            seen["max"] = max(seen["max"], seen["now"])
            seen["threads"].add(threading.current_thread().name)
            seen["pixels"].append(img.width * img.height)
        try:
            return real(img, min_side)
        finally:
            with lock:
                seen["now"] -= 1

    monkeypatch.setattr(imageio, "_load_reduced", watched)
    monkeypatch.setattr(imageio, "LARGE_PIXELS", 1_000_000)
    for i in range(4):
        Image.new("L", (2000, 1000), 40 * i).save(tmp_path / f"big{i}.png")   # 2 Mpx each: "large" here
    with ThreadPoolExecutor(4) as pool:
        out = list(pool.map(lambda p: imageio.load_image(p, 1, 32), sorted(tmp_path.glob("big*.png"))))
    assert [int(a.mean()) for a in out] == [0, 40, 80, 120]
    assert seen["max"] == 1 and len(seen["threads"]) == 1
    assert next(iter(seen["threads"])).startswith("nacsearch-large-decode")
    Image.new("RGB", (4000, 3000), (10, 20, 30)).save(tmp_path / "camera.jpg", quality=90)
    seen["pixels"].clear()
    assert imageio.load_image(tmp_path / "camera.jpg", 3, 32).shape == (3, 32, 32)
    assert seen["pixels"] == [500 * 375]  # DCT-scaled by 8 before decoding, not 12 Mpx


@pytest.mark.parametrize("size", [(64, 40), (1600, 1000)])
def test_exif_orientation_is_applied_on_the_small_and_the_reduced_path(tmp_path, size):
    from PIL import Image, ImageOps

    from nacsearch.imageio import load_image, to_model_array

    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    arr = ((xx * 255 // w) ^ (yy * 3 % 256)).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.fromarray(arr).save(tmp_path / "o.png", exif=exif)
    with Image.open(tmp_path / "o.png") as im:  # the reference: full-size transpose, then the model resize
        ref = to_model_array(ImageOps.exif_transpose(im), 1, 32).astype(int)
    got = load_image(tmp_path / "o.png", 1, 32).astype(int)
    unrotated = to_model_array(Image.fromarray(arr), 1, 32).astype(int)
    if max(size) < 128:
        np.testing.assert_array_equal(got, ref)
    else:  # box reduction first: the same picture within rounding
        assert np.abs(got - ref).mean() < 2
    assert np.abs(got - ref).mean() < np.abs(unrotated - ref).mean() / 4


@pytest.mark.slow
def test_fault_injection_kills_leave_a_consistent_index(tmp_path):
    """A short run of benchmarks/fault_injection.py (the recorded run uses 60 kills)."""
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "fault_injection.py"
    res = subprocess.run([sys.executable, str(script), "--kills", "8", "--work", str(tmp_path / "fi")],
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    tally = json.loads(res.stdout)
    assert tally["kills"] == 8 and tally["problems"] == []
