"""nacsearch serve: every endpoint and every bad input through the framework's test client."""
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi", reason="the serve extra is not installed")
from fastapi.testclient import TestClient  # noqa: E402

from nacsearch.indexer.build import build_index  # noqa: E402
from nacsearch.indexer.index import Index  # noqa: E402
from nacsearch.indexer.search import search_images  # noqa: E402
from nacsearch.indexer.service import LiveIndex  # noqa: E402
from nacsearch.web.app import create_app  # noqa: E402
from tests.conftest import write_png  # noqa: E402


@pytest.fixture
def built(image_folder, tiny_model, tmp_path) -> Path:
    root = tmp_path / "idx"
    build_index(image_folder, root, tiny_model, progress=False, device="cpu")
    return root


@pytest.fixture
def live(built):
    return LiveIndex(built, "cpu")


@pytest.fixture
def client(live):
    with TestClient(create_app(live, max_upload=200_000)) as c:  # the app closes the index on shutdown
        yield c


def png_bytes(arr: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(arr).save(out, "PNG")
    return out.getvalue()


def upload(client, data: bytes, name="q.png", **form):
    return client.post("/api/search", files={"image": (name, data, "image/png")}, data={k: str(v) for k, v in form.items()})


def hit_for(answer: dict, path: Path) -> dict:
    return next(h for h in answer["hits"] if h["path"] == os.path.abspath(path))


def ids_of(answer: dict) -> list[int]:
    return [h["id"] for h in answer["hits"]]


def test_upload_search_matches_the_library(client, live, image_folder):
    q = sorted(image_folder.rglob("*.png"))[4]
    res = upload(client, q.read_bytes(), q.name, k=5)
    assert res.status_code == 200, res.text
    body = res.json()
    want = search_images(live.current(), [q], k=5, device="cpu")[0]
    assert ids_of(body) == [h.id for h in want] and [h["distance"] for h in body["hits"]] == [h.distance for h in want]
    same = hit_for(upload(client, q.read_bytes(), k=30).json(), q)  # the tiny model's codes tie: look for it
    assert same["distance"] == 0 and same["name"] == q.name and body["hits"][0]["distance"] == 0
    assert same["thumbnail"] == f"/api/images/{same['id']}/thumbnail" and body["records"] == 30


def test_id_search_and_radius_match_a_brute_force(client, live):
    ids, codes = live.current().store.all_codes()
    i = int(ids[7])
    dist = np.unpackbits(codes ^ codes[7], axis=1).sum(1)
    body = client.get("/api/search", params={"id": i, "k": 3}).json()
    order = np.lexsort((ids, dist))[:3]  # the stated tie-break: (distance, id)
    assert ids_of(body) == [int(x) for x in ids[order]] and [h["distance"] for h in body["hits"]] == list(dist[order])
    for r in (0, 3, 16):
        got = client.get("/api/search", params={"id": i, "k": 1000, "radius": r}).json()
        assert sorted(ids_of(got)) == sorted(int(x) for x in ids[dist <= r])
        assert all(h["distance"] <= r for h in got["hits"])


def test_info_is_what_the_cli_prints(client, built):
    got = client.get("/api/info").json()
    res = run_cli("info", "--index", built, "--json")
    assert res.returncode == 0, res.stderr
    want = json.loads(res.stdout)
    assert {k: v for k, v in got.items() if k != "disk_bytes"} == {k: v for k, v in want.items() if k != "disk_bytes"}


def test_thumbnail_and_file_serve_only_indexed_content(client, built, image_folder, tmp_path):
    q = sorted(image_folder.rglob("*.png"))[2]
    hit = hit_for(upload(client, q.read_bytes(), k=30).json(), q)
    th = client.get(hit["thumbnail"])
    assert th.status_code == 200 and th.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(th.content)).size) <= 192
    f = client.get(hit["file"])
    assert f.status_code == 200 and f.content == q.read_bytes() and f.headers["content-type"] == "image/png"
    secret = tmp_path / "secret.txt"
    secret.write_text("not for you")
    q.unlink()
    os.symlink(secret, q)  # the indexed path now points elsewhere
    for url in (hit["file"], f"/api/images/{hit['id']}/thumbnail?size=100"):
        res = client.get(url)
        assert res.status_code == 409 and res.json()["error"] == "file_changed" and b"not for you" not in res.content
    q.unlink()
    assert client.get(hit["file"]).status_code == 404


@pytest.mark.parametrize("url,status,error", [
    ("/api/images/999999/thumbnail", 404, "unknown_id"),
    ("/api/images/999999/file", 404, "unknown_id"),
    ("/api/images/-1/file", 404, "unknown_id"),
    ("/api/images/abc/file", 422, "invalid_request"),
    ("/api/images/99999999999999999999999/file", 404, "unknown_id"),
    ("/api/search?id=999999", 404, "unknown_id"),
    ("/api/search?id=-1", 422, "invalid_request"),
    ("/api/search?id=x", 422, "invalid_request"),
    ("/api/search", 422, "invalid_request"),
    ("/api/search?id=0&k=0", 422, "invalid_request"),
    ("/api/search?id=0&k=100000", 422, "invalid_request"),
    ("/api/search?id=0&radius=-1", 422, "bad_radius"),
    ("/api/search?id=0&radius=17", 422, "bad_radius"),
    ("/api/images/0/thumbnail?size=100000", 422, "invalid_request"),
    ("/etc/passwd", 404, "http_error"),
    ("/static/../../pyproject.toml", 404, "http_error"),
])
def test_bad_requests_get_json_errors(client, url, status, error):
    res = client.get(url)
    assert res.status_code == status, res.text
    assert res.json()["error"] == error and res.json()["detail"]


