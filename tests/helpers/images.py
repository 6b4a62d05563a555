"""Real photos and picture comparisons shared by the tests."""
import numpy as np


def photo(width, height, name="chelsea"):
    """A real photo (scikit-image's `data.<name>()`) resized to width x height: uint8
    [height, width, 3] (at the photo's own size, the photo itself)."""
    from PIL import Image
    from skimage import data

    return np.asarray(Image.fromarray(getattr(data, name)()).resize((width, height), Image.LANCZOS))


def psnr(a, b):
    """PSNR in dB of two uint8-range pictures of the same shape (peak 255); inf when equal."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)
