"""The forms our own runs save: `.keras` files, and train.py's train_dir (config file, checkpoints, step)."""
import glob
import json
import os
import re
import zipfile

import tensorflow as tf

from magenta_style.errors import ModelSpecError
from magenta_style.nets import stylizer as stylizer_lib

TRAIN_CONFIG_FILE = "stylizer_config.json"


def write_train_config(train_dir, model):
    """Records how to rebuild `model` (model_type, alpha) in a train_dir."""
    config = {"model_type": stylizer_lib.model_type_of(model), "alpha": model.alpha,
              "bottleneck_dim": model.bottleneck_dim}
    tf.io.gfile.makedirs(train_dir)
    path = os.path.join(train_dir, TRAIN_CONFIG_FILE)
    temporary = path + ".tmp"
    with tf.io.gfile.GFile(temporary, "w") as f:
        json.dump(config, f, indent=2)
    tf.io.gfile.rename(temporary, path, overwrite=True)
    return path


def is_train_dir(path):
    """Whether `path` is a train.py train_dir (a directory with its config file)."""
    return tf.io.gfile.isdir(path) and tf.io.gfile.exists(os.path.join(path, TRAIN_CONFIG_FILE))


def read_train_config(train_dir):
    """The config train.py wrote in `train_dir` ({model_type, alpha, ...}), or None."""
    path = os.path.join(train_dir, TRAIN_CONFIG_FILE)
    if not tf.io.gfile.exists(path):
        return None
    with tf.io.gfile.GFile(path) as f:
        return json.load(f)


def checkpoint_step(checkpoint_path):
    """Global step from a checkpoint name like `.../ckpt-1200` (0 when there is none)."""
    match = re.search(r"-(\d+)$", checkpoint_path or "")
    return int(match.group(1)) if match else 0


def load_train_dir(train_dir, checkpoint_path=None):
    """Stylizer from a train.py train_dir (latest checkpoint unless one is given)."""
    config = read_train_config(train_dir)
    if config is None:
        raise ModelSpecError(f"{train_dir}: not a train_dir ({TRAIN_CONFIG_FILE} missing)")
    checkpoint_path = checkpoint_path or tf.train.latest_checkpoint(train_dir)
    if checkpoint_path is None:
        raise ModelSpecError(f"{train_dir}: no checkpoint written yet")
    model = stylizer_lib.build_stylizer(config["model_type"], alpha=config["alpha"])
    tf.train.Checkpoint(model=model).restore(checkpoint_path).expect_partial().assert_existing_objects_matched()
    return model


def checkpoint_prefix(spec):
    """A TF checkpoint prefix from a prefix or a directory, or None if `spec` is neither.

    A directory without a `checkpoint` state file (copied checkpoints) gives
    its last `*.index` file's prefix.
    """
    try:
        if tf.io.gfile.isdir(spec):
            latest = tf.train.latest_checkpoint(spec)
            if latest is None:
                indexes = sorted(glob.glob(os.path.join(spec, "*.index")))
                latest = indexes[-1][:-len(".index")] if indexes else None
            return latest
        return spec if tf.io.gfile.exists(spec + ".index") else None
    except (tf.errors.OpError, TypeError):
        return None


def load_keras_file(path):
    """Stylizer saved with `model.save(path)`."""
    import keras

    if not tf.io.gfile.exists(path):
        raise ModelSpecError(f"{path}: file not found")
    try:
        model = keras.models.load_model(path)
    except (ValueError, OSError, zipfile.BadZipFile) as error:
        raise ModelSpecError(f"{path}: cannot load ({str(error).splitlines()[0]})") from None
    if not isinstance(model, stylizer_lib.Stylizer):
        raise ModelSpecError(f"{path}: holds a {type(model).__name__}, not a Stylizer")
    return model
