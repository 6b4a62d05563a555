"""Making a picture from an engine: the one function every tool stylizes with
(magenta-stylize, magenta-stylize-video, the web page, the demo), so that their pictures agree.

    style = pictures.style_of([engine.style_bottleneck(a), engine.style_bottleneck(b)], [0.7, 0.3])
    picture = pictures.stylize_picture(engine, content, style, strength=0.5, preserve_colors=True)
"""
from magenta_style import bottlenecks
from magenta_style.inference import color, resize


def style_of(style_bottlenecks, blend_weights=None):
    """The style of one image ([bottleneck] and no weights) or the blend of several: [1, D].
    Raises BlendWeightsError for weights that do not fit."""
    if blend_weights is None:
        if len(style_bottlenecks) != 1:
            raise ValueError(f"{len(style_bottlenecks)} styles need blend weights")
        return style_bottlenecks[0]
    return bottlenecks.blend(style_bottlenecks, blend_weights)


def stylize_picture(engine, content, style, *, strength=1.0, preserve_colors=False,
                    shorter_side=0, identity=None, tile_size=None, stream=None):
    """The stylized picture: float32 [h, w, 3] in [0, 1].

    Args:
      engine: an inference/engine.Engine (engines.load_engine).
      content: float32 [H, W, 3] in [0, 1].
      style: bottleneck [1, D] (`style_of`).
      strength: identity interpolation weight in [0, 1]: 1 the full style, 0 the content's own.
      preserve_colors: the content's colours (luminance transfer, inference/color.py).
      shorter_side: the content's shorter side is resized to this first (Lanczos); 0 keeps it.
      identity: a callable returning the content's own bottleneck (a caller's cache); default
        engine.identity_bottleneck(content). Called only when strength < 1.
      tile_size, stream: engine.stylize's (tiling, progress lines of a tiled picture).
    """
    content = resize.shorter_side_lanczos(content, shorter_side)
    bottleneck = bottlenecks.with_strength(
        style, strength, identity or (lambda: engine.identity_bottleneck(content)))
    stylized = engine.stylize(content, bottleneck, stream, tile_size)
    return color.preserve_colors(stylized, content) if preserve_colors else stylized
