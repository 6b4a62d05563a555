"""The style predictor as an inference graph with its BatchNorms folded into the convolutions.

`fast_style_bottleneck(model)` returns a tf.function style images [B, H, W, 3] in [0, 1] ->
bottleneck [B, D] that computes what `model.style_bottleneck` computes in inference mode
(max abs difference ~1e-6, tests/inference/test_fast_predictor.py) from the same weights, read
once when it is built (rebuild it after changing the weights). Every Conv2D / DepthwiseConv2D
whose only consumer is a BatchNormalization becomes one convolution with the BatchNorm's affine
map folded into its kernel and a bias, and a ReLU / ReLU6 right after it is applied as
tf.nn.relu / relu6, which oneDNN runs fused with the convolution; a SamePadding2D whose only
consumer is such a VALID convolution of its kernel size and stride becomes that convolution's
"SAME" padding (the same zeros, without a padded copy and its shape arithmetic); every other
layer is called as it is. The graph is read from the models' Keras configs (nested models included), so it serves
MobileNetV2 (52 BatchNorms) and Inception-v3 (70) alike. Speed: BENCHMARKS.md, "Stylize".
"""
import numpy as np
import tensorflow as tf
from keras import Model, layers

from magenta_style.nets.layers import SamePadding2D

CONVOLUTIONS = (layers.Conv2D, layers.DepthwiseConv2D)


def _sources(args):
    """Names of the layers whose outputs a serialized call's arguments reference."""
    if isinstance(args, dict):
        if args.get("class_name") == "__keras_tensor__":
            return [args["config"]["keras_history"][0]]
        return [name for value in args.values() for name in _sources(value)]
    if isinstance(args, (list, tuple)):
        return [name for value in args for name in _sources(value)]
    return []


def _single_endpoint(config, key):
    """Layer name of a functional config's only input / output (['name', 0, 0] or [[...]])."""
    endpoints = config[key]
    if isinstance(endpoints[0], str):
        return endpoints[0]
    if len(endpoints) != 1:
        raise ValueError(f"{config['name']}: expected one {key[:-len('_layers')]}, got "
                         f"{len(endpoints)}")
    return endpoints[0][0]


def _relu(layer):
    """tf.nn.relu / relu6 computing a ReLU or Activation('relu') layer, else None."""
    if isinstance(layer, layers.ReLU):
        if layer.negative_slope or layer.threshold:
            return None
        if layer.max_value is None:
            return tf.nn.relu
        return tf.nn.relu6 if float(layer.max_value) == 6.0 else None
    if isinstance(layer, layers.Activation) and layer.get_config()["activation"] == "relu":
        return tf.nn.relu
    return None


class FoldedConvolution:
    """conv -> inference BatchNorm (-> ReLU) as one convolution + bias (+ activation)."""

    def __init__(self, conv, batch_norm, activation=None, padding=None):
        """padding: "SAME" where the conv's zero padding was a SamePadding2D before it."""
        scale = batch_norm.gamma.numpy() if batch_norm.scale else 1.0
        scale = scale / np.sqrt(batch_norm.moving_variance.numpy() + batch_norm.epsilon)
        shift = batch_norm.beta.numpy() if batch_norm.center else 0.0
        bias = conv.bias.numpy() if conv.use_bias else 0.0
        kernel = conv.kernel.numpy()  # [k, k, I, O]; depthwise [k, k, C, multiplier]
        self.depthwise = isinstance(conv, layers.DepthwiseConv2D)
        scale_shape = kernel.shape[2:] if self.depthwise else kernel.shape[3:]
        self.kernel = tf.constant(kernel * np.reshape(scale, scale_shape), tf.float32)
        self.bias = tf.constant(shift + (bias - batch_norm.moving_mean.numpy()) * scale,
                                tf.float32)
        self.strides = [1, *conv.strides, 1]
        self.padding, self.dilations = padding or conv.padding.upper(), conv.dilation_rate
        self.activation = activation

    def __call__(self, x):
        convolve = tf.nn.depthwise_conv2d if self.depthwise else tf.nn.conv2d
        y = tf.nn.bias_add(convolve(x, self.kernel, self.strides, self.padding,
                                    dilations=self.dilations), self.bias)
        return self.activation(y) if self.activation else y


