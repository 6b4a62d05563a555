"""FusedAdam: Keras Adam's update in TF's fused kernel, and checkpoints interchangeable with Adam's.

(tests/reference/test_defaults_parity.py compares it with TF1's AdamOptimizer itself.)
"""
import keras
import numpy as np
import tensorflow as tf

from magenta_style import defaults
from magenta_style.training.optimizer import FusedAdam, make_optimizer

SHAPES = [(3, 3, 4, 8), (8,), (100,)]


def _weights_and_gradients(steps, seed=0):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=shape).astype(np.float32) for shape in SHAPES]
    # Over 12 decades: entries near epsilon show which epsilon and formula are used.
    gradients = [[(rng.normal(size=shape) * 10.0 ** rng.uniform(-11, 1, shape)).astype(np.float32)
                  for shape in SHAPES] for _ in range(steps)]
    return weights, gradients


def _train(optimizer, variables, gradients):
    @tf.function
    def step(grads):
        optimizer.apply_gradients(zip(grads, variables))
    for grads in gradients:
        step([tf.constant(g) for g in grads])
    return [v.numpy() for v in variables]


def _assert_within_rounding(actual, desired, initial):
    """Equal updates to 1e-4 (gradients near epsilon make them touchy), or within 4 float32
    ulps of the weight (TF's kernel rounds in its own order)."""
    tolerance = 4 * np.spacing(np.abs(desired)) + 1e-4 * np.abs(desired - initial)
    assert np.all(np.abs(actual - desired) <= tolerance), np.abs(actual - desired).max()


def test_fused_update_is_keras_adams_to_float32_rounding():
    weights, gradients = _weights_and_gradients(steps=5)
    results = []
    for adam in (keras.optimizers.Adam, FusedAdam):
        optimizer = adam(1e-3, beta_1=defaults.ADAM_BETA_1, beta_2=defaults.ADAM_BETA_2,
                         epsilon=defaults.ADAM_EPSILON)
        results.append(_train(optimizer, [keras.Variable(w) for w in weights], gradients))
    for keras_weights, fused_weights, initial in zip(*results, weights):
        assert not np.array_equal(fused_weights, initial)
        _assert_within_rounding(fused_weights, keras_weights, initial)


def test_resumes_a_checkpoint_written_with_keras_adam(tmp_path):
    """train_dirs written before FusedAdam (keras Adam) resume: same slots, same numbers."""
    weights, gradients = _weights_and_gradients(steps=4, seed=1)
    writer_variables = [keras.Variable(w) for w in weights]
    writer = keras.optimizers.Adam(1e-3, epsilon=defaults.ADAM_EPSILON)
    _train(writer, writer_variables, gradients[:2])
    path = tf.train.Checkpoint(optimizer=writer, weights=writer_variables).write(
        str(tmp_path / "ckpt"))
    resumed_from = [v.numpy() for v in writer_variables]
    expected = _train(writer, writer_variables, gradients[2:])

    reader_variables = [keras.Variable(np.zeros_like(w)) for w in weights]
    reader = make_optimizer(1e-3)
    reader.build(reader_variables)
    tf.train.Checkpoint(optimizer=reader, weights=reader_variables).read(path).assert_consumed()
    assert int(reader.iterations.numpy()) == 2
    for resumed, wanted, initial in zip(_train(reader, reader_variables, gradients[2:]),
                                        expected, resumed_from):
        _assert_within_rounding(resumed, wanted, initial)


def test_loss_scaling_wraps_the_fused_optimizer():
    optimizer = make_optimizer(1e-3, mixed_precision=True)
    assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(optimizer.inner_optimizer, FusedAdam)
    assert optimizer.initial_scale == defaults.INITIAL_LOSS_SCALE == 2.0 ** 8
    peer = keras.optimizers.LossScaleOptimizer(
        keras.optimizers.Adam(1e-3, epsilon=defaults.ADAM_EPSILON),
        initial_scale=defaults.INITIAL_LOSS_SCALE)
    results = []
    for scaled in (optimizer, peer):
        variable = keras.Variable(np.ones(4, np.float32))
        # Gradients of a scaled loss: one finite step.
        scaled.apply_gradients([(tf.constant([1.0, -1.0, 0.0, 2.0]) * defaults.INITIAL_LOSS_SCALE,
                                 variable)])
        results.append(variable.numpy())
    assert int(optimizer.iterations.numpy()) == 1
    assert not np.array_equal(results[0], np.ones(4))
    _assert_within_rounding(results[0], results[1], np.ones(4, np.float32))
