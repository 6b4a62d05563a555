"""`load_model(spec)`: a Stylizer from every form weights come in.

Specs:
  - `pretrained:mobile`: Magenta's released mobile model (see `pretrained`).
  - `pretrained:full`: Magenta's released full model, downloaded on first use (see `pretrained`).
  - a tar archive of a TF1 checkpoint, e.g. Magenta's `arbitrary_style_transfer.tar.gz`, or of
    the TF Hub SavedModel (Kaggle's `magenta/arbitrary-image-stylization-v1-256/2` download);
    converted once and cached.
  - Magenta's TF Hub SavedModel folder (see `hub`).
  - `*.keras`: a saved Stylizer.
  - a train_dir of `train.py` (see `run_dir`).
  - a Magenta TF1 checkpoint: a `model.ckpt` prefix, or a directory holding one.
  - a released mobile pair, ONNX or TFLite: `predict.onnx,transform.onnx` (either
    order), or a directory holding one `*predict*` and one `*transfer*` /
    `*transform*` file of the same kind.
"""
import glob
import os
import re

from magenta_style.defaults import PRETRAINED_MOBILE
from magenta_style.errors import ModelSpecError
from magenta_style.weights.pretrained import load_archive, pretrained_model

# The readers import TensorFlow: imported by load_model, so that spec_files (the LiteRT
# engine's cache key) needs none.
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
PRETRAINED_PREFIX = "pretrained:"


def _paths(spec):
    """'a,b' -> ['a', 'b']; anything else -> [spec]."""
    return [p.strip() for p in spec.split(",") if p.strip()] if "," in spec else [spec]


def spec_files(spec):
    """What a local model spec names, read without loading it (and without TensorFlow):
    ('pretrained', PretrainedModel), ('directory', path) or ('files', [paths]) -- a TF1
    checkpoint prefix gives its files. Raises ModelSpecError for a missing path."""
    spec = os.fspath(spec)
    if spec.startswith(PRETRAINED_PREFIX):
        return "pretrained", pretrained_model(spec)
    paths = _paths(spec)
    files = []
    for path in paths:
        if os.path.isdir(path):
            if len(paths) == 1:
                return "directory", path
            raise ModelSpecError(f"{spec}: a model pair names two files, not folders")
        if os.path.isfile(path):
            files.append(path)
            continue
        found = [p for p in glob.glob(glob.escape(path) + ".*") if os.path.isfile(p)]
        if not found:  # not a TF1 checkpoint prefix either (model.ckpt -> model.ckpt.index)
            raise ModelSpecError(f"{path}: file not found")
        files.extend(found)
    return "files", files


def _split_pair(spec):
    """(predict, transfer) paths from 'a,b' or a directory, or None when `spec` is not a pair."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    if "," in spec:
        paths = _paths(spec)
    elif tf.io.gfile.isdir(spec):
        paths = [p for p in sorted(glob.glob(os.path.join(spec, "*")))
                 if p.endswith((".onnx", ".tflite")) and re.search(r"predict|transfer|transform",
                                                                   os.path.basename(p))]
        if not paths:
            return None
        if len(paths) != 2:
            raise ModelSpecError(f"{spec}: holds {len(paths)} predict/transfer model files; "
                                 "name the pair as --model=PREDICT,TRANSFER")
    else:
        return None
    if len(paths) != 2:
        raise ModelSpecError(f"{spec}: a model pair needs exactly two files, got {len(paths)}")
    for path in paths:
        if not os.path.isfile(path):
            raise ModelSpecError(f"{path}: file not found")
    kinds = {os.path.splitext(p)[1] for p in paths}
    if len(kinds) != 1 or kinds - {".onnx", ".tflite"}:
        raise ModelSpecError(f"{spec}: expected two .onnx or two .tflite files")
    predict = [p for p in paths if "predict" in os.path.basename(p)]
    if len(predict) != 1:
        raise ModelSpecError(f"{spec}: cannot tell the style predict file (name it *predict*)")
    return predict[0], next(p for p in paths if p != predict[0])


def check_model_spec(spec):
    """Cheap check, loading nothing: raises ModelSpecError when `spec` cannot name a model."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from magenta_style.weights.run_dir import checkpoint_prefix

    spec = os.fspath(spec)
    if spec.startswith(PRETRAINED_PREFIX):
        pretrained_model(spec)
        return
    for path in _paths(spec):
        if not (tf.io.gfile.exists(path) or checkpoint_prefix(path)):
            raise ModelSpecError(f"{path}: no such file, train_dir or checkpoint")


def load_model(spec):
    """Stylizer from a spec string (see module docstring). Raises ModelSpecError."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from magenta_style.weights.hub import is_saved_model, load_hub_saved_model
    from magenta_style.weights.released import load_released_pair
    from magenta_style.weights.run_dir import (
        checkpoint_prefix,
        is_train_dir,
        load_keras_file,
        load_train_dir,
    )
    from magenta_style.weights.tf1 import load_tf1_checkpoint

    spec = os.fspath(spec)
    if spec.startswith(PRETRAINED_PREFIX):
        return pretrained_model(spec).load()
    if spec.endswith(".keras"):
        return load_keras_file(spec)
    if spec.endswith(ARCHIVE_SUFFIXES):  # e.g. Magenta's arbitrary_style_transfer.tar.gz
        return load_archive(spec)
    if is_train_dir(spec):
        return load_train_dir(spec)
    if is_saved_model(spec):
        return load_hub_saved_model(spec)
    pair = _split_pair(spec)
    if pair is not None:
        return load_released_pair(*pair)
    if not tf.io.gfile.exists(spec) and not tf.io.gfile.exists(spec + ".index"):
        raise ModelSpecError(f"{spec}: no such file or directory")
    prefix = checkpoint_prefix(spec)
    if prefix is not None:
        return load_tf1_checkpoint(prefix)
    raise ModelSpecError(f"{spec}: not a model this tool can read (expected {PRETRAINED_MOBILE}, "
                         "a .keras file, a train_dir, a Magenta checkpoint or TF Hub SavedModel, or an "
                         "ONNX/TFLite pair)")
