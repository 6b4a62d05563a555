"""The forms our own runs save: `.keras` files, and train.py's train_dir (config file, checkpoints,
step; the newest readable checkpoint, for resuming a run and for loading it as a model)."""
import glob
import json
import os
import re
import sys
import zipfile

import tensorflow as tf
from google.protobuf import text_format

from magenta_style import image_io
from magenta_style.errors import ModelSpecError, OutputWriteError
from magenta_style.nets import stylizer as stylizer_lib

TRAIN_CONFIG_FILE = "stylizer_config.json"


def write_train_config(train_dir, model):
    """Records how to rebuild `model` (model_type, alpha) in a train_dir."""
    config = {"model_type": stylizer_lib.model_type_of(model), "alpha": model.alpha,
              "bottleneck_dim": model.bottleneck_dim}
    tf.io.gfile.makedirs(train_dir)
    path = os.path.join(train_dir, TRAIN_CONFIG_FILE)
    temporary = path + ".tmp"
    try:
        with tf.io.gfile.GFile(temporary, "w") as f:
            json.dump(config, f, indent=2)
        tf.io.gfile.rename(temporary, path, overwrite=True)
    except (tf.errors.OpError, OSError) as error:
        if tf.io.gfile.exists(temporary):
            tf.io.gfile.remove(temporary)
        reason = image_io.storage_full_reason(error)
        if reason:
            raise OutputWriteError(path, reason, kept=tf.io.gfile.exists(path)) from None
        raise
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


def first_line(error):
    text = str(getattr(error, "message", None) or error).strip()
    return (text.splitlines() or [type(error).__name__])[0]


def checkpoint_candidates(train_dir):
    """Checkpoint prefixes of train_dir, newest first: those the state file lists and any
    complete-looking ckpt-N.index beside them."""
    paths = set(tf.io.gfile.glob(os.path.join(train_dir, "ckpt-*.index")))
    paths = {path[:-len(".index")] for path in paths}
    try:
        state = tf.train.get_checkpoint_state(train_dir)
    except (tf.errors.OpError, ValueError, text_format.ParseError):
        state = None
    if state is not None:
        paths.update(os.path.join(train_dir, os.path.basename(p))
                     for p in state.all_model_checkpoint_paths)
    return sorted(paths, key=checkpoint_step, reverse=True)


def checkpoint_read_problem(path):
    """None if every tensor of the checkpoint reads back (checksums included), else why."""
    try:
        reader = tf.train.load_checkpoint(path)
        for name in reader.get_variable_to_dtype_map():
            reader.get_tensor(name)
    except (tf.errors.OpError, IndexError, ValueError) as error:
        return first_line(error)[:200]
    return None


def restore_newest(train_dir, restore):
    """Calls `restore(path)` (None when restored, else why that checkpoint cannot be read)
    on train_dir's checkpoints, newest first, until one restores: how a resumed run and a
    train_dir model spec both skip a damaged newest checkpoint.

    Returns (the restored path or None, [(path, why)] of the unreadable newer ones)."""
    problems = []
    for path in checkpoint_candidates(train_dir):
        problem = restore(path)
        if problem is None:
            return path, problems
        problems.append((path, problem))
    return None, problems


def unreadable_warning(problems, instead):
    """The one warning line for skipped checkpoints, naming the newest damaged one."""
    path, problem = problems[0]
    more = f" (and {len(problems) - 1} older)" if len(problems) > 1 else ""
    return f"warning: {path} is unreadable ({problem}){more}; {instead} instead"


def listed_problems(problems):
    """'ckpt-2: why; ckpt-1: why' for an error saying no checkpoint can be read."""
    return "; ".join(f"{os.path.basename(path)}: {problem}" for path, problem in problems)


def _warn(line):
    print(line, file=sys.stderr, flush=True)


def load_train_dir_checkpoint(train_dir, checkpoint_path=None, note=_warn):
    """(Stylizer, checkpoint path) from a train.py train_dir: the given checkpoint, else the
    newest one that reads; a damaged newer one is skipped with one `note` line naming it.

    Raises ModelSpecError (one line): not a train_dir, no checkpoint, none readable, or a
    checkpoint that does not hold the train_dir's model."""
    config = read_train_config(train_dir)
    if config is None:
        raise ModelSpecError(f"{train_dir}: not a train_dir ({TRAIN_CONFIG_FILE} missing)")
    model = stylizer_lib.build_stylizer(config["model_type"], alpha=config["alpha"])

    def restore(path):
        try:
            checkpoint = tf.train.Checkpoint(model=model).restore(path).expect_partial()
            checkpoint.assert_existing_objects_matched()
        except (AssertionError, tf.errors.OpError, IndexError, ValueError) as error:
            problem = checkpoint_read_problem(path)
            if problem:
                return problem
            raise ModelSpecError(f"{path}: does not hold this train_dir's {config['model_type']} "
                                 f"model ({first_line(error)[:300]})") from None
        return None

    if checkpoint_path:
        problem = restore(checkpoint_path)
        if problem:
            raise ModelSpecError(f"{checkpoint_path}: unreadable checkpoint ({problem})")
        return model, checkpoint_path
    path, problems = restore_newest(train_dir, restore)
    if path is None:
        if problems:
            raise ModelSpecError(f"{train_dir}: no readable checkpoint "
                                 f"({listed_problems(problems)})")
        raise ModelSpecError(f"{train_dir}: no checkpoint written yet")
    if problems and note:
        note(unreadable_warning(problems, f"loading {path} (step {checkpoint_step(path)})"))
    return model, path


def load_train_dir(train_dir, checkpoint_path=None, note=_warn):
    """Stylizer from a train.py train_dir (see load_train_dir_checkpoint)."""
    return load_train_dir_checkpoint(train_dir, checkpoint_path, note)[0]


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
