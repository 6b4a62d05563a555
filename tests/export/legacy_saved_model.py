"""export.py's SavedModel as main wrote it before the fast graph (commit 02da12c): the same
signatures, served by the Keras layers, the Keras model tracked (its variables saved).

Kept to prove that such SavedModels still load; do not change it with the current exporter.
"""
import tensorflow as tf

from magenta_style.inference.tflite_graphs import image_spec


class LegacyStylizerModule(tf.Module):
    """export/saved_model.py's StylizerModule before the fast graph, verbatim."""

    def __init__(self, model):
        super().__init__(name="stylizer_module")
        self.model = model
        self.bottleneck_dim = model.bottleneck_dim

    def _transfer(self, content_image, style_bottleneck):
        bottleneck = tf.broadcast_to(style_bottleneck,
                                     [tf.shape(content_image)[0], self.bottleneck_dim])
        return self.model.stylize(content_image, bottleneck)

    @tf.function(input_signature=[image_spec("content_image"), image_spec("style_image")])
    def __call__(self, content_image, style_image):
        return [self._transfer(content_image, self.model.style_bottleneck(style_image))]

    @tf.function(input_signature=[image_spec("content_image"), image_spec("style_image")])
    def serve(self, content_image, style_image):
        return {"stylized_image": self.__call__(content_image, style_image)[0]}

    @tf.function(input_signature=[image_spec("style_image")])
    def predict_style(self, style_image):
        return {"style_bottleneck": self.model.style_bottleneck(style_image)}

    @tf.function(input_signature=[image_spec("content_image"),
                                  tf.TensorSpec([None, None], tf.float32, name="style_bottleneck")])
    def transfer(self, content_image, style_bottleneck):
        return {"stylized_image": self._transfer(content_image, style_bottleneck)}


def save_legacy_saved_model(model, path):
    module = LegacyStylizerModule(model)
    tf.saved_model.save(module, path, signatures={
        "serving_default": module.serve.get_concrete_function(),
        "predict_style": module.predict_style.get_concrete_function(),
        "transfer": module.transfer.get_concrete_function(),
    })
    return path