def _foldable(layer, consumers):
    """The BatchNorm that is the only consumer of a linear convolution `layer`, else None."""
    if not isinstance(layer, CONVOLUTIONS) or layer.get_config()["activation"] != "linear":
        return None
    users = consumers.get(layer.name, [])
    if len(users) == 1 and isinstance(users[0], layers.BatchNormalization) \
            and users[0].axis in (-1, 3):
        return users[0]
    return None


def _absorbed_padding(layer, consumers):
    """The convolution that takes SamePadding2D `layer` as its "SAME" padding, else None: its
    only consumer, a foldable VALID conv of the pad's kernel size and stride, undilated."""
    if not isinstance(layer, SamePadding2D):
        return None
    users = consumers.get(layer.name, [])
    if len(users) != 1 or _foldable(users[0], consumers) is None:
        return None
    conv = users[0]
    square = (layer.kernel_size, layer.kernel_size)
    if conv.padding == "valid" and tuple(conv.kernel_size) == square \
            and tuple(conv.strides) == (layer.stride, layer.stride) \
            and tuple(conv.dilation_rate) == (1, 1):
        return conv
    return None


def folded_graph(model):
    """Python function x -> output of a single-input functional Keras `model` in inference
    mode, its conv -> BatchNorm (-> ReLU) chains folded (trace it in a tf.function)."""
    config = model.get_config()
    calls = []
    for entry in config["layers"]:
        if entry["class_name"] == "InputLayer":
            continue
        if len(entry["inbound_nodes"]) != 1:
            raise ValueError(f"{model.name}/{entry['name']}: a layer called more than once is "
                             "not supported")
        calls.append((model.get_layer(entry["name"]), _sources(entry["inbound_nodes"][0]["args"])))
    consumers = {}
    for layer, sources in calls:
        for source in sources:
            consumers.setdefault(source, []).append(layer)
    steps, holder = [], {}  # holder: folded-away layer name -> the step name holding its value
    same_padded = set()  # convs whose SamePadding2D became their own "SAME" padding
    for layer, sources in calls:
        if layer.name in holder:
            continue
        conv = _absorbed_padding(layer, consumers)
        if conv is not None:
            holder[layer.name] = holder.get(sources[0], sources[0])
            same_padded.add(conv.name)
            continue
        function = layer
        batch_norm = _foldable(layer, consumers)
        if batch_norm is not None:
            after = consumers.get(batch_norm.name, [])
            activation = _relu(after[0]) if len(after) == 1 else None
            function = FoldedConvolution(layer, batch_norm, activation,
                                         "SAME" if layer.name in same_padded else None)
            for absorbed in [batch_norm] + ([after[0]] if activation else []):
                holder[absorbed.name] = layer.name
        elif isinstance(layer, Model):
            function = folded_graph(layer)
        steps.append((layer.name, function, [holder.get(s, s) for s in sources]))
    input_name = _single_endpoint(config, "input_layers")
    output_name = _single_endpoint(config, "output_layers")
    output_name = holder.get(output_name, output_name)

    def run(x):
        values = {input_name: x}
        for name, function, sources in steps:
            inputs = [values[source] for source in sources]
            values[name] = function(inputs[0] if len(inputs) == 1 else inputs)
        return values[output_name]
    return run


def fast_style_bottleneck(model):
    """tf.function style images [B, H, W, 3] in [0, 1] (float32) -> [B, bottleneck_dim] of a
    Stylizer, equal to model.style_bottleneck(images) to float32 rounding."""
    run = folded_graph(model.style_predictor)
    return tf.function(run, input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)],
                       autograph=False)
