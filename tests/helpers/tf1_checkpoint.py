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


def slim_vgg_arrays(network, seed):
    """Random {slim name: float32 array} of a whole slim `vgg_16` / `vgg_19` checkpoint, drawn
    as tests/helpers/models.randomize_weights draws (He-normal kernels, small biases)."""
    from magenta_style.nets import vgg  # pylint: disable=import-outside-toplevel
    from tests.reference.reference_job import random_tf1_value  # pylint: disable=import-outside-toplevel
    rng = np.random.default_rng(seed)
    arrays, in_channels = {}, 3
    for scope, _ in vgg.conv_layer_names(network):
        depth = vgg.BLOCK_DEPTHS[int(scope.split("/")[1][4:]) - 1]
        for name, shape in ((f"{scope}/weights", (3, 3, in_channels, depth)),
                            (f"{scope}/biases", (depth,))):
            arrays[name] = random_tf1_value(name, shape, rng).astype(np.float32)
        in_channels = depth
    return arrays


def write_magenta_archive(directory, model):
    """Magenta's release layout for a full Stylizer: directory/arbitrary_style_transfer/model.ckpt
    (+ a placeholder .meta) and directory/arbitrary_style_transfer.tar.gz holding that folder.
    Returns the archive's path."""
    import os  # pylint: disable=import-outside-toplevel
    import tarfile  # pylint: disable=import-outside-toplevel
    from magenta_style import defaults  # pylint: disable=import-outside-toplevel
    checkpoint = os.path.join(directory, "arbitrary_style_transfer")
    os.makedirs(checkpoint)
    write_model_checkpoint(os.path.join(checkpoint, "model.ckpt"), model, "full")
    with open(os.path.join(checkpoint, "model.ckpt.meta"), "wb") as stream:
        stream.write(b"graph def (not read)")
    archive = os.path.join(directory, defaults.FULL_MODEL_ARCHIVE)
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(checkpoint, arcname="arbitrary_style_transfer")
    return archive
