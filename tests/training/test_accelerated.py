"""Accelerator-shaped training: bfloat16, style-size buckets, the whole step as one XLA program.

In-process and tiny (mobile model, random weights, 32-48 px); the XLA tests
compile real programs on the CPU, hence slow.
"""
import collections
import dataclasses
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from magenta_style import defaults
from magenta_style.data import image_ops, pipelines
from magenta_style.training import config as train_config
from magenta_style.training import loop, steps
from magenta_style.training.config import TrainConfig, TrainConfigError, validate
from tests.helpers import fake_data
from tests.helpers.models import TRANSFER_SCOPE, randomize_weights
from tests.helpers.training import SIZE, tiny_config

# ----------------------------------------------------------------------------
# --mixed_precision: new values and the old boolean ones.

@pytest.mark.parametrize("value, strategy, policy, scaled", [
    (False, "default", "float32", False), ("off", "default", "float32", False),
    (True, "default", "mixed_float16", True), ("true", "default", "mixed_float16", True),
    (True, "tpu", "mixed_bfloat16", False),
    ("float16", "default", "mixed_float16", True),
    ("bfloat16", "default", "mixed_bfloat16", False),
    ("BFloat16", "mirrored", "mixed_bfloat16", False),
])
def test_mixed_precision_values_resolve_to_a_policy(tmp_path, value, strategy, policy, scaled):
    config = TrainConfig(mixed_precision=value, strategy=strategy)
    assert (config.dtype_policy, config.loss_scaling) == (policy, scaled)
    validated = validate(dataclasses.replace(tiny_config(tmp_path), mixed_precision=value,
                                             strategy=strategy))
    assert validated.mixed_precision in train_config.MIXED_PRECISION
    assert validated.dtype_policy == policy  # 'auto' (the old true) resolved to what it meant


def test_bad_mixed_precision_is_one_line(tmp_path):
    with pytest.raises(TrainConfigError, match=r"--mixed_precision must be one of off, float16, "
                                               r"bfloat16 \(or true / false\), got 'half'"):
        tiny_config(tmp_path, mixed_precision="half")


def test_train_flag_keeps_the_boolean_forms():
    """The old boolean flag's forms still parse, beside the new values."""
    # In a subprocess: absl refuses flags defined twice in one process (other entry scripts).
    script = ("import train; from absl import flags\n"
              "for argv in (['--mixed_precision'], ['--nomixed_precision'], [],\n"
              "             ['--mixed_precision=bfloat16'], ['--mixed_precision=false']):\n"
              "    flags.FLAGS.unparse_flags(); flags.FLAGS(['train.py'] + argv)\n"
              "    print(flags.FLAGS.mixed_precision)\n")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    result = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True,
                            text=True, timeout=120, check=True)
    assert result.stdout.split() == ["auto", "off", "off", "bfloat16", "off"]


# ----------------------------------------------------------------------------
# Style-size buckets.

def test_buckets_are_bin_centres_of_the_reference_range():
    buckets = image_ops.style_size_buckets(8)
    assert buckets == (139, 160, 182, 203, 225, 246, 268, 289)
    low, high = defaults.RANDOM_STYLE_IMAGE_SIZE_RANGE
    assert abs(np.mean(buckets) - (low + high - 1) / 2) < 1  # the reference's mean size
    assert image_ops.style_size_buckets(1) == (214,)
    with pytest.raises(ValueError, match="between 1 and 172"):
        image_ops.style_size_buckets(173)


def test_bucketed_random_resize_draws_only_bucket_sizes():
    images = tf.random.uniform([2, 40, 40, 3], seed=0)
    buckets = (128, 200, 296)
    sizes = collections.Counter(
        image_ops.random_batch_size_resize(images, tf.constant([seed, 7]), buckets=buckets)
        .shape[1] for seed in range(60))
    assert set(sizes) == set(buckets) and min(sizes.values()) >= 8  # all drawn, roughly uniform
    free = {image_ops.random_batch_size_resize(images, tf.constant([seed, 7])).shape[1]
            for seed in range(20)}
    assert len(free) > 10  # without buckets: any size in [128, 300), as the reference


def test_config_turns_buckets_on_for_xla_and_tpu(tmp_path):
    assert tiny_config(tmp_path).resolved_style_size_buckets == 0
    assert tiny_config(tmp_path, jit_compile=True).resolved_style_size_buckets == \
        defaults.STYLE_SIZE_BUCKETS
    assert TrainConfig(strategy="tpu").resolved_style_size_buckets == defaults.STYLE_SIZE_BUCKETS
    assert tiny_config(tmp_path, jit_compile=True,
                       style_size_buckets=0).resolved_style_size_buckets == 0
    with pytest.raises(TrainConfigError, match="--style_size_buckets must be >= 0"):
        tiny_config(tmp_path, style_size_buckets=-1)


