"""The TF Hub compatible SavedModel: `m(content, style)[0]` and the three signatures.

The serving functions are the fast inference graphs magenta-stylize runs, not the Keras layers:
the transfer network in inference/fast.py's formulation (float32) and the style predictor with
its BatchNorms folded (inference/fast_predictor.py), their weights read once into constants.
A batch of one image takes fast.py's graph as it is; larger batches its per-image-statistics
form (batched_instance_norm). The Keras variables the graphs still read (the style-parameter
head, the bottleneck) are tracked by the module so that they are saved with it.
"""
import tensorflow as tf

from magenta_style import defaults
from magenta_style.inference.tflite_graphs import image_spec
from magenta_style.inference import fast
from magenta_style.inference.fast_predictor import folded_graph

SAVED_MODEL_DIR = defaults.SAVED_MODEL_DIR


class StylizerModule(tf.Module):
    """tf.Module wrapping a Stylizer's fast inference graphs for `tf.saved_model.save`.

    `module(content, style)` -> [stylized]: the TF Hub module contract. A style
    batch of 1 is broadcast over the content batch. The weights are read when it is built.
    """

    def __init__(self, model):
        super().__init__(name="stylizer_module")
        self.bottleneck_dim = model.bottleneck_dim
        self._kernels = fast.InferenceKernels(model, "float32")
        self._style_params = model.style_params
        self._predict = folded_graph(model.style_predictor)
        functions = (self.__call__, self.serve, self.predict_style, self.transfer)
        captured = {id(v): v for function in functions
                    for v in function.get_concrete_function().variables}
        self.captured_variables = list(captured.values())  # tracked: saved with the module

    def _transfer(self, content_image, style_bottleneck):
        batch = tf.shape(content_image)[0]
        params = self._style_params(tf.broadcast_to(style_bottleneck, [batch, self.bottleneck_dim]))
        return tf.cond(
            tf.equal(batch, 1),
            lambda: fast.stylize_graph(self._kernels, content_image, params[0]),
            lambda: fast.stylize_graph(self._kernels, content_image, params,
                                       norm=fast.batched_instance_norm))

    @tf.function(input_signature=[image_spec("content_image"), image_spec("style_image")],
                 autograph=False)
    def __call__(self, content_image, style_image):
        return [self._transfer(content_image, self._predict(style_image))]

    @tf.function(input_signature=[image_spec("content_image"), image_spec("style_image")],
                 autograph=False)
    def serve(self, content_image, style_image):
        """serving_default: {'stylized_image': [B, H, W, 3]}."""
        return {"stylized_image": self.__call__(content_image, style_image)[0]}

    @tf.function(input_signature=[image_spec("style_image")], autograph=False)
    def predict_style(self, style_image):
        """{'style_bottleneck': [B, 100]}."""
        return {"style_bottleneck": self._predict(style_image)}

    @tf.function(input_signature=[image_spec("content_image"),
                                  tf.TensorSpec([None, None], tf.float32, name="style_bottleneck")],
                 autograph=False)
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
