"""One test of a custom Keras layer's contract, in the keras-hub style.

`run_layer_test` checks, for a layer class built from `init_kwargs`:
  - config round trip (`from_config(get_config())` gives the same config);
  - symbolic call: `compute_output_shape` / functional output shape, with unknown H, W too;
  - eager call equals the call inside a saved-and-reloaded `.keras` functional model;
  - a gradient step reaches every input (and every trainable weight) with finite values;
  - mixed precision (`mixed_float16` and `mixed_bfloat16`): runs, output dtype is the
    compute dtype (or float32 where the layer says so) and close to float32.
"""
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf


def _as_list(inputs):
    return list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]


def _symbolic_inputs(arrays, unknown_hw):
    specs = []
    for array in arrays:
        shape = list(array.shape[1:])
        if unknown_hw and len(shape) == 3:
            shape[0] = shape[1] = None
        specs.append(keras.Input(shape, dtype="float32"))
    return specs


def _call(layer, inputs, multiple):
    return layer(inputs if multiple else inputs[0])


def run_layer_test(layer_cls, init_kwargs, input_data, expected_output_shape,
                   output_dtype_policy=None, mixed_precision_atol=0.05, gradient_inputs=None):
    """Asserts the contract above; returns the eager float32 output.

    Args:
      layer_cls: the layer class; init_kwargs: its constructor arguments.
      input_data: one float32 array [B, ...] or a list of them (multi-input layers).
      expected_output_shape: the eager output's shape (a tuple).
      output_dtype_policy: 'float32' for layers that always return float32.
      mixed_precision_atol: max abs difference of the mixed-precision output from float32.
      gradient_inputs: indices of the inputs the output depends on (default: all).
    """
    multiple = isinstance(input_data, (list, tuple))
    arrays = [np.asarray(a, np.float32) for a in _as_list(input_data)]

    layer = layer_cls(**init_kwargs)
    config = layer.get_config()
    assert layer_cls.from_config(config).get_config() == config

    eager = np.asarray(_call(layer, [tf.constant(a) for a in arrays], multiple))
    assert eager.shape == tuple(expected_output_shape)

    for unknown_hw in (False, True):
        symbolic = _symbolic_inputs(arrays, unknown_hw)
        output = _call(layer_cls(**init_kwargs), symbolic, multiple)
        expected = tuple(expected_output_shape[1:])
        if unknown_hw and len(expected) == 3:
            assert output.shape[-1] == expected[-1], "channels must stay static"
        else:
            assert tuple(output.shape[1:]) == expected

    symbolic = _symbolic_inputs(arrays, unknown_hw=True)
    model = keras.Model(symbolic, _call(layer_cls(**init_kwargs), symbolic, multiple))
    before = np.asarray(model(arrays if multiple else arrays[0]))
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "layer.keras")
        model.save(path)
        reloaded = keras.models.load_model(path)
    after = np.asarray(reloaded(arrays if multiple else arrays[0]))
    np.testing.assert_allclose(after, before, rtol=0, atol=0)

    tensors = [tf.Variable(a) for a in arrays]
    grad_layer = layer_cls(**init_kwargs)
    with tf.GradientTape() as tape:
        out = _call(grad_layer, tensors, multiple)
        loss = tf.reduce_sum(tf.square(tf.cast(out, tf.float32)) * tf.random.stateless_uniform(
            tf.shape(out), seed=[1, 2]))
    if gradient_inputs is not None:
        tensors = [tensors[i] for i in gradient_inputs]
    sources = tensors + grad_layer.trainable_weights
    grads = tape.gradient(loss, sources)
    for source, grad in zip(sources, grads):
        assert grad is not None, f"no gradient to {source.name}"
        assert np.all(np.isfinite(np.asarray(grad))), f"non-finite gradient to {source.name}"

    original = keras.config.dtype_policy()
    try:
        for policy, compute in (("mixed_float16", "float16"), ("mixed_bfloat16", "bfloat16")):
            keras.config.set_dtype_policy(policy)
            mixed_layer = layer_cls(**init_kwargs)
            mixed = _call(mixed_layer, [tf.constant(a) for a in arrays], multiple)
            assert mixed.dtype == (output_dtype_policy or compute), (policy, mixed.dtype)
            np.testing.assert_allclose(np.asarray(tf.cast(mixed, tf.float32)), eager,
                                       atol=mixed_precision_atol)
    finally:
        keras.config.set_dtype_policy(original)
    return eager
