"""The VGG-16 loss network's weights: Keras' ImageNet download, a Keras weights file or a slim checkpoint."""
import keras
import tensorflow as tf

from magenta_style import defaults
from magenta_style.errors import ModelSpecError
from magenta_style.nets.vgg import build_vgg16, conv_layer_names
from magenta_style.weights.run_dir import checkpoint_prefix


def load_vgg16(weights):
    """The frozen VGG-16 loss network with `weights`.

    Args:
      weights: 'imagenet' (Keras download), a Keras VGG16 weights file (.h5 /
        .weights.h5, no top), a TF-slim `vgg_16` checkpoint (prefix or
        directory), or None / 'random' (tests only: the losses then measure nothing).
    Returns:
      `nets.vgg.build_vgg16()`'s model, filled.
    """
    model = build_vgg16()
    if weights in (None, defaults.RANDOM):
        return model
    names = conv_layer_names()
    prefix = checkpoint_prefix(weights) if weights != defaults.IMAGENET else None
    if prefix is not None:
        reader = tf.train.load_checkpoint(prefix)
        for scope, keras_layer in names:
            for suffix in ("weights", "biases"):
                if not reader.has_tensor(f"{scope}/{suffix}"):
                    raise ModelSpecError(f"{weights}: VGG checkpoint lacks {scope}/{suffix}")
            model.get_layer(keras_layer).set_weights(
                [reader.get_tensor(f"{scope}/weights"), reader.get_tensor(f"{scope}/biases")])
        return model
    reference = keras.applications.VGG16(include_top=False, weights=weights)
    for block_index, (_, keras_layer) in enumerate(names):
        block, index = keras_layer[4:].split("_")
        kernel, bias = reference.get_layer(f"block{block}_conv{index}").get_weights()
        if block_index == 0:
            # Keras' VGG16 weights come from Caffe and expect BGR; ours take RGB.
            kernel = kernel[:, :, ::-1, :]
        model.get_layer(keras_layer).set_weights([kernel, bias])
    return model
