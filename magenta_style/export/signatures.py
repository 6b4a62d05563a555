"""The exported interface: tensor names, shapes and signatures of Magenta's released files."""
import tensorflow as tf

# Tensor names of Magenta's released TFLite pair (SPEC 6).
STYLE_IMAGE = "style_image"


CONTENT_IMAGE = "content_image"


BOTTLENECK = "mobilenet_conv/Conv/BiasAdd"


STYLIZED = "transformer/expand/conv3/conv/Sigmoid"


# (our signature key, released tensor name), in the released input / output order.
PREDICT_INPUTS = (("style_image", STYLE_IMAGE),)


PREDICT_OUTPUTS = (("style_bottleneck", BOTTLENECK),)


TRANSFER_INPUTS = (("content_image", CONTENT_IMAGE), ("style_bottleneck", BOTTLENECK))


TRANSFER_OUTPUTS = (("stylized_image", STYLIZED),)


def _image_spec(name, batch=None, size=None):
    return tf.TensorSpec([batch, size, size, 3], tf.float32, name=name)
