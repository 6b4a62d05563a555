"""Writes checkpoints keyed by plain TF1 variable names, as tf.compat.v1.train.Saver does."""
import tensorflow as tf


def write_tf1_checkpoint(prefix, arrays):
    """arrays: {TF1 variable name: numpy array}. Returns the checkpoint prefix."""
    prefix = str(prefix)
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=list(arrays),
                      shape_and_slices=[""] * len(arrays),
                      tensors=[tf.constant(value) for value in arrays.values()])
    return prefix
