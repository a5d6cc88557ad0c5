"""The result page in a real browser: headless Chromium (Debian's ``chromium`` + ``chromium-driver``)
through Selenium, against a server started here on a free loopback port.

Skips with the reason when Selenium, Chromium or its driver is missing.  Set
``NACSEARCH_SCREENSHOT=path.png`` to keep the screenshot it takes.
"""
import os
import shutil
import socket
import threading
import time

import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="no Chromium/chromedriver here (Debian: apt-get install chromium chromium-driver)")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from nacsearch.indexer.build import build_index  # noqa: E402
from nacsearch.indexer.service import LiveIndex  # noqa: E402
from nacsearch.web.app import create_app  # noqa: E402


@pytest.fixture
def server(image_folder, tiny_model, tmp_path):
    """(base URL, live index) of a uvicorn server in a thread, on a loopback port chosen by the OS."""
    import uvicorn

    build_index(image_folder, tmp_path / "idx", tiny_model, progress=False, device="cpu")
    live = LiveIndex(tmp_path / "idx", "cpu")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    srv = uvicorn.Server(uvicorn.Config(create_app(live), log_level="warning"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}", live
    srv.should_exit = True
    thread.join(10)


@pytest.fixture
def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,900"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=DRIVER), options=opts)
    yield driver
    driver.quit()


def hits(driver) -> list[tuple[str, str, str]]:
    """(distance text, file name, thumbnail src) of each result card in the DOM."""
    return [(c.find_element(By.CLASS_NAME, "distance").text, c.find_element(By.CLASS_NAME, "name").text,
             c.find_element(By.TAG_NAME, "img").get_attribute("src")) for c in driver.find_elements(By.CLASS_NAME, "hit")]


def test_upload_shows_the_nearest_images(server, browser, image_folder, tmp_path):
    url, live = server
    q = sorted(image_folder.rglob("*.png"))[5]
    want = live.search_image(q.read_bytes(), k=6)
    browser.get(url + "/")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: "30 images" in d.find_element(By.ID, "info").text)
    k = browser.find_element(By.ID, "k")
    k.clear()
    k.send_keys("6")
    browser.find_element(By.ID, "file").send_keys(str(q))
    wait.until(lambda d: len(d.find_elements(By.CLASS_NAME, "hit")) == 6)
    shown = hits(browser)
    assert [d for d, _, _ in shown] == [f"distance {h.distance}" for h in want]
    assert [n for _, n, _ in shown] == [os.path.basename(h.path) for h in want]
    assert [s for _, _, s in shown] == [f"{url}/api/images/{h.id}/thumbnail" for h in want]
    assert browser.execute_script(  # every thumbnail really loaded
        "return [...document.querySelectorAll('.hit img')].every(i => i.complete && i.naturalWidth > 0)")
    shot = tmp_path / "page.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    if os.environ.get("NACSEARCH_SCREENSHOT"):
        shutil.copy(shot, os.environ["NACSEARCH_SCREENSHOT"])

    first = browser.find_elements(By.CLASS_NAME, "hit")[1]  # click a result: search by it
    name = first.find_element(By.CLASS_NAME, "name").text
    first.click()
    wait.until(lambda d: d.find_element(By.ID, "query-text").text.startswith(name + ":"))
    assert hits(browser)[0][0] == "distance 0"


def test_an_unreadable_upload_shows_a_clear_message(server, browser, tmp_path):
    url, _ = server
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"this is not an image")
    browser.get(url + "/")
    browser.find_element(By.ID, "file").send_keys(str(bad))
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: d.find_element(By.ID, "error").is_displayed())
    assert "notes.png" in browser.find_element(By.ID, "error").text
    assert "not an image" in browser.find_element(By.ID, "error").text
    assert not browser.find_elements(By.CLASS_NAME, "hit")
