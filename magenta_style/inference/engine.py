"""A loaded model ready to stylize pictures: what magenta-stylize and the web page both run.

    engine = load_engine("pretrained:mobile")
    style = engine.style_bottleneck(painting)          # float32 [h, w, 3] in [0, 1] -> [1, 100]
    picture = engine.stylize(photo, style)             # float32 [H, W, 3] in [0, 1]

`load_engine` is the one place where a model spec becomes something that runs; every tool
that stylizes images goes through it. The style predictor runs as inference/fast_predictor.py's
folded graph, the transfer network as inference/fast.py's graph, or in tiles
(inference/tiled.py, exact, bounded memory) for photos of more than 4 tile_size^2 pixels.
"""
from magenta_style import defaults
from magenta_style.inference import color, fast, fast_predictor, tiled


class ImageEngine:
    """A Stylizer's fast inference graphs, built once.

    Args:
      model: a Stylizer (weights.load_model).
      precision: of the transfer network's convolutions ('float32' or 'bfloat16').
    """

    def __init__(self, model, precision=defaults.STYLIZE_PRECISION):
        self.model = model
        self.precision = precision
        self._predict = fast_predictor.fast_style_bottleneck(model)
        self._kernels = fast.InferenceKernels(model, precision)
        self._graph = fast.fast_stylize(model, kernels=self._kernels)

    def style_bottleneck(self, style):
        """float32 [h, w, 3] in [0, 1] -> its style bottleneck, a tensor [1, 100]."""
        import tensorflow as tf

        return self._predict(tf.constant(style[None]))

    def identity_bottleneck(self, content, style_image_size=defaults.STYLE_IMAGE_SIZE,
                            square_crop=False):
        """The content's own style (identity interpolation's 0): [H, W, 3] -> [1, 100]."""
        import tensorflow as tf

        return self.model.identity_bottleneck(tf.constant(content[None]), style_image_size,
                                              square_crop)

    def stylize(self, content, bottleneck, tile_size=defaults.STYLIZE_TILE_SIZE, stream=None):
        """float32 [H, W, 3] in [0, 1] and a bottleneck [1, 100] -> float32 [H, W, 3].

        Tiled (same result, bounded memory) when the content has more than 4 tile_size^2
        pixels; tile_size 0 never tiles. `stream` takes the tiled path's progress lines.
        """
        import tensorflow as tf

        if tiled.needs_tiling(content.shape[0], content.shape[1], tile_size):
            return tiled.stylize_tiled(self.model, content, bottleneck, tile_size,
                                       kernels=self._kernels, stream=stream)
        return self._graph(tf.constant(content[None]), bottleneck).numpy()[0]


def strength_bottleneck(style, weight, identity):
    """The bottleneck for style strength `weight` (identity interpolation): `style` itself at 1,
    else (1 - weight) * identity() + weight * style; `identity` is called only when needed."""
    if weight == 1.0:
        return style
    from magenta_style.nets.stylizer import interpolate_bottlenecks

    return interpolate_bottlenecks(identity(), style, [weight])


def finish(stylized, content, preserve_colors):
    """The stylized picture, with the content's colours when asked (luminance transfer)."""
    return color.preserve_colors(stylized, content) if preserve_colors else stylized


def load_engine(model_spec, precision=defaults.STYLIZE_PRECISION):
    """Model spec (see magenta-stylize --model) -> ImageEngine."""
    from magenta_style.weights import load_model

    return ImageEngine(load_model(model_spec), precision)
