"""Image ops of the pipelines on encoded bytes and tensors: checks, decoding, crops, resizes, colour jitter.

Each op works eagerly and inside `tf.data.Dataset.map` (tested both ways).
"""
import tensorflow as tf

from magenta_style import defaults


def _starts_with(data, prefix):
    return tf.equal(tf.strings.substr(data, 0, len(prefix)), prefix)


def _ends_with(data, suffix, skip=0):
    return tf.equal(tf.strings.substr(data, -len(suffix) - skip, len(suffix)), suffix)


def _png_pixels(image_bytes):
    """Width * height from a PNG's IHDR chunk (bytes 16-23, big-endian)."""
    digits = tf.cast(tf.io.decode_raw(tf.strings.substr(image_bytes, 16, 8), tf.uint8), tf.int64)
    weights = tf.constant([1 << 24, 1 << 16, 1 << 8, 1], tf.int64)
    return tf.reduce_sum(digits[:4] * weights) * tf.reduce_sum(digits[4:] * weights)


def is_complete_image(image_bytes, max_pixels=defaults.PIPELINE_MAX_DECODE_PIXELS):
    """bool scalar: the bytes look like a whole JPEG/PNG/GIF/BMP/WebP file.

    Checks signatures and, for JPEG and PNG, the end marker, which catches
    empty, garbage and truncated records before decode_image would raise; a
    PNG claiming more than max_pixels is refused before allocating it.
    """
    def check():
        jpeg = _starts_with(image_bytes, b"\xff\xd8\xff") & _ends_with(image_bytes, b"\xff\xd9")
        png = (_starts_with(image_bytes, b"\x89PNG\r\n\x1a\n")
               & _ends_with(image_bytes, b"IEND", skip=4)  # IEND precedes its 4-byte CRC
               & (_png_pixels(image_bytes) <= max_pixels))
        others = (_starts_with(image_bytes, b"GIF8") | _starts_with(image_bytes, b"BM")
                  | (_starts_with(image_bytes, b"RIFF")
                     & tf.equal(tf.strings.substr(image_bytes, 8, 4), b"WEBP")))
        return jpeg | png | others
    return tf.cond(tf.strings.length(image_bytes) >= 24, check, lambda: tf.constant(False))


def _decode_whole(image_bytes, valid):
    """uint8 [H, W, 3] of bytes that passed is_complete_image; 1x1 black if not valid."""
    def decode():
        return tf.io.decode_image(image_bytes, channels=3, expand_animations=False)
    image = tf.cond(valid, decode, lambda: tf.zeros([1, 1, 3], tf.uint8))
    image.set_shape([None, None, 3])
    return image


def decode_image(image_bytes):
    """Encoded bytes -> (uint8 [H, W, 3], valid bool scalar).

    Gray becomes RGB, alpha is dropped, CMYK JPEGs are converted. An invalid
    record yields a 1x1 black image and valid=False (filter on it). Stays
    uint8: resizing casts anyway, and only the crop needs scaling to [0, 1].
    """
    valid = is_complete_image(image_bytes)
    return _decode_whole(image_bytes, valid), valid


def _crop_window(image, window):
    """[H, W, C] -> the window (top, left, height, width) int32 [4]."""
    return image[window[0]:window[0] + window[2], window[1]:window[1] + window[3]]


