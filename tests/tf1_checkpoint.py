"""Writes checkpoints keyed by plain TF1 variable names, as tf.compat.v1.train.Saver does."""
import numpy as np
import tensorflow as tf

from magenta_style.weights.assign import _find_layer
from magenta_style.weights.names import tf1_checkpoint_table


def write_tf1_checkpoint(prefix, arrays):
    """arrays: {TF1 variable name: numpy array}. Returns the checkpoint prefix."""
    prefix = str(prefix)
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=list(arrays),
                      shape_and_slices=[""] * len(arrays),
                      tensors=[tf.constant(value) for value in arrays.values()])
    return prefix


def tf1_variables(model, model_type):
    """[(TF1 variable name, Keras variable)] of a Stylizer, from the weight-import table."""
    pairs = []
    for part, layer_name, _, sources in tf1_checkpoint_table(model_type, model.alpha):
        layer = _find_layer(model, part, layer_name)
        if len(sources) != len(layer.weights):
            raise AssertionError(f"{layer_name}: {len(layer.weights)} weights, table {sources}")
        pairs.extend(zip(sources, layer.weights))
    return pairs


def write_model_checkpoint(prefix, model, model_type):
    """A Magenta-named TF1 checkpoint of a Stylizer (1x1 "Dense" kernels as [1, 1, I, O])."""
    arrays = {}
    for name, variable in tf1_variables(model, model_type):
        value = variable.numpy()
        arrays[name] = value[None, None] if name.endswith("/weights") and value.ndim == 2 else value
    return write_tf1_checkpoint(prefix, {k: np.asarray(v, np.float32) for k, v in arrays.items()})
