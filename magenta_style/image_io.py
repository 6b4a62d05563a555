"""Reading messy real-world image files safely, and writing outputs atomically.

Every reader returns RGB; CMYK, grayscale, palette, alpha and 16-bit files are
converted, EXIF orientation is applied, and images beyond PIL's decompression
bomb limit are decoded at reduced size (JPEG draft mode) or refused with a
clear `ImageError` naming the file.
"""
import contextlib
import errno
import io
import os
import tempfile

import numpy as np
from PIL import Image, ImageFile, ImageOps

from magenta_style import defaults
from magenta_style.errors import MagentaStyleError, OutputExistsError, OutputWriteError

# Decoding more pixels than this is refused unless the decoder can shrink
# while decoding (JPEG draft); 4x PIL's default bomb limit.
MAX_DECODE_PIXELS = 4 * 89_478_485
# Image files by extension: every one Pillow reads here (image folders, the gallery, calibration
# images), and the subset TensorFlow's decode_image also reads (folders streamed into tf.data).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")
TF_IMAGE_EXTENSIONS = tuple(e for e in IMAGE_EXTENSIONS if e not in (".tif", ".tiff"))


class ImageError(MagentaStyleError, ValueError):
    """An image that cannot be used; str() is one readable line with the path."""

    def __init__(self, path, reason):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def _to_rgb(image):
    """Any PIL mode -> RGB (alpha composited on white, 16-bit scaled to 8-bit)."""
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if array.max() > 255 else 255.0
        array = np.clip(array / peak * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(array, "L").convert("RGB")
    if image.mode == "F":
        array = np.asarray(image, dtype=np.float64)
        scale = 255.0 if array.max() <= 1.0 else 1.0
        return Image.fromarray(np.clip(array * scale, 0, 255).astype(np.uint8), "L").convert("RGB")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")  # L, 1, P, CMYK, YCbCr, LAB, HSV


def open_rgb(source, max_shorter_side=None, name=None, max_pixels=None):
    """Opens an image file or bytes as an RGB PIL image.

    Args:
      source: path (str/PathLike) or encoded bytes.
      max_shorter_side: if set, the image is downscaled (aspect kept, Lanczos)
        so its shorter side is at most this; huge JPEGs are decoded reduced.
      name: how to call the image in errors (defaults to the path).
      max_pixels: images that would decode to more pixels are refused before decoding
        (default MAX_DECODE_PIXELS).
    Returns:
      PIL.Image in mode RGB.
    Raises:
      ImageError: unreadable, not an image, truncated, or too large.
    """
    label = name or (source if not isinstance(source, (bytes, bytearray)) else "<bytes>")
    try:
        stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else open(source, "rb")
    except FileNotFoundError:
        raise ImageError(label, "file not found") from None
    except IsADirectoryError:
        raise ImageError(label, "is a directory, not an image file") from None
    except OSError as error:
        raise ImageError(label, f"cannot open ({error.strerror or error})") from None
    with stream:
        saved_limit = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None  # we check sizes ourselves, below
        try:
            image = Image.open(stream)
            width, height = image.size
            if max_shorter_side and image.format == "JPEG":
                # Decode at 1/2, 1/4 or 1/8 scale when that still covers the target.
                scale = max_shorter_side / min(width, height)
                if scale < 1:
                    image.draft("RGB", (int(width * scale) + 1, int(height * scale) + 1))
            decoded_pixels = image.size[0] * image.size[1]
            if decoded_pixels > (max_pixels or MAX_DECODE_PIXELS):
                raise ImageError(label, f"image too large to decode ({width}x{height} pixels)")
            ImageFile.LOAD_TRUNCATED_IMAGES = False
            image.load()
            image = ImageOps.exif_transpose(image)
            image = _to_rgb(image)
        except ImageError:
            raise
        except Image.DecompressionBombError as error:
            raise ImageError(label, f"image too large to decode ({error})") from None
        except (OSError, SyntaxError, ValueError) as error:
            reason = str(error) or type(error).__name__
            lowered = reason.lower()  # PIL says "Truncated File Read", "image file is truncated"
            if "cannot identify image file" in reason:
                reason = "not an image file (unknown format)"
            elif "truncated" in lowered or "broken data stream" in lowered:
                reason = "truncated or corrupt image data"
            raise ImageError(label, reason) from None
        finally:
            Image.MAX_IMAGE_PIXELS = saved_limit
    if max_shorter_side and min(image.size) > max_shorter_side:
        image = resize_shorter_side_lanczos(image, max_shorter_side)
    return image


def load_prepared(source, size, square_crop, name=None, max_pixels=None):
    """Image file or bytes -> float32 [H, W, 3] in [0, 1] (see prepare_image), as
    magenta-stylize reads its inputs. Raises ImageError."""
    return prepare_image(open_rgb(source, max_shorter_side=size or None, name=name,
                                  max_pixels=max_pixels), size, square_crop)


def prepare_image(image, size, square_crop):
    """PIL RGB image -> float32 [H, W, 3] in [0, 1], centrally square-cropped if asked and
    its shorter side resized to `size` (0 keeps the size)."""
    if square_crop:
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        image = image.crop((left, top, left + side, top + side))
    if size and min(image.size) != size:
        image = resize_shorter_side_lanczos(image, size)
    return np.asarray(image, np.float32) / 255.0


def resize_shorter_side_lanczos(image, size):
    """PIL image -> PIL image whose shorter side is `size` (aspect kept), Lanczos: how the CLIs
    prepare files (training and identity_bottleneck resize tensors bilinearly:
    data.image_ops.resize_shorter_side_bilinear)."""
    width, height = image.size
    scale = size / min(width, height)
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(new_size, Image.LANCZOS)


def load_image(source, max_shorter_side=None, name=None):
    """Image file or bytes -> float32 array [H, W, 3] in [0, 1]."""
    image = open_rgb(source, max_shorter_side=max_shorter_side, name=name)
    return np.asarray(image, dtype=np.float32) / 255.0


def to_uint8(array):
    """Float array in [0, 1] (any leading batch of 1 dropped) -> uint8 [H, W, 3]."""
    array = np.asarray(array)
    if array.ndim == 4:
        if array.shape[0] != 1:
            raise ValueError(f"expected one image, got a batch of {array.shape[0]}")
        array = array[0]
    return np.clip(array * 255.0 + 0.5, 0, 255).astype(np.uint8)


def current_umask():
    """The process umask (reading it means setting it; restored at once)."""
    umask = os.umask(0)
    os.umask(umask)
    return umask


# errno values meaning "no room for the write": disk or quota full, or the file size limit.
STORAGE_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def storage_full_reason(error):
    """'No space left on device' (or the quota's, the size limit's words) when `error` is a
    write that failed for want of room, else None: an OSError by its errno, a TensorFlow op
    error by its text (TensorFlow is not imported here)."""
    if isinstance(error, OSError):
        if error.errno in STORAGE_FULL_ERRNOS:
            return error.strerror or os.strerror(error.errno)
        return None
    if type(error).__module__.startswith("tensorflow"):
        text = str(error)
        return next((os.strerror(code) for code in sorted(STORAGE_FULL_ERRNOS)
                     if os.strerror(code) in text), None)
    return None


@contextlib.contextmanager
def atomic_path(path, overwrite=False):
    """Yields a temporary path beside `path`; renames it over `path` on success.

    Refuses (FileExistsError) when `path` exists and not `overwrite`. On error
    the temporary file is removed and `path` is untouched; a write that fails for
    want of room (disk full, quota, file size limit) is OutputWriteError naming `path`.
    """
    path = os.fspath(path)
    existed = os.path.exists(path)
    if existed and not overwrite:
        raise OutputExistsError(f"{path}: already exists (use overwrite to replace it)")
    directory = os.path.dirname(os.path.abspath(path))
    suffix = os.path.splitext(path)[1]
    try:
        os.makedirs(directory, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=directory)
    except OSError as error:  # a full disk may refuse even the empty file (no inodes left)
        reason = storage_full_reason(error)
        if reason:
            raise OutputWriteError(path, reason, kept=existed) from None
        raise
    os.close(handle)
    try:
        os.chmod(temporary, 0o666 & ~current_umask())  # mkstemp's 0600 would stick to the output
        yield temporary
        os.replace(temporary, path)
    except Exception as error:  # pylint: disable=broad-except  # re-raised unless out of room
        reason = storage_full_reason(error)
        if reason:
            raise OutputWriteError(path, reason, kept=existed) from None
        raise
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def save_image(array, path, overwrite=False, quality=defaults.JPEG_QUALITY):
    """Writes a [H, W, 3] float [0, 1] or uint8 image as PNG/JPEG, atomically."""
    array = np.asarray(array)
    pixels = array if array.dtype == np.uint8 else to_uint8(array)
    if pixels.ndim == 4:
        pixels = pixels[0]
    image = Image.fromarray(pixels, "RGB")
    image_format = "JPEG" if os.path.splitext(path)[1].lower() in (".jpg", ".jpeg") else "PNG"
    with atomic_path(path, overwrite=overwrite) as temporary:
        options = ({"quality": quality} if image_format == "JPEG"
                   else {"compress_level": defaults.PNG_COMPRESS_LEVEL})
        image.save(temporary, format=image_format, **options)
    return path


def image_grid(rows, pad=4, background=1.0):
    """Lays out a list of rows of [H, W, 3] float images (None = blank) on one canvas.

    Cells are top-left aligned in a grid sized by the largest image in each
    row / column. Returns float32 [H_total, W_total, 3] in [0, 1].
    """
    num_columns = max(len(row) for row in rows)
    heights = [max((img.shape[0] for img in row if img is not None), default=0) for row in rows]
    widths = [max((row[c].shape[1] for row in rows if c < len(row) and row[c] is not None), default=0)
              for c in range(num_columns)]
    canvas = np.full((sum(heights) + pad * (len(rows) + 1),
                      sum(widths) + pad * (num_columns + 1), 3), background, np.float32)
    top = pad
    for row, height in zip(rows, heights):
        left = pad
        for column, width in enumerate(widths):
            if column < len(row) and row[column] is not None:
                image = np.asarray(row[column], np.float32)
                canvas[top:top + image.shape[0], left:left + image.shape[1]] = image[..., :3]
            left += width + pad
        top += height + pad
    return canvas


def _is_plain_rgb_jpeg(data, max_shorter_side):
    """True when `data` may be stored as is: an RGB JPEG, small enough, upright."""
    with Image.open(io.BytesIO(data)) as image:
        orientation = image.getexif().get(0x0112, 1)  # EXIF Orientation tag
        small = not max_shorter_side or min(image.size) <= max_shorter_side
        return image.format == "JPEG" and image.mode == "RGB" and small and orientation == 1


def encode_rgb_jpeg(source, max_shorter_side=None, quality=defaults.JPEG_QUALITY, name=None):
    """Any image file -> (RGB JPEG bytes, width, height), shorter side bounded.

    An already compliant file (RGB JPEG, upright, within the bound, decodable)
    is returned byte for byte, avoiding a lossy re-encode; anything else is
    decoded with `open_rgb` and re-encoded. Needs no TensorFlow, so it is
    cheap to run in worker processes.
    Raises:
      ImageError: as `open_rgb`.
    """
    label = name or source
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        try:
            with open(source, "rb") as stream:
                data = stream.read()
        except OSError as error:
            raise ImageError(label, f"cannot read ({error.strerror or error})") from None
    image = open_rgb(data, max_shorter_side=max_shorter_side, name=label)  # validates fully
    if _is_plain_rgb_jpeg(data, max_shorter_side):
        return data, image.size[0], image.size[1]
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue(), image.size[0], image.size[1]
