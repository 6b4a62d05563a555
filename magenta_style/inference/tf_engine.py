"""The `tf` engine: TensorFlow, inference/fast.py's graph (in tiles above the tiling size,
inference/tiled.py) and inference/fast_predictor.py's folded predictor. The only engine for
--precision=bfloat16."""
import numpy as np
import tensorflow as tf

from magenta_style import defaults
from magenta_style.inference import fast, fast_predictor, tiled
from magenta_style.inference.engine import Engine, as_image, needs_tiling


class TFEngine(Engine):
    """A Stylizer run by TensorFlow at `precision`."""

    name = "tf"

    def __init__(self, model, precision=defaults.STYLIZE_PRECISION,
                 tile_size=defaults.STYLIZE_TILE_SIZE):
        self.model, self.precision, self.tile_size = model, precision, tile_size
        self._predict = fast_predictor.fast_style_bottleneck(model)
        self._kernels = fast.InferenceKernels(model, precision)
        self._graph = fast.fast_stylize(model, kernels=self._kernels)

    def style_bottleneck(self, style):
        return self._predict(tf.constant(as_image(style)[None])).numpy()

    def stylize(self, content, bottleneck, stream=None, tile_size=None):
        content = as_image(content)
        bottleneck = np.asarray(bottleneck, np.float32).reshape(1, -1)
        tile_size = self._tile_size(tile_size)
        if needs_tiling(content.shape[0], content.shape[1], tile_size):
            return tiled.stylize_tiled(self.model, content, bottleneck, tile_size,
                                       kernels=self._kernels, stream=stream)
        return self._graph(tf.constant(content[None]), tf.constant(bottleneck)).numpy()[0]
