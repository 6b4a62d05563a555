"""One live magenta-stylize-web server (pretrained:mobile) and one headless Chromium per module.

The server runs as the real command in a subprocess whose temporary folder, home and working
directory are the test's own (so the test sees everything it writes). Chromium is Debian's
(`apt-get install chromium`), driven by Playwright, with Chromium's fake camera.
"""
import os

import pytest
from PIL import Image

from tests.helpers.images import photo
from tests.helpers.live_server import chromium, live_server


@pytest.fixture(scope="module")
def engine(pretrained_cache):
    """The engine magenta-stylize runs (--engine=auto), in this process (the reference for the
    page); it builds the LiteRT files the server then finds in the cache."""
    from magenta_style.inference.engines import load_engine

    return load_engine("pretrained:mobile")


class Server:
    def __init__(self, url, dirs, log):
        self.url, self.dirs, self.log = url, dirs, log


@pytest.fixture(scope="module")
def server(engine, pretrained_cache, tmp_path_factory):
    """The page at Server.url; on teardown it is stopped and must have left nothing behind."""
    base = tmp_path_factory.mktemp("web")
    dirs = {name: base / name for name in ("tmp", "home", "cwd", "styles")}
    for folder in dirs.values():
        folder.mkdir()
    Image.fromarray(photo(96, 80)).save(dirs["styles"] / "my painting.png")
    env = {"TMPDIR": str(dirs["tmp"]), "HOME": str(dirs["home"]),
           "MAGENTA_STYLE_CACHE": str(pretrained_cache), "XDG_CACHE_HOME": str(dirs["home"])}
    try:
        with live_server(base / "server.log", [f"--styles_dir={dirs['styles']}"], cwd=dirs["cwd"],
                         env=env) as (url, _):
            yield Server(url, dirs, base / "server.log")
    except RuntimeError as error:
        pytest.fail(str(error))
    leftovers = {name: sorted(os.listdir(dirs[name])) for name in ("tmp", "cwd")}
    assert leftovers == {"tmp": [], "cwd": []}, leftovers  # temp files deleted, nothing else


@pytest.fixture(scope="module")
def browser():
    try:
        with chromium() as browser:
            yield browser
    except RuntimeError as error:
        pytest.fail(str(error))


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
