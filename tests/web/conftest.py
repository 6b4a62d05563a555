"""One live magenta-stylize-web server (pretrained:mobile) and one headless Chromium per module.

The server runs as the real command in a subprocess whose temporary folder, home and working
directory are the test's own (so the test sees everything it writes). Chromium is Debian's
(`apt-get install chromium`), driven by Playwright, with Chromium's fake camera.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from tests import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
START_TIMEOUT_S = 300


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def mobile_cache(tmp_path_factory):
    """pretrained:mobile converted once per session into a tmp cache (MAGENTA_STYLE_CACHE)."""
    folder = tmp_path_factory.mktemp("model_cache")
    saved = os.environ.get("MAGENTA_STYLE_CACHE")
    os.environ["MAGENTA_STYLE_CACHE"] = str(folder)
    yield folder
    if saved is None:
        os.environ.pop("MAGENTA_STYLE_CACHE")
    else:
        os.environ["MAGENTA_STYLE_CACHE"] = saved


@pytest.fixture(scope="module")
def engine(mobile_cache):
    """The engine magenta-stylize runs, in this process (the reference for the page)."""
    from magenta_style.inference.engine import load_engine

    return load_engine("pretrained:mobile")


def photo(width, height):
    """A real photo (scikit-image's chelsea) resized to width x height, uint8."""
    from skimage import data

    return np.asarray(Image.fromarray(data.chelsea()).resize((width, height), Image.LANCZOS))


class Server:
    def __init__(self, url, process, dirs, log):
        self.url, self.process, self.dirs, self.log = url, process, dirs, log


@pytest.fixture(scope="module")
def server(engine, mobile_cache, tmp_path_factory):
    """The page at Server.url; on teardown it is stopped and must have left nothing behind."""
    base = tmp_path_factory.mktemp("web")
    dirs = {name: base / name for name in ("tmp", "home", "cwd", "styles")}
    for folder in dirs.values():
        folder.mkdir()
    Image.fromarray(photo(96, 80)).save(dirs["styles"] / "my painting.png")
    port = free_port()
    env = {**os.environ, "TMPDIR": str(dirs["tmp"]), "HOME": str(dirs["home"]),
           "MAGENTA_STYLE_CACHE": str(mobile_cache), "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": ROOT}
    env.pop("XDG_CACHE_HOME", None)
    log = open(base / "server.log", "w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "magenta_style.cli.web", f"--port={port}",
         f"--styles_dir={dirs['styles']}"], cwd=dirs["cwd"], env=env, stdout=log,
        stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + START_TIMEOUT_S
    url = None
    while time.time() < deadline and process.poll() is None:
        log.seek(0)
        for line in log.read().splitlines():
            if line.startswith("magenta-stylize-web: serving "):
                url = line.split()[-1]
        if url:
            break
        time.sleep(0.5)
    if not url:
        process.kill()
        log.seek(0)
        pytest.fail(f"the server did not start:\n{log.read()[-3000:]}")
    yield Server(url, process, dirs, log)
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    leftovers = {name: sorted(os.listdir(dirs[name])) for name in ("tmp", "cwd")}
    assert leftovers == {"tmp": [], "cwd": []}, leftovers  # temp files deleted, nothing else


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser, server):
    """A fresh page on the server, recording the address of every request it makes."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.requests = []
    page.on("request", lambda request: page.requests.append(request.url))
    page.goto(server.url)
    page.wait_for_selector("#stylize-button", timeout=60_000)
    yield page
    context.close()