def decode_crops(image_bytes, windows_fn):
    """Encoded bytes -> (tuple of N uint8 [h_i, w_i, 3] crops, valid bool scalar).

    windows_fn(height, width) -> int32 [N, 4] windows (top, left, height,
    width) inside an image of that size. A JPEG is decoded only over the
    bounding box of the windows (tf.io.decode_and_crop_jpeg; its size comes
    from the header): the same pixels as slicing decode_image's result except
    the outermost 1-2 rows/columns of a window, which may differ by a few levels
    (chroma upsampling at its edge); other formats are decoded whole, then sliced. Invalid bytes give 1x1 black
    crops and valid=False, as decode_image.
    """
    valid = is_complete_image(image_bytes)
    is_jpeg = tf.logical_and(valid, _starts_with(image_bytes, b"\xff\xd8\xff"))

    def from_jpeg():
        shape = tf.io.extract_jpeg_shape(image_bytes)
        windows = windows_fn(shape[0], shape[1])
        start = tf.reduce_min(windows[:, :2], 0)
        box = tf.concat([start, tf.reduce_max(windows[:, :2] + windows[:, 2:], 0) - start], 0)
        image = tf.io.decode_and_crop_jpeg(image_bytes, box, channels=3)
        return image, windows - tf.pad(start, [[0, 2]])[None]

    def from_whole():
        image = _decode_whole(image_bytes, valid)
        shape = tf.shape(image)
        return image, windows_fn(shape[0], shape[1])
    image, windows = tf.cond(is_jpeg, from_jpeg, from_whole)
    image.set_shape([None, None, 3])
    return tuple(_crop_window(image, window) for window in tf.unstack(windows)), valid


def _unit_float(image, source_dtype):
    """Float pixels in the units of `source_dtype` -> float32 in [0, 1]."""
    if source_dtype.is_integer:
        return tf.cast(image, tf.float32) / float(source_dtype.max)
    return tf.cast(image, tf.float32)


def _shorter_side_shape(height, width, size):
    """int32 [2]: an image's height, width after resizing its shorter side to `size`."""
    height, width = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    scale = tf.cast(size, tf.float32) / tf.minimum(height, width)
    return tf.maximum(tf.cast(tf.math.rint(tf.stack([height, width]) * scale), tf.int32), 1)


def resize_shorter_side_bilinear(image, size):
    """[H, W, C] or [B, H, W, C] -> shorter side `size` (int or scalar), aspect kept, bilinear
    (Magenta's training preprocessing; files for the CLIs: image_io.resize_shorter_side_lanczos)."""
    shape = tf.shape(image)
    return tf.image.resize(image, _shorter_side_shape(shape[-3], shape[-2], size),
                           method="bilinear")


def central_crop(image, size):
    """[H, W, C] with H, W >= size -> central [size, size, C]."""
    shape = tf.shape(image)
    top, left = (shape[0] - size) // 2, (shape[1] - size) // 2
    return image[top:top + size, left:left + size, :]


def preprocess_content_image(image, image_size):
    """Reference content preprocessing: shorter side -> S + 2, central S x S crop.

    image: uint8 or [0, 1] float [H, W, 3] -> float32 [S, S, 3] in [0, 1].
    Evaluation pipelines use it; training uses the cheaper
    decode_content_image (same up to a sub-pixel shift).
    """
    crop = central_crop(resize_shorter_side_bilinear(image, image_size + 2), image_size)
    return tf.ensure_shape(_unit_float(crop, image.dtype), [image_size, image_size, 3])


def _resize_crop(crop, image_size):
    """uint8 or [0, 1] float [h, w, 3] -> float32 [S, S, 3] in [0, 1], bilinear."""
    resized = tf.image.resize(crop, [image_size, image_size])
    return tf.ensure_shape(_unit_float(resized, crop.dtype), [image_size, image_size, 3])


