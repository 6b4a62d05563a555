"""The TF Hub compatible SavedModel: `m(content, style)[0]` and the three signatures."""
import tensorflow as tf

from magenta_style import defaults
from magenta_style.export.signatures import _image_spec

SAVED_MODEL_DIR = defaults.SAVED_MODEL_DIR


class StylizerModule(tf.Module):
    """tf.Module wrapping a Stylizer for `tf.saved_model.save`.

    `module(content, style)` -> [stylized]: the TF Hub module contract. A style
    batch of 1 is broadcast over the content batch.
    """

    def __init__(self, model):
        super().__init__(name="stylizer_module")
        self.model = model
        self.bottleneck_dim = model.bottleneck_dim

    def _transfer(self, content_image, style_bottleneck):
        bottleneck = tf.broadcast_to(style_bottleneck,
                                     [tf.shape(content_image)[0], self.bottleneck_dim])
        return self.model.stylize(content_image, bottleneck)

    @tf.function(input_signature=[_image_spec("content_image"), _image_spec("style_image")])
    def __call__(self, content_image, style_image):
        return [self._transfer(content_image, self.model.style_bottleneck(style_image))]

    @tf.function(input_signature=[_image_spec("content_image"), _image_spec("style_image")])
    def serve(self, content_image, style_image):
        """serving_default: {'stylized_image': [B, H, W, 3]}."""
        return {"stylized_image": self.__call__(content_image, style_image)[0]}

    @tf.function(input_signature=[_image_spec("style_image")])
    def predict_style(self, style_image):
        """{'style_bottleneck': [B, 100]}."""
        return {"style_bottleneck": self.model.style_bottleneck(style_image)}

    @tf.function(input_signature=[_image_spec("content_image"),
                                  tf.TensorSpec([None, None], tf.float32, name="style_bottleneck")])
    def transfer(self, content_image, style_bottleneck):
        """{'stylized_image': [B, H, W, 3]} from content and bottleneck [B or 1, 100]."""
        return {"stylized_image": self._transfer(content_image, style_bottleneck)}


def save_saved_model(model, path):
    """Writes the TF Hub compatible SavedModel of `model` to `path` (a new folder)."""
    module = StylizerModule(model)
    tf.saved_model.save(module, path, signatures={
        "serving_default": module.serve.get_concrete_function(),
        "predict_style": module.predict_style.get_concrete_function(),
        "transfer": module.transfer.get_concrete_function(),
    })
    return path
