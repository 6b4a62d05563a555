"""Shorter-side resizes of float32 pictures [H, W, 3] in numpy (no TensorFlow).

- `shorter_side_bilinear`: what data/image_ops.resize_shorter_side_bilinear computes with
  tf.image.resize (half-pixel centres, no antialiasing): the engines' identity style, exact.
- `shorter_side_lanczos`: Pillow's Lanczos through 8 bits, as image files are prepared
  (image_io.prepare_image): video frames, webcam frames, thumbnails.
"""
import numpy as np
from PIL import Image

from magenta_style import image_io


def _resize_axis(image, axis, size):
    """tf.image.resize's bilinear (half-pixel centres, no antialiasing) along one axis."""
    length = image.shape[axis]
    scale = np.float32(length) / np.float32(size)
    source = (np.arange(size, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
    floor = np.floor(source)
    lower = np.maximum(floor, 0).astype(np.int64)
    upper = np.minimum(np.ceil(source), length - 1).astype(np.int64)
    lerp = (source - floor).astype(np.float32)
    shape = [1] * image.ndim
    shape[axis] = size
    lerp = lerp.reshape(shape)
    low, high = np.take(image, lower, axis), np.take(image, upper, axis)
    return low + (high - low) * lerp


def shorter_side_size(height, width, size):
    """(new height, new width) with the shorter side at `size`, aspect kept (float32 maths,
    as data/image_ops computes it)."""
    scale = np.float32(size) / np.float32(min(height, width))
    return tuple(max(int(np.rint(np.float32(n) * scale)), 1) for n in (height, width))


def shorter_side_bilinear(image, size):
    """float32 [H, W, 3] with its shorter side resized to `size`, bilinear."""
    new = shorter_side_size(*image.shape[:2], size)
    return _resize_axis(_resize_axis(image, 0, new[0]), 1, new[1]).astype(np.float32)


def shorter_side_lanczos(image, size):
    """float32 [H, W, 3] in [0, 1] with its shorter side resized to `size` (Lanczos, through
    uint8 like a file read at that size); returned as it is when it already has that size
    or `size` is 0."""
    if not size or min(image.shape[:2]) == size:
        return image
    picture = image_io.resize_shorter_side_lanczos(Image.fromarray(image_io.to_uint8(image)), size)
    return np.asarray(picture, np.float32) / np.float32(255.0)


def square_crop(image):
    """The central square of [H, W, ...] (the shorter side's)."""
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return image[top:top + side, left:left + side]
