"""Reading a TF-slim `inception_v3` checkpoint (e.g. `inception_v3_2016_08_28`) into our backbone.

Slim names `InceptionV3/<scope>/weights` and `InceptionV3/<scope>/BatchNorm/
{beta,moving_mean,moving_variance}` map to our layers `keras_name(scope)` and
`keras_name(scope) + "_BatchNorm"` (no gamma: Magenta's BatchNorm has scale=False).
"""
import tensorflow as tf

from magenta_style import predictor

SLIM_PREFIX = "InceptionV3"
BATCH_NORM_VARIABLES = ("beta", "moving_mean", "moving_variance")  # Keras order, scale=False


def load_slim_inception_checkpoint(backbone, path):
    """Fills `predictor.build_inception_v3_mixed_6e()` from a slim checkpoint (prefix or dir).

    Raises ValueError naming the first missing tensor or shape mismatch.
    """
    checkpoint = tf.train.latest_checkpoint(path) if tf.io.gfile.isdir(path) else path
    reader = tf.train.load_checkpoint(checkpoint)
    for scope in predictor.inception_conv_scopes():
        conv = backbone.get_layer(predictor.keras_name(scope))
        norm = backbone.get_layer(predictor.keras_name(scope) + "_BatchNorm")
        names = [f"{SLIM_PREFIX}/{scope}/weights"] + [
            f"{SLIM_PREFIX}/{scope}/BatchNorm/{name}" for name in BATCH_NORM_VARIABLES]
        values = []
        for name, variable in zip(names, conv.weights + norm.weights):
            if not reader.has_tensor(name):
                raise ValueError(f"{path}: slim Inception-v3 checkpoint lacks {name}")
            value = reader.get_tensor(name)
            if tuple(value.shape) != tuple(variable.shape):
                raise ValueError(f"{path}: {name} has shape {tuple(value.shape)}, "
                                 f"expected {tuple(variable.shape)}")
            values.append(value)
        conv.set_weights(values[:1])
        norm.set_weights(values[1:])
