"""A train_dir as a model spec whose newest checkpoint is damaged: the newest readable one is
loaded with one warning naming the damaged one (what every front end gets through
load_model; evaluate.py records the checkpoint it really used); none readable is one line."""
import os

import numpy as np
import pytest
import tensorflow as tf

from magenta_style.errors import ModelSpecError
from magenta_style.evaluation.models import load_eval_model
from magenta_style.nets import stylizer
from magenta_style.training.checkpoints import Checkpointer
from magenta_style.weights import load_model
from magenta_style.weights.run_dir import write_train_config


def _marker(model):
    return model.transfer_network.trainable_variables[0]


@pytest.fixture(scope="module")
def train_dir(tmp_path_factory):
    """A mobile run with checkpoints at steps 1, 2, 3, told apart by one variable's value."""
    directory = str(tmp_path_factory.mktemp("run") / "train_dir")
    model = stylizer.build_stylizer("mobile")
    write_train_config(directory, model)
    step = tf.Variable(0, dtype=tf.int64)
    saver = Checkpointer({"model": model, "step": step}, directory, step, chief=True,
                         max_to_keep=5)
    for value in (1, 2, 3):
        step.assign(value)
        _marker(model).assign(tf.fill(_marker(model).shape, float(value)))
        saver.save()
    return directory


def _damage(path, size):
    with open(path, "r+b") as f:
        f.truncate(size)


def test_damaged_newest_checkpoint_loads_the_one_before_with_one_warning(train_dir, tmp_path,
                                                                         capsys):
    run = str(tmp_path / "copy")
    tf.io.gfile.makedirs(run)
    for name in tf.io.gfile.listdir(train_dir):
        tf.io.gfile.copy(os.path.join(train_dir, name), os.path.join(run, name))
    _damage(os.path.join(run, "ckpt-3.data-00000-of-00001"), 100)  # a copy cut short
    capsys.readouterr()
    model = load_model(run)
    np.testing.assert_array_equal(_marker(model).numpy(), 2.0)
    warnings = capsys.readouterr().err.strip().splitlines()
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(f"warning: {run}/ckpt-3 is unreadable (")
    assert warnings[0].endswith(f"; loading {run}/ckpt-2 (step 2) instead")

    evaluated = load_eval_model(run)  # evaluate.py: metrics.json names what was evaluated
    assert (evaluated.identity["checkpoint"], evaluated.identity["step"]) == ("ckpt-2", 2)

    for name in ("ckpt-1", "ckpt-2"):
        _damage(os.path.join(run, f"{name}.data-00000-of-00001"), 10)
    with pytest.raises(ModelSpecError) as error:
        load_model(run)
    message = str(error.value)
    assert message.startswith(f"{run}: no readable checkpoint (ckpt-3: ")
    assert "; ckpt-2: " in message and "; ckpt-1: " in message and "\n" not in message


def test_whole_train_dir_loads_its_newest_checkpoint_without_a_warning(train_dir, capsys):
    capsys.readouterr()
    np.testing.assert_array_equal(_marker(load_model(train_dir)).numpy(), 3.0)
    assert capsys.readouterr().err == ""
