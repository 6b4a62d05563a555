"""Tiled inference equals the untiled transfer network (whole-image instance-norm statistics)."""
import io

import numpy as np
import pytest
import tensorflow as tf

from magenta_style.inference import tiled
from magenta_style.inference.engine import needs_tiling


@pytest.mark.parametrize("alpha, height, width, tile_size", [
    (0.25, 64, 96, 32),   # divisible by 4, aligned tiles
    (0.25, 45, 62, 18),   # odd sizes (output cropped), tile rounded down to 16
    (0.25, 37, 29, 12),   # tiles of 3 px at stride 4: halos wider than a tile
    (1.0, 50, 43, 24),    # full width
])
def test_tiled_equals_untiled(models, alpha, height, width, tile_size):
    model = models[alpha]
    rng = np.random.default_rng(height)
    content = rng.random((height, width, 3), dtype=np.float32)
    bottleneck = model.style_bottleneck(tf.constant(rng.random((1, 64, 64, 3), dtype=np.float32)))
    untiled = model.stylize(content[None], bottleneck).numpy()[0]
    stream = io.StringIO()
    out = tiled.stylize_tiled(model, content, bottleneck, tile_size=tile_size, stream=stream)
    assert out.shape == (height, width, 3) and out.dtype == np.float32
    assert untiled.std() > 0.1  # a picture with detail (measured 0.19-0.30)
    # Measured max abs 3.5e-6 to 9.4e-6 (float32 rounding of the same statistics).
    assert np.abs(out - untiled).max() <= 3e-5
    last = stream.getvalue().splitlines()[-1]  # one line at the end (interval default)
    assert last.startswith(f"tiled {width}x{height}: ") and "(100.0%)" in last, last


def test_one_image_at_a_time(models):
    with pytest.raises(ValueError, match="one image"):
        tiled.stylize_tiled(models[0.25], np.zeros((2, 8, 8, 3), np.float32),
                            np.zeros((1, 100), np.float32))
    with pytest.raises(ValueError, match="H, W >= 5"):
        tiled.stylize_tiled(models[0.25], np.zeros((4, 8, 3), np.float32),
                            np.zeros((1, 100), np.float32))


def test_needs_tiling():
    assert not needs_tiling(1024, 1024, tile_size=512)
    assert needs_tiling(1025, 1024, tile_size=512)
    assert not needs_tiling(100_000, 100_000, tile_size=0)
