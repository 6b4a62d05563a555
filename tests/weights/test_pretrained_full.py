"""`pretrained:full` against a real HTTP server on loopback, and local archives.

The served archive is built like Magenta's arbitrary_style_transfer.tar.gz: a directory
`arbitrary_style_transfer/` with model.ckpt.{data-00000-of-00001,index,meta} and no
`checkpoint` file, here from a random-weights full model (random_stylizer: its pictures depend
on the style) saved under Magenta's names.
"""
import http.server
import io
import os
import tarfile
import threading

import numpy as np
import pytest

from magenta_style import defaults
from magenta_style.errors import ModelSpecError
from magenta_style.weights import download, load_model, pretrained
from tests.helpers.http_server import no_wait_retry
from tests.helpers.models import random_stylizer
from tests.helpers.tf1_checkpoint import write_magenta_archive


def _add_bytes(tar, name, data, **attributes):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in attributes.items():
        setattr(info, key, value)
    tar.addfile(info, io.BytesIO(data))


@pytest.fixture(scope="module")
def magenta_archive(tmp_path_factory):
    """(archive path, its model's stylized test image). Loaded back from the archive, the model
    paints exactly that picture (measured: identical, the same float32 weights and layers)."""
    directory = tmp_path_factory.mktemp("release")
    model = random_stylizer("full", seed=0)
    archive = directory / os.path.basename(write_magenta_archive(str(directory), model))
    content, style = _images()
    return archive, model((content, style)).numpy()


def _images():
    rng = np.random.default_rng(1)
    return (rng.uniform(size=(1, 21, 30, 3)).astype(np.float32),
            rng.uniform(size=(1, 80, 96, 3)).astype(np.float32))


class _Server:
    """http.server in a thread on 127.0.0.1; `truncate` closes after half of the body."""

    def __init__(self, payload):
        self.payload, self.truncate, self.requests = payload, False, 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                server.requests += 1
                self.send_response(200)
                self.send_header("Content-Length", str(len(server.payload)))
                self.end_headers()
                body = server.payload[:len(server.payload) // 2] if server.truncate else server.payload
                self.wfile.write(body)
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/{defaults.FULL_MODEL_ARCHIVE}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def server(magenta_archive, monkeypatch, tmp_path):
    served = _Server(magenta_archive[0].read_bytes())
    monkeypatch.setattr(download, "RETRY", no_wait_retry())  # the tries without the waits
    monkeypatch.setenv(pretrained.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(pretrained.FULL_MODEL_URL_ENV, served.url)
    yield served
    served.close()


def test_pretrained_full_downloads_converts_caches_and_reuses(server, magenta_archive, capsys):
    model = load_model(defaults.PRETRAINED_FULL)
    content, style = _images()
    np.testing.assert_array_equal(model((content, style)).numpy(), magenta_archive[1])
    progress = capsys.readouterr().err
    assert f"downloading {server.url}:" in progress and "MiB/s" in progress and "ETA" in progress
    cache = os.path.join(os.environ[pretrained.CACHE_ENV])
    assert sorted(os.listdir(cache)) == [f"pretrained_full_v{pretrained.CONVERSION_VERSION}.keras"]

    server.close()  # offline from now on: the cache must do
    again = load_model(defaults.PRETRAINED_FULL)
    np.testing.assert_array_equal(again((content, style)).numpy(), magenta_archive[1])
    assert server.requests == 1


def test_interrupted_download_leaves_nothing_and_says_what_to_do(server):
    server.truncate = True
    with pytest.raises(ModelSpecError) as error:
        load_model(defaults.PRETRAINED_FULL)
    message = str(error.value)
    archive = os.path.join(os.environ[pretrained.CACHE_ENV], defaults.FULL_MODEL_ARCHIVE)
    assert "download failed after 3 tries (connection closed after" in message
    assert server.url in message and server.requests == 3
    assert f"put it at {archive}" in message and "\n" not in message
    assert os.listdir(os.environ[pretrained.CACHE_ENV]) == []


def test_offline_error_names_the_download_and_where_to_put_it(server, monkeypatch):
    server.close()
    with pytest.raises(ModelSpecError, match=r"Download .* yourself and put it at .*"
                                             + defaults.FULL_MODEL_ARCHIVE):
        load_model(defaults.PRETRAINED_FULL)


def test_archive_put_in_the_cache_by_hand_is_used(server, magenta_archive):
    server.close()
    cache = os.environ[pretrained.CACHE_ENV]
    os.makedirs(cache)
    placed = os.path.join(cache, defaults.FULL_MODEL_ARCHIVE)
    with open(placed, "wb") as f:
        f.write(magenta_archive[0].read_bytes())
    model = load_model(defaults.PRETRAINED_FULL)
    np.testing.assert_array_equal(model(_images()).numpy(), magenta_archive[1])
    assert os.path.isfile(placed)  # the user's file stays


def test_local_archive_as_model_spec_is_converted_once(magenta_archive, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv(pretrained.CACHE_ENV, str(cache))
    model = load_model(str(magenta_archive[0]))
    np.testing.assert_array_equal(model(_images()).numpy(), magenta_archive[1])
    cached = [path.name for path in cache.iterdir()]
    assert len(cached) == 1 and cached[0].startswith("archive_") and cached[0].endswith(".keras")
    before = (cache / cached[0]).stat().st_mtime_ns
    again = load_model(str(magenta_archive[0]))  # read from the cache, not converted again
    np.testing.assert_array_equal(again(_images()).numpy(), magenta_archive[1])
    assert (cache / cached[0]).stat().st_mtime_ns == before


@pytest.mark.parametrize("name,attributes", [
    ("../outside.txt", {}),
    ("/tmp/absolute.txt", {}),
    ("arbitrary_style_transfer/link", {"type": tarfile.SYMTYPE, "linkname": "/etc/passwd"}),
])
def test_hostile_archive_members_are_refused(tmp_path, name, attributes):
    archive = tmp_path / "hostile.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        _add_bytes(tar, "arbitrary_style_transfer/model.ckpt.meta", b"x")
        _add_bytes(tar, name, b"" if attributes else b"evil", **attributes)
    with pytest.raises(ModelSpecError, match="refusing to extract"):
        load_model(str(archive))
    assert not (tmp_path / "outside.txt").exists()
