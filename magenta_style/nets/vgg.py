"""VGG-16 and VGG-19 loss networks with average pooling (SPEC 1.4, 8).

Input [B, H, W, 3] in [0, 1] -> x255 - RGB mean -> 5 conv blocks, each closed by
2x2 average pooling. Outputs a dict of endpoints `vgg_16/conv1..conv5` (ReLU of
each block's last conv) and `vgg_16/pool1..pool5`; VGG-19 (4 convs in blocks 3-5)
names them `vgg_19/...`.

Layer names are slim's below `vgg_16/` / `vgg_19/` with `/` -> `_` (`conv3_2` holds
`vgg_16/conv3/conv3_2/weights|biases`; Keras calls it `block3_conv2`).
"""
import keras
import numpy as np
from keras import layers, ops

from magenta_style import defaults
from magenta_style.nets.layers import wide_dtype

BLOCK_DEPTHS = (64, 128, 256, 512, 512)
# --loss_network -> (scope, convs per block).
NETWORKS = {"vgg16": ("vgg_16", (2, 2, 3, 3, 3)), "vgg19": ("vgg_19", (2, 2, 4, 4, 4))}
# (convs, depth) per block of VGG-16.
VGG_BLOCKS = tuple(zip(NETWORKS["vgg16"][1], BLOCK_DEPTHS))


def scope_of(network):
    """'vgg16' -> 'vgg_16'; ValueError naming the known networks for anything else."""
    if network not in NETWORKS:
        raise ValueError(f"unknown loss network {network!r} (known: {', '.join(NETWORKS)})")
    return NETWORKS[network][0]


def endpoints(network=defaults.LOSS_NETWORK):
    """Endpoint names of `network`: ('vgg_16/conv1', 'vgg_16/pool1', ..., 'vgg_16/pool5')."""
    scope = scope_of(network)
    return tuple(f"{scope}/{kind}{block}" for block in range(1, 6) for kind in ("conv", "pool"))


ENDPOINTS = endpoints("vgg16")


def network_of(model):
    """The --loss_network name of a built loss network (from its endpoint names)."""
    names = set(model.output)
    for network in NETWORKS:
        if names == set(endpoints(network)):
            return network
    raise ValueError(f"{model.name}: not a VGG loss network (outputs {sorted(names)[:3]}...)")


def conv_layer_names(network=defaults.LOSS_NETWORK):
    """[(slim scope, keras name)] of the convs, e.g. ('vgg_16/conv1/conv1_1', 'conv1_1')."""
    scope, counts = scope_of(network), NETWORKS[network][1]
    return [(f"{scope}/conv{b}/conv{b}_{i}", f"conv{b}_{i}")
            for b, count in enumerate(counts, start=1) for i in range(1, count + 1)]


def keras_application_name(layer):
    """Our 'conv3_2' -> Keras applications' 'block3_conv2'."""
    block, index = layer[len("conv"):].split("_")
    return f"block{block}_conv{index}"


@keras.saving.register_keras_serializable(package="magenta_style")
class VGGPreprocess(keras.layers.Layer):
    """[0, 1] RGB -> x255 minus the ImageNet RGB mean (no BGR swap), in float32 (float64
    under a float64 policy)."""

    def call(self, inputs):
        dtype = wide_dtype(inputs.dtype)
        mean = ops.convert_to_tensor(np.array(defaults.VGG_MEAN_RGB), dtype)
        return ops.cast(inputs, dtype) * 255.0 - mean


def build_vgg(network=defaults.LOSS_NETWORK, name=None):
    """Builds the loss network with random weights (`weights.vgg.load_vgg` fills them).

    Returns:
      Model (named `name`, default 'vgg_16' / 'vgg_19') [B, H, W, 3] in [0, 1] ->
      {endpoint name: float32 [B, h, w, c]}. Frozen.
    """
    scope, counts = scope_of(network), NETWORKS[network][1]
    image = keras.Input((None, None, 3), name="image")
    x = VGGPreprocess(name="preprocess")(image)
    outputs = {}
    for block, (count, depth) in enumerate(zip(counts, BLOCK_DEPTHS), start=1):
        for index in range(1, count + 1):
            x = layers.Conv2D(depth, 3, padding="same", activation="relu",
                              name=f"conv{block}_{index}")(x)
        outputs[f"{scope}/conv{block}"] = x
        x = layers.AveragePooling2D(2, 2, padding="valid", name=f"pool{block}")(x)
        outputs[f"{scope}/pool{block}"] = x
    model = keras.Model(image, outputs, name=name or scope)
    model.trainable = False
    return model


def build_vgg16(name=None):
    """`build_vgg('vgg16', name)`."""
    return build_vgg("vgg16", name)
