"""Loading a Stylizer from every form weights come in.

`load_model(spec)` is the one entry point the CLIs use. Specs:
  - `*.keras`: a saved Stylizer.
  - a train_dir of `train.py`: `stylizer_config.json` + TF2 checkpoints whose
    root object has the Stylizer under the key `model`.
  (The released-model sources are added by the weight import.)
"""
import json
import os

import tensorflow as tf

from magenta_style import stylizer as stylizer_lib

TRAIN_CONFIG_FILE = "stylizer_config.json"


class ModelSpecError(ValueError):
    """A --model / --checkpoint value that cannot be loaded; str() is one line."""


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


def load_train_dir(train_dir, checkpoint_path=None):
    """Stylizer from a train.py train_dir (latest checkpoint unless one is given)."""
    config_path = os.path.join(train_dir, TRAIN_CONFIG_FILE)
    if not tf.io.gfile.exists(config_path):
        raise ModelSpecError(f"{train_dir}: not a train_dir ({TRAIN_CONFIG_FILE} missing)")
    with tf.io.gfile.GFile(config_path) as f:
        config = json.load(f)
    checkpoint_path = checkpoint_path or tf.train.latest_checkpoint(train_dir)
    if checkpoint_path is None:
        raise ModelSpecError(f"{train_dir}: no checkpoint written yet")
    model = stylizer_lib.build_stylizer(config["model_type"], alpha=config["alpha"])
    tf.train.Checkpoint(model=model).restore(checkpoint_path).expect_partial().assert_existing_objects_matched()
    return model


def load_model(spec):
    """Stylizer from a spec string (see module docstring). Raises ModelSpecError."""
    import keras

    spec = os.fspath(spec)
    if spec.endswith(".keras"):
        if not tf.io.gfile.exists(spec):
            raise ModelSpecError(f"{spec}: file not found")
        model = keras.models.load_model(spec)
        if not isinstance(model, stylizer_lib.Stylizer):
            raise ModelSpecError(f"{spec}: holds a {type(model).__name__}, not a Stylizer")
        return model
    if tf.io.gfile.isdir(spec) and tf.io.gfile.exists(os.path.join(spec, TRAIN_CONFIG_FILE)):
        return load_train_dir(spec)
    if not tf.io.gfile.exists(spec) and not tf.io.gfile.exists(spec + ".index"):
        raise ModelSpecError(f"{spec}: no such file or directory")
    raise ModelSpecError(f"{spec}: not a model this tool can read "
                         "(expected a .keras file or a train_dir)")
