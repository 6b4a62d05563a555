"""VGG-16 loss network with average pooling (SPEC 1.4).

Input [B, H, W, 3] in [0, 1] -> x255 - RGB mean -> 5 conv blocks, each closed by
2x2 average pooling. Outputs a dict of endpoints `vgg_16/conv1..conv5` (ReLU of
each block's last conv) and `vgg_16/pool1..pool5`.

Layer names are slim's below `vgg_16/` with `/` -> `_` (`conv3_2` holds
`vgg_16/conv3/conv3_2/weights|biases`; Keras VGG16 calls it `block3_conv2`).
"""
import keras
import numpy as np
from keras import layers, ops

from magenta_style import defaults

# Convs per block and their depth.
VGG_BLOCKS = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))
ENDPOINTS = tuple(f"vgg_16/{kind}{block}" for block in range(1, 6) for kind in ("conv", "pool"))


def conv_layer_names():
    """[(slim scope, keras name)] of the 13 convs, e.g. ('vgg_16/conv1/conv1_1', 'conv1_1')."""
    return [(f"vgg_16/conv{b}/conv{b}_{i}", f"conv{b}_{i}")
            for b, (count, _) in enumerate(VGG_BLOCKS, start=1) for i in range(1, count + 1)]


@keras.saving.register_keras_serializable(package="magenta_style")
class VGGPreprocess(keras.layers.Layer):
    """[0, 1] RGB -> x255 minus the ImageNet RGB mean (no BGR swap)."""

    def call(self, inputs):
        mean = ops.convert_to_tensor(np.array(defaults.VGG_MEAN_RGB, np.float32))
        return ops.cast(inputs, "float32") * 255.0 - mean


def build_vgg16(name="vgg_16"):
    """Builds the loss network with random weights (`weights.vgg.load_vgg16` fills them).

    Returns:
      Model [B, H, W, 3] in [0, 1] -> {endpoint name: float32 [B, h, w, c]}. Frozen.
    """
    image = keras.Input((None, None, 3), name="image")
    x = VGGPreprocess(name="preprocess")(image)
    endpoints = {}
    for block, (count, depth) in enumerate(VGG_BLOCKS, start=1):
        for index in range(1, count + 1):
            x = layers.Conv2D(depth, 3, padding="same", activation="relu",
                              name=f"conv{block}_{index}")(x)
        endpoints[f"vgg_16/conv{block}"] = x
        x = layers.AveragePooling2D(2, 2, padding="valid", name=f"pool{block}")(x)
        endpoints[f"vgg_16/pool{block}"] = x
    model = keras.Model(image, endpoints, name=name)
    model.trainable = False
    return model
