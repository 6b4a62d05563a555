"""What every engine offers (`Engine`), and when a content image is computed in tiles.

Images are float32 [H, W, 3] (or [1, H, W, 3]) in [0, 1]; bottlenecks numpy [1, D].
An engine is one class in a module of its own, registered in inference/engines.py's table.
"""
import numpy as np

from magenta_style import defaults
from magenta_style.inference import resize


def needs_tiling(height, width, tile_size=defaults.STYLIZE_TILE_SIZE):
    """Whether an H x W content image is computed in tiles: more than 4 tiles' worth of pixels
    (below that, tiling costs more time than its memory saves); tile_size 0: never."""
    return bool(tile_size) and height * width > 4 * tile_size * tile_size


def as_image(array):
    """float32 [H, W, 3] from [H, W, 3] or [1, H, W, 3]."""
    array = np.asarray(array, np.float32)
    if array.ndim == 4:
        if array.shape[0] != 1:
            raise ValueError(f"one image at a time, got a batch of {array.shape[0]}")
        array = array[0]
    return array


class Engine:
    """Runs a model's style predictor and transfer network on numpy pictures."""

    name = None
    tile_size = defaults.STYLIZE_TILE_SIZE

    def style_bottleneck(self, style):
        """Style image -> bottleneck [1, D] (numpy)."""
        raise NotImplementedError

    def stylize(self, content, bottleneck, stream=None, tile_size=None):
        """Content image + bottleneck [1, D] -> stylized [H, W, 3] (numpy); `stream` takes the
        progress lines of a tiled image; tile_size: this call's instead of the engine's (0:
        never tiled)."""
        raise NotImplementedError

    def identity_bottleneck(self, content, style_image_size=defaults.STYLE_IMAGE_SIZE,
                            square_crop=False):
        """The content's own style (Stylizer.identity_bottleneck): [1, D]."""
        content = as_image(content)
        if square_crop:
            content = resize.square_crop(content)
        return self.style_bottleneck(resize.shorter_side_bilinear(content, style_image_size))

    def _tile_size(self, tile_size):
        return self.tile_size if tile_size is None else tile_size