def test_sharded_training_input_has_static_per_replica_shapes(tmp_path):
    """What TPUStrategy's distribute_datasets_from_function calls: per-worker shards of
    per-replica batches, drop_remainder (static batch), bucketed style sizes."""
    style = fake_data.write_style_tfrecord(str(tmp_path / "style.tfrecord"), 8, 48)
    fake_data.write_imagenet_shards(str(tmp_path / "imagenet"), 2, 4, 48)
    config = validate(TrainConfig(
        train_dir=str(tmp_path / "run"), style_dataset_file=(style,),
        imagenet_data_dir=str(tmp_path / "imagenet"), batch_size=8, image_size=SIZE, seed=0,
        jit_compile=True, style_size_buckets=2))
    buckets = set(image_ops.style_size_buckets(2))
    dataset_fn = loop.make_dataset_fn(config, pipelines.SkippedRecords())
    for pipeline_id in range(2):  # 2 hosts x 2 replicas each: per-replica batch 8 / 4
        context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=pipeline_id,
                                             num_replicas_in_sync=4)
        dataset = dataset_fn(context)
        spec = dataset.element_spec
        assert spec["content"].shape == (2, SIZE, SIZE, 3)  # fully static
        assert spec["style"].shape[0] == 2  # static batch; the side is one of the buckets
        for batch in dataset.take(4):
            assert batch["style"].shape[1] == batch["style"].shape[2] in buckets


# ----------------------------------------------------------------------------
# bfloat16 training.

def _one_device_step(config, jit_compile):
    models, optimizer, step, train_step = steps.one_device_step(
        dataclasses.replace(config, jit_compile=jit_compile))
    return models.model, optimizer, step, train_step


@pytest.mark.slow
def test_bfloat16_step_keeps_float32_variables_and_losses(tmp_path):
    config = tiny_config(tmp_path, mixed_precision="bfloat16", learning_rate=1e-2)
    model, optimizer, step, train_step = _one_device_step(config, jit_compile=False)
    assert not isinstance(optimizer, keras.optimizers.LossScaleOptimizer)  # no loss scaling
    assert {v.dtype for v in model.variables} == {"float32"}
    assert model.transfer_network.get_layer(index=3).compute_dtype == "bfloat16"
    rng = np.random.default_rng(0)
    batch = {key: tf.constant(rng.uniform(size=(2, SIZE, SIZE, 3)), tf.float32)
             for key in ("content", "style")}
    before = [v.numpy() for v in model.trainable_variables]
    losses = [float(train_step(batch)[0]["total_loss"]) for _ in range(4)]
    terms, stylized = train_step(batch)
    assert all(value.dtype == tf.float32 for value in terms.values())
    assert stylized.dtype == tf.float32 and int(step.numpy()) == 5
    assert all(np.isfinite(losses)) and min(losses[1:]) < losses[0]  # it learns
    assert any(not np.array_equal(a, b.numpy()) for a, b in zip(before, model.trainable_variables))


# ----------------------------------------------------------------------------
# float16 training: loss scaling that fits the reference's loss.

def _same_start(config, start=None):
    """(config's one-device step, the weights it starts from). Its model and VGG take the
    weights `start` when given, else realistic transfer-network weights (randomize_weights; a
    fresh one amplifies rounding and gives flat output)."""
    models, optimizer, step, train_step = steps.one_device_step(config)
    if start is None:
        randomize_weights(models.model, scope=TRANSFER_SCOPE)
    else:
        for weight, value in zip(models.model.weights + models.loss_network.weights, start):
            weight.assign(value)
    start = [weight.numpy() for weight in models.model.weights + models.loss_network.weights]
    return (models, optimizer, step, train_step), start


@pytest.mark.slow
def test_float16_step_learns_as_float32_does(tmp_path):
    """Keras' loss scale starts at 2^15, where the reference's gradients overflow float16 at
    any size: the run skipped every step. Scaled relative to the loss, float16 skips at most its
    first step (measured: one, then 2^7 holds) and its loss falls as float32's (measured over 12
    steps: 114.8 -> 14.6 vs 106.3 -> 12.5; after 8, float16 was still one skipped step behind)."""
    rng = np.random.default_rng(0)
    batch = {"content": tf.constant(rng.uniform(size=(2, SIZE, SIZE, 3)), tf.float32),
             "style": tf.constant(rng.uniform(size=(2, 2 * SIZE, 2 * SIZE, 3)), tf.float32)}
    curves, start = {}, None
    for precision in ("off", "float16"):
        (_, optimizer, _, train_step), start = _same_start(
            tiny_config(tmp_path, mixed_precision=precision, learning_rate=1e-3), start)
        curves[precision] = [float(train_step(batch)[0]["total_loss"]) for _ in range(12)]
    assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    assert float(optimizer.dynamic_scale.numpy()) >= defaults.INITIAL_LOSS_SCALE / 2  # seen: 1/2
    assert int(optimizer.iterations.numpy()) >= 11  # at most one step skipped (seen: one)
    float32, float16 = curves["off"], curves["float16"]
    assert all(np.isfinite(float16))
    assert abs(float16[0] / float32[0] - 1) < 0.2  # same weights and batch (seen: 8 %)
    for curve in (float32, float16):
        assert curve[-1] < 0.4 * curve[0], curves  # it learns (seen: 0.12x, 0.13x)
    assert 0.5 < float16[-1] / float32[-1] < 2, curves  # as float32 does (seen: 1.16)


