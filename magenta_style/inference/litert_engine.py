"""The `litert` engine: the model's float32 TFLite files (inference/litert_files.py) run by
LiteRT through XNNPACK, without TensorFlow: whole pictures by the predict / transfer pair,
large ones in tiles (inference/tiled.py with inference/litert_tiles.py's layers)."""
import threading

from magenta_style import defaults, litert
from magenta_style.inference import tiled
from magenta_style.inference.cpu import num_threads_default
from magenta_style.inference.engine import Engine, as_image, needs_tiling
from magenta_style.inference.litert_tiles import LiteRTTileLayers


class LiteRTEngine(Engine):
    """One call at a time runs the interpreters (a lock: the web app's threads share an
    engine)."""

    name = "litert"

    def __init__(self, predict_path, transfer_path, tiles_path, tile_arrays_path,
                 tile_size=defaults.STYLIZE_TILE_SIZE, num_threads=None):
        threads = num_threads or num_threads_default()
        self._predict = litert.load_interpreter(predict_path, threads, allocate=False)
        self._transfer = litert.load_interpreter(transfer_path, threads, allocate=False)
        self._tiles = LiteRTTileLayers(tiles_path, tile_arrays_path, threads)
        # Allocated now at the usual style size: XNNPACK is set up (and says so) here.
        side = defaults.STYLE_IMAGE_SIZE
        litert.allocate(self._predict, {litert.STYLE_IMAGE: (1, side, side, 3)})
        self._lock = threading.Lock()
        self.tile_size = tile_size

    def style_bottleneck(self, style):
        with self._lock:
            bottleneck = litert.style_bottleneck(self._predict, as_image(style)[None])
            return bottleneck.reshape(1, -1).copy()

    def stylize(self, content, bottleneck, stream=None, tile_size=None):
        content = as_image(content)
        tile_size = self._tile_size(tile_size)
        with self._lock:
            if needs_tiling(*content.shape[:2], tile_size):
                return tiled.stylize_tiles(self._tiles, content, bottleneck, tile_size, stream)
            return litert.stylize(self._transfer, content[None], bottleneck)[0].copy()