def central_window(height, width, image_size):
    """int32 [4] (top, left, height, width): the source pixels that the reference
    central crop keeps (shorter side -> S + 2, central S x S), to the nearest
    source pixel; resizing just them to S x S gives the same crop up to that
    sub-pixel shift."""
    source = tf.stack([height, width])
    resized = _shorter_side_shape(height, width, image_size + 2)
    per_pixel = tf.cast(source, tf.float32) / tf.cast(resized, tf.float32)  # source px per px
    extent = tf.cast(tf.math.rint(image_size * per_pixel), tf.int32)
    extent = tf.clip_by_value(extent, 1, source)
    start = tf.cast(tf.math.rint(tf.cast((resized - image_size) // 2, tf.float32) * per_pixel),
                    tf.int32)
    return tf.concat([tf.clip_by_value(start, 0, source - extent), extent], 0)


def random_style_window(height, width, image_size, seed,
                        random_size_extra=defaults.STYLE_RANDOM_SIZE_EXTRA):
    """int32 [4] (top, left, side, side): the source pixels of the reference
    random S x S crop of the image resized to a random shorter side in
    [S + 2, S + extra). seed: int [2] (stateless)."""
    seeds = tf.random.experimental.stateless_split(seed, num=3)
    target = tf.random.stateless_uniform([], seeds[0], minval=image_size + 2,
                                         maxval=image_size + random_size_extra, dtype=tf.int32)
    shorter = tf.minimum(height, width)
    side = tf.cast(tf.math.rint(image_size * tf.cast(shorter, tf.float32)
                                / tf.cast(target, tf.float32)), tf.int32)
    side = tf.clip_by_value(side, 1, shorter)
    top = tf.random.stateless_uniform([], seeds[1], 0, height - side + 1, dtype=tf.int32)
    left = tf.random.stateless_uniform([], seeds[2], 0, width - side + 1, dtype=tf.int32)
    return tf.stack([top, left, side, side])


def decode_content_image(image_bytes, image_size):
    """Encoded bytes -> (float32 [S, S, 3] in [0, 1], valid): the reference
    content preprocessing (preprocess_content_image of the decoded image) up to
    a sub-pixel shift (mean |diff| ~0.01 on photos), decoding and resizing only
    the central window."""
    (crop,), valid = decode_crops(
        image_bytes, lambda height, width: central_window(height, width, image_size)[None])
    return _resize_crop(crop, image_size), valid


def decode_central_crop(image_bytes, image_size, exact):
    """Encoded bytes -> (float32 [S, S, 3] in [0, 1], valid), the reference central crop.

    exact: decode the whole image and resize it exactly as the reference
    (evaluation: numbers must compare with other implementations); else the
    cheaper decode_content_image (training, where a sub-pixel shift is noise).
    """
    if not exact:
        return decode_content_image(image_bytes, image_size)
    image, valid = decode_image(image_bytes)
    return preprocess_content_image(image, image_size), valid


def preprocess_style_image(image, image_size, center_crop=True):
    """Un-augmented style image -> float32 [S, S, 3]: central crop, or a plain resize."""
    if center_crop:
        return preprocess_content_image(image, image_size)
    return _resize_crop(image, image_size)


def style_jitter_params(batch_size, seed,
                        brightness_max_delta=defaults.STYLE_BRIGHTNESS_MAX_DELTA,
                        saturation_range=defaults.STYLE_SATURATION_RANGE,
                        hue_max_delta=defaults.STYLE_HUE_MAX_DELTA):
    """Per-image random colour jitter and flips, as tf.image.stateless_random_*.

    Returns float32 [B] "brightness" (delta), "saturation" (factor), "hue"
    (delta) and bool [B] "flip_left_right", "flip_up_down". seed: int [2].
    """
    seeds = tf.random.experimental.stateless_split(seed, num=5)

    def uniform(index, low, high):
        return tf.random.stateless_uniform([batch_size], seeds[index], low, high)
    return {"brightness": uniform(0, -brightness_max_delta, brightness_max_delta),
            "saturation": uniform(1, *saturation_range),
            "hue": uniform(2, -hue_max_delta, hue_max_delta),
            "flip_left_right": uniform(3, 0.0, 1.0) < 0.5,
            "flip_up_down": uniform(4, 0.0, 1.0) < 0.5}


def _hsv_channel(share, saturation, value):
    """One RGB channel from its hue share (unclipped) as tf.image.hsv_to_rgb, clipped to [0, 1]."""
    share = tf.clip_by_value(share, 0.0, 1.0)
    return tf.clip_by_value(((share - 1.0) * saturation + 1.0) * value, 0.0, 1.0)


@tf.function(jit_compile=True, autograph=False)
def apply_style_jitter(images, params):
    """[B, H, W, 3] float in [0, 1] -> jittered, clipped to [0, 1], flipped.

    Same as tf.image.adjust_brightness, adjust_saturation, adjust_hue, clip
    and flips per image (up to float rounding), but one HSV round trip written
    as elementwise math and fused by XLA (per 256 x 256 image in tf.data on
    one CPU: ~0.4 ms, versus ~2.9 ms for the tf.image.stateless_random_* ops).
    """
    images = images + params["brightness"][:, None, None, None]
    red, green, blue = tf.unstack(images, axis=-1)
    value = tf.maximum(tf.maximum(red, green), blue)
    chroma = value - tf.minimum(tf.minimum(red, green), blue)
    saturation = tf.where(value > 0.0, chroma / tf.where(value > 0.0, value, 1.0), 0.0)
    safe_chroma = tf.where(chroma > 0.0, chroma, 1.0)
    hue = tf.where(value == red, (green - blue) / safe_chroma,
                   tf.where(value == green, (blue - red) / safe_chroma + 2.0,
                            (red - green) / safe_chroma + 4.0)) / 6.0
    hue = tf.where(chroma > 0.0, hue, 0.0) + params["hue"][:, None, None]
    hue6 = 6.0 * (hue - tf.floor(hue))
    saturation = tf.clip_by_value(saturation * params["saturation"][:, None, None], 0.0, 1.0)
    images = tf.stack([_hsv_channel(tf.abs(hue6 - 3.0) - 1.0, saturation, value),
                       _hsv_channel(2.0 - tf.abs(hue6 - 2.0), saturation, value),
                       _hsv_channel(2.0 - tf.abs(hue6 - 4.0), saturation, value)], -1)
    images = tf.where(params["flip_left_right"][:, None, None, None],
                      tf.reverse(images, [2]), images)
    return tf.where(params["flip_up_down"][:, None, None, None], tf.reverse(images, [1]), images)


def jitter_style_images(images, seed, **jitter_ranges):
    """[B, H, W, 3] float in [0, 1] -> random brightness, saturation, hue and
    flips per image (style_jitter_params ranges), in [0, 1]. seed: int [2]."""
    return apply_style_jitter(images, style_jitter_params(tf.shape(images)[0], seed,
                                                          **jitter_ranges))


def style_size_buckets(count, size_range=defaults.RANDOM_STYLE_IMAGE_SIZE_RANGE):
    """`count` sizes standing for the uniform [low, high): the centres of `count` equal bins.

    8 -> (139, 160, 182, 203, 225, 246, 268, 289): mean 214 (the reference's
    213.5), 2.1x from smallest to largest (its 2.3x), neighbours <= 16 % apart.
    """
    low, high = size_range
    if not 1 <= count <= high - low:
        raise ValueError(f"style size buckets must be between 1 and {high - low}, got {count}")
    width = (high - low) / count
    return tuple(int(low + width * (index + 0.5) + 0.5) for index in range(count))


def random_batch_size_resize(images, seed, size_range=defaults.RANDOM_STYLE_IMAGE_SIZE_RANGE,
                             buckets=()):
    """[B, H, W, 3] -> shorter side a random int in [low, high) (one size per batch).

    buckets: optional sizes to draw from instead (uniformly), so compiled steps
    see only len(buckets) shapes (see style_size_buckets).
    """
    if buckets:
        index = tf.random.stateless_uniform([], seed, minval=0, maxval=len(buckets),
                                            dtype=tf.int32)
        size = tf.gather(tf.constant(buckets, tf.int32), index)
    else:
        size = tf.random.stateless_uniform([], seed, minval=size_range[0], maxval=size_range[1],
                                           dtype=tf.int32)
    return resize_shorter_side_bilinear(images, size)
