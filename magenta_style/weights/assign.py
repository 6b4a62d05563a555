"""Assigning weights read from a source to a Stylizer through a name table."""
import numpy as np

from magenta_style.errors import ModelSpecError
from magenta_style.weights.names import _folded_bn_name


def _find_layer(model, part, name):
    root = {"predictor": model.style_predictor, "head": model.style_params_head,
            "transfer": model.transfer_network}[part]
    stack = [root]
    while stack:
        current = stack.pop()
        for layer in current.layers:
            if layer.name == name:
                return layer
            if hasattr(layer, "layers"):
                stack.append(layer)
    raise KeyError(f"no layer {name!r} in the {part} of {model.name}")


def _set_weights(layer, values, sources):
    """layer.set_weights with a shape check whose error names the source tensor."""
    for value, variable, source in zip(values, layer.weights, sources):
        if tuple(value.shape) != tuple(variable.shape):
            raise ModelSpecError(f"{source}: shape {list(value.shape)} does not fit "
                                 f"{layer.name} {list(variable.shape)}")
    layer.set_weights([np.asarray(value, np.float32) for value in values])


def _fold_bias_into_batch_norm(layer, bias, source):
    """Sets a BatchNormalization so that inference computes x + bias exactly.

    beta = bias, moving_mean = 0, moving_variance = 1 - epsilon (so the
    normalizer divides by sqrt(1) = 1) and gamma = 1 when the layer has a scale.
    """
    bias = np.asarray(bias, np.float32)
    values = [bias, np.zeros_like(bias), np.full_like(bias, 1.0 - layer.epsilon)]
    if layer.scale:
        values.insert(0, np.ones_like(bias))
    _set_weights(layer, values, [source] * len(values))


def _dense_kernel(kernel, source):
    """A 1x1 conv kernel [1, 1, I, O] (TF layout) -> Dense kernel [I, O]."""
    if kernel.ndim == 4:
        if kernel.shape[:2] != (1, 1):
            raise ModelSpecError(f"{source}: shape {list(kernel.shape)} is not a 1x1 convolution")
        kernel = kernel[0, 0]
    return kernel


def assign_from_table(model, table, read):
    """Writes source tensors into `model` following `table`.

    read(name) -> for TF1 tables a numpy array in TF layout (HWIO conv, HWC1
    depthwise); for the released table the (kernel in TF layout, bias) of the
    conv op reading that weight tensor. Raises ModelSpecError naming a missing
    or mis-shaped tensor.
    """
    for part, layer_name, kind, sources in table:
        layer = _find_layer(model, part, layer_name)
        if kind == "conv":
            _set_weights(layer, [read(sources[0])], sources)
        elif kind == "batch_norm":
            _set_weights(layer, [read(name) for name in sources], sources)
        elif kind == "dense":
            kernel, bias = read(sources[0]), read(sources[1])
            _set_weights(layer, [_dense_kernel(kernel, sources[0]), bias], sources)
        elif kind == "op_conv":  # bias dropped: the style norm after it subtracts the mean
            _set_weights(layer, [read(sources[0])[0]], sources)
        elif kind == "op_dense":
            kernel, bias = read(sources[0])
            _set_weights(layer, [_dense_kernel(kernel, sources[0]), bias], sources * 2)
        elif kind == "op_conv_folded_bn":
            kernel, bias = read(sources[0])
            _set_weights(layer, [kernel], sources)
            _fold_bias_into_batch_norm(_find_layer(model, part, _folded_bn_name(layer_name)),
                                       bias, sources[0])
        else:
            raise ValueError(f"unknown mapping kind {kind!r}")