# ----------------------------------------------------------------------------
# XLA: the whole step as one program, at most one per style-size bucket.

# Losses on VGG conv1 only: XLA then prunes blocks 2-5 and compiles in a fraction of the time;
# the step's machinery (forward, losses, gradients, Adam, BatchNorm updates) is all there.
LIGHT_LOSSES = dict(content_weights={"vgg_16/conv1": 1.0}, style_weights={"vgg_16/conv1": 1e-3})


def _gradients_by_part(model, optimizer):
    """{predictor, head, transfer: the step's gradients}: Adam's first moment is 0.1 x the
    gradient after one step."""
    moments = dict(zip((id(v) for v in model.trainable_variables), optimizer._momentums))  # pylint: disable=protected-access
    return {part: 10 * np.concatenate([moments[id(v)].numpy().ravel()
                                       for v in sub.trainable_variables])
            for part, sub in (("predictor", model.style_predictor),
                              ("head", model.style_params_head),
                              ("transfer", model.transfer_network))}


def _relative(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(a)


@pytest.mark.slow
def test_xla_whole_step_equals_plain_step_and_compiles_once_per_bucket(tmp_path):
    """In float64, where rounding cannot hide a difference: the compiled step is the plain one.

    Measured (one step, same weights and batch, realistic transfer weights, 64 px styles):
    float64 XLA vs plain: loss 1.1e-15, gradients of the transfer network 4.8e-15 and head
    9e-17, BatchNorm statistics 3.6e-17; the predictor's 8.6e-8, as plain graph vs plain eager differ
    (its training-mode BatchNorms over 2 images amplify float64 rounding). In float32 the two
    differ by 1.6e-3 (transfer) / 4.4e-3 (predictor), each as far from float64 as the other.
    A fresh model at 32 px styles (predictor maps 1x1, BatchNorm over 2 values) made float32
    gradients mostly rounding: ~30 % between any two float32 computations, in float64 1e-7.
    """
    config = tiny_config(tmp_path, learning_rate=1e-4, **LIGHT_LOSSES)
    float64 = dict(dtype_policy="float64")
    plain = steps.one_device_step(config, **float64)
    xla = steps.one_device_step(dataclasses.replace(config, jit_compile=True), **float64)
    for models, *_ in (plain, xla):
        randomize_weights(models.model, scope=TRANSFER_SCOPE)
    (plain_models, plain_optimizer, plain_counter, plain_step) = plain
    (xla_models, xla_optimizer, xla_counter, xla_step) = xla
    assert {v.dtype for v in xla_models.model.variables} == {"float64"}
    assert xla_step.experimental_get_tracing_count() == 0
    style_size = 2 * SIZE
    buckets = (style_size, style_size + 16)
    rng = np.random.default_rng(1)
    content = tf.constant(rng.uniform(size=(2, SIZE, SIZE, 3)), tf.float32)
    style = tf.constant(rng.uniform(size=(2, style_size, style_size, 3)), tf.float32)

    def statistics(models):
        return np.concatenate([v.numpy().ravel() for v in models.model.non_trainable_variables])
    before = statistics(xla_models)

    first = {"content": content, "style": style}
    plain_terms, _ = plain_step(first)
    xla_terms, _ = xla_step(first)
    for key in ("total_loss", "total_content_loss", "total_style_loss"):
        np.testing.assert_allclose(xla_terms[key], plain_terms[key], rtol=4e-15, err_msg=key)
    plain_gradients = _gradients_by_part(plain_models.model, plain_optimizer)
    xla_gradients = _gradients_by_part(xla_models.model, xla_optimizer)
    differences = {part: _relative(plain_gradients[part], xla_gradients[part])
                   for part in plain_gradients}
    assert differences["transfer"] < 1.5e-14 and differences["head"] < 3e-16, differences
    assert differences["predictor"] < 2.6e-7, differences
    assert int(xla_optimizer.iterations.numpy()) == int(plain_optimizer.iterations.numpy()) == 1
    assert int(xla_counter.numpy()) == int(plain_counter.numpy()) == 1
    # BatchNorm statistics were updated inside the compiled step, as the plain step does.
    assert not np.allclose(statistics(xla_models), before)
    assert _relative(statistics(plain_models), statistics(xla_models)) < 1.1e-16

    terms, _ = xla_step(first)  # a second step at the same size runs the compiled program
    assert np.isfinite(float(terms["total_loss"])) and int(xla_counter.numpy()) == 2
    assert xla_step.experimental_get_tracing_count() == 1
    sizes = {style_size}
    for seed in range(5):  # random sizes, as the style pipeline draws them
        styled = image_ops.random_batch_size_resize(style, tf.constant([seed, 3]), buckets=buckets)
        sizes.add(styled.shape[1])
        # Traced, not run: each new trace is one more XLA program (a float64 compile ~30 s).
        xla_step.get_concrete_function({"content": content, "style": styled})
    assert sizes == set(buckets)
    # One traced (and so one compiled) program per bucket, however many batches come.
    assert xla_step.experimental_get_tracing_count() == len(buckets)
