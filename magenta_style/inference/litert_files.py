"""The LiteRT engine's files: built once per model (that needs TensorFlow) and cached.

    directory = litert_dir(spec)      # <cache_dir()>/litert/v<FILES_VERSION>_<spec_key(spec)>
    files = cached_files(directory)                  # None where not built yet
    files = build_litert_files(model, directory)     # inference/tflite_graphs.py
    # files: (predict, transfer, tiles, tile arrays) paths, FILES' order

The predict / transfer pair stylizes whole pictures; the tile file and its arrays the tiled
ones (inference/litert_tiles.py).

Keys are computed without loading the weights (and without TensorFlow): pretrained models by
their conversion and source versions (weights/pretrained.MODELS), files by a hash of their
bytes, folders by their files' names, sizes and modification times.
"""
import os

from magenta_style import fingerprints, image_io
from magenta_style.weights import pretrained, specs

# Bump when the files' graph changes, so files built by older code are not used.
FILES_VERSION = 2  # 2: the tile file and its arrays
PREDICT_FILE, TRANSFER_FILE = "style_predict.tflite", "style_transfer.tflite"
TILES_FILE, TILE_ARRAYS_FILE = "style_tiles.tflite", "style_tiles.npz"
FILES = (PREDICT_FILE, TRANSFER_FILE, TILES_FILE, TILE_ARRAYS_FILE)
SKIPPED_FILES = ("events.out.tfevents.",)  # train_dir logs: not weights
KEY_DIGEST_CHARS = 20


def spec_key(spec):
    """A cache key of the weights a model spec names (weights/specs.spec_files)."""
    kind, what = specs.spec_files(spec)
    if kind == "pretrained":
        return what.key()
    if kind == "directory":
        return f"dir-{fingerprints.tree_stat_digest(what, SKIPPED_FILES)[:KEY_DIGEST_CHARS]}"
    return f"files-{fingerprints.files_digest(what)[:KEY_DIGEST_CHARS]}"


def litert_dir(spec):
    """Where the LiteRT files of a model spec are cached."""
    return os.path.join(pretrained.cache_dir(), "litert", f"v{FILES_VERSION}_{spec_key(spec)}")


def file_paths(directory):
    """The paths of FILES in a cache directory."""
    return tuple(os.path.join(directory, name) for name in FILES)


def cached_files(directory):
    """file_paths(directory) where every file is there, else None."""
    paths = file_paths(directory)
    return paths if all(os.path.isfile(p) for p in paths) else None


def convert(model):
    """{file name: bytes} of the LiteRT engine's files for a Stylizer (needs TensorFlow)."""
    import io

    import numpy as np

    from magenta_style.inference import tflite_graphs  # TensorFlow

    predict, transfer = tflite_graphs.engine_pair(model)
    tiles, arrays = tflite_graphs.tile_layers(model)
    packed = io.BytesIO()
    np.savez(packed, **arrays)
    return {PREDICT_FILE: predict, TRANSFER_FILE: transfer, TILES_FILE: tiles,
            TILE_ARRAYS_FILE: packed.getvalue()}


def write(files, directory):
    """Writes convert()'s files into `directory`, each atomically, the predict file last (a
    run stopped midway leaves no complete set); returns file_paths(directory)."""
    for name in sorted(files, key=lambda name: name == PREDICT_FILE):
        with image_io.atomic_path(os.path.join(directory, name), overwrite=True) as temporary:
            with open(temporary, "wb") as f:
                f.write(files[name])
    return file_paths(directory)


def build_litert_files(model, directory):
    """convert(model), written into `directory`; returns file_paths(directory)."""
    return write(convert(model), directory)