def bomb() -> bytes:
    out = io.BytesIO()
    Image.new("1", (12000, 12000)).save(out, "PNG")  # 144 Mpx in a few kB
    return out.getvalue()


@pytest.mark.parametrize("data,status,error", [
    (b"", 400, "empty"),
    (b"this is not an image at all", 400, "not_image"),
    (png_bytes(np.full((40, 40), 99, np.uint8))[:60], 400, "truncated"),
    (bomb(), 413, "too_large"),
    (b"\x89PNG" + b"0" * 300_000, 413, "too_large"),  # over the test app's 200 kB limit
])
def test_bad_uploads_get_4xx_and_the_server_keeps_answering(client, image_folder, data, status, error):
    res = upload(client, data)
    assert res.status_code == status, res.text
    assert res.json()["error"] == error
    good = sorted(image_folder.rglob("*.png"))[0]
    assert upload(client, good.read_bytes(), k=1).json()["hits"][0]["distance"] == 0


@pytest.mark.parametrize("form", [{"k": 0}, {"k": 1001}, {"k": "many"}, {"radius": 99}, {"radius": -2}])
def test_bad_upload_parameters(client, image_folder, form):
    res = upload(client, sorted(image_folder.rglob("*.png"))[0].read_bytes(), **form)
    assert res.status_code == 422 and res.json()["error"] in ("invalid_request", "bad_radius")


def test_missing_upload_field(client):
    res = client.post("/api/search", data={"k": "3"})
    assert res.status_code == 422 and "image" in res.json()["detail"]


def test_the_page_and_its_assets_are_served_without_network_resources(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for asset in ("/static/app.js", "/static/style.css"):
        assert client.get(asset).status_code == 200
    text = page.text + client.get("/static/app.js").text + client.get("/static/style.css").text
    assert "http://" not in text and "https://" not in text
    assert client.get("/openapi.json").json()["paths"]["/api/search"]


def test_an_empty_index_answers_with_no_hits(tiny_model, tmp_path):
    from nacsearch.indexer.params import IndexParams

    Index.create(tmp_path / "empty", tiny_model, IndexParams(bits=16)).close()
    with TestClient(create_app(LiveIndex(tmp_path / "empty", "cpu"))) as c:
        assert c.get("/api/info").json()["records"] == 0
        body = upload(c, png_bytes(np.zeros((20, 20), np.uint8)), k=5).json()
        assert body["hits"] == [] and body["records"] == 0


def run_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nacsearch.cli.main", *map(str, args)], capture_output=True,
                          text=True, timeout=300)


def test_another_process_adding_and_removing_becomes_visible(client, built, tmp_path):
    new = tmp_path / "new"
    rng = np.random.default_rng(5)
    for i in range(3):
        write_png(new / f"n{i}.png", (rng.random((24, 24)) * 255).astype(np.uint8))
    res = run_cli("add", new, "--index", built, "--device", "cpu", "--json")
    assert res.returncode == 0, res.stderr
    body = upload(client, (new / "n1.png").read_bytes(), k=33).json()
    assert body["records"] == 33
    gone = hit_for(body, new / "n1.png")["id"]
    res = run_cli("remove", gone, "--index", built, "--json")
    assert res.returncode == 0 and json.loads(res.stdout)["removed"] == 1, res.stderr
    assert client.get(f"/api/images/{gone}/thumbnail").status_code == 404
    assert gone not in ids_of(client.get("/api/search", params={"id": 0, "k": 1000}).json())


def test_a_damaged_rewrite_keeps_the_previous_state(client, built):
    before = client.get("/api/info").json()["records"]
    (built / "index.json").write_text("{ not json")
    assert client.get("/api/info").json()["records"] == before
    assert client.get("/api/search", params={"id": 0, "k": 2}).status_code == 200


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_command_binds_loopback_and_stops_cleanly_on_ctrl_c(built):
    import signal
    import time
    import urllib.request

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "nacsearch.cli.main", "serve", "--index", str(built), "--port",
                             str(port), "--device", "cpu"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, info = time.time() + 120, None
        while info is None and time.time() < deadline and proc.poll() is None:
            try:
                info = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/info", timeout=2))
            except OSError:
                time.sleep(0.2)
        assert info is not None and info["records"] == 30, proc.stderr.read() if proc.poll() is not None else ""
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and f"http://127.0.0.1:{port}" in err


def test_serve_without_the_extra_says_what_to_install(built, monkeypatch):
    from click.testing import CliRunner

    from nacsearch.cli.main import main

    monkeypatch.setitem(sys.modules, "nacsearch.web.app", None)  # import fails as if fastapi were missing
    res = CliRunner().invoke(main, ["serve", "--index", str(built)])
    assert res.exit_code == 1 and "pip install 'nacsearch[serve]'" in res.output
