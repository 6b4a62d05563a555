"""The exported interface: tensor names, shapes and signatures of Magenta's released files."""
# Tensor names of Magenta's released TFLite pair (SPEC 6), defined where LiteRT runs them.
from magenta_style.litert import BOTTLENECK, CONTENT_IMAGE, STYLE_IMAGE, STYLIZED


# (our signature key, released tensor name), in the released input / output order.
PREDICT_INPUTS = (("style_image", STYLE_IMAGE),)


PREDICT_OUTPUTS = (("style_bottleneck", BOTTLENECK),)


TRANSFER_INPUTS = (("content_image", CONTENT_IMAGE), ("style_bottleneck", BOTTLENECK))


TRANSFER_OUTPUTS = (("stylized_image", STYLIZED),)


def _image_spec(name, batch=None, size=None):
    import tensorflow as tf  # pylint: disable=import-outside-toplevel  (the names need no TF)

    return tf.TensorSpec([batch, size, size, 3], tf.float32, name=name)
