"""Stylizing an image of any size in bounded memory: the transfer network in tiles, exactly.

Every conditional instance norm needs the mean and variance of its input over
the whole image, so cutting the image into independent tiles gives seams. Here
the network is computed tile by tile with halos that cover each layer's
receptive field, and every normalized layer first gets its per-channel sum and
sum of squares (float64) from a pass over the tiles; the output equals the
untiled network's to float32 rounding (tests/inference/test_tiled.py).

Memory: the stride-4 activation of the residual blocks, H4 x W4 x 128 alpha
float32 with H4 = ceil(H / 4), is kept whole, in three buffers of that size
(the residual input, and a scratch twice its size that holds a block's two
convolutions, then expand/conv1's H/2 output, which has the same size).
Everything at full resolution exists only one tile (plus halo) at a time:
expand/conv2 and conv3 are recomputed from the stored expand/conv1 output for
their statistics passes. The convolutions are inference/fast.py's (same
weights, faster formulation); peak memory is measured in BENCHMARKS.md.
Reflect padding happens only at the true image borders; inside the image a
tile reads its neighbours' pixels, so stride-2 convolutions and the x2
upsamplings see exactly what they see untiled, for any H and W.

Geometry (nets/transfer.py): the network runs on the content as it is;
contract/conv2 and conv3 (reflect pad 1, 3x3, stride 2) give ceil(H/2) and
H4 = ceil(ceil(H/2)/2), the upsamplings 2 H4 and 4 H4, and the output is cropped
top-left to H x W.
"""
import numpy as np
import tensorflow as tf

from magenta_style import defaults
from magenta_style.inference import fast
from magenta_style.inference.engines import needs_tiling  # noqa: F401  (where engines choose)
from magenta_style.nets import transfer
from magenta_style.progress import Progress


class _Stored:
    """An activation held whole: numpy float32 [H, W, C]."""

    def __init__(self, array):
        self.array = array
        self.shape = array.shape[:2]

    def region(self, rows, cols):
        return tf.constant(self.array[None, rows[0]:rows[1], cols[0]:cols[1]])


def _span(span, size, kernel, stride):
    """Output rows [a, b) of a K x K, stride-s conv padded by K // 2 -> the source rows to read
    and the padding before / after them (non-zero only at the true borders)."""
    start = stride * span[0] - kernel // 2
    stop = stride * (span[1] - 1) - kernel // 2 + kernel
    return (max(start, 0), min(stop, size)), max(0, -start), max(0, stop - size)


def _padded_region(source, rows, cols, kernel, stride, mode):
    rows, top, bottom = _span(rows, source.shape[0], kernel, stride)
    cols, left, right = _span(cols, source.shape[1], kernel, stride)
    x = source.region(rows, cols)
    if top or bottom or left or right:
        x = tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]], mode=mode)
    return x


class _Conv:
    """conv(reflect-padded source) of a K x K, stride-s VALID convolution, then post(x)."""

    def __init__(self, source, conv, kernel, stride=1, post=None):
        self.source, self.conv, self.kernel, self.stride, self.post = \
            source, conv, kernel, stride, post
        self.shape = tuple((n - 1) // stride + 1 for n in source.shape)

    def region(self, rows, cols):
        x = self.conv(_padded_region(self.source, rows, cols, self.kernel, self.stride,
                                     "REFLECT"))
        return x if self.post is None else self.post(x)


class _UpsampleConv:
    """Nearest x2 upsampling + reflect pad 1 + 3x3 conv, computed at low resolution:
    conv(edge-padded source) gives both output phases (InferenceKernels.conv), then post(x)."""

    def __init__(self, source, conv, post=None):
        self.source, self.conv, self.post = source, conv, post
        self.shape = tuple(2 * n for n in source.shape)

    def region(self, rows, cols):
        low_rows, low_cols = (rows[0] // 2, (rows[1] + 1) // 2), (cols[0] // 2, (cols[1] + 1) // 2)
        x = self.conv(_padded_region(self.source, low_rows, low_cols, 3, 1, "SYMMETRIC"))
        x = x[:, rows[0] % 2:rows[0] % 2 + rows[1] - rows[0],
              cols[0] % 2:cols[0] % 2 + cols[1] - cols[0]]
        return x if self.post is None else self.post(x)


class _Cropped:
    """`source` seen through its top-left H x W (the network's CropLike)."""

    def __init__(self, source, shape):
        self.source, self.shape = source, shape

    def region(self, rows, cols):
        return self.source.region(rows, cols)


def _tiles(shape, tile):
    """[((r0, r1), (c0, c1))] covering an H x W grid with tile x tile blocks."""
    return [((r, min(r + tile, shape[0])), (c, min(c + tile, shape[1])))
            for r in range(0, shape[0], tile) for c in range(0, shape[1], tile)]


class _Statistics:
    """Per-channel count, sum and sum of squares in float64, gathered tile by tile."""

    def __init__(self):
        self.count, self.sum, self.squares = 0, 0.0, 0.0

    def add(self, x):
        x = tf.cast(tf.reshape(x, [-1, x.shape[-1]]), tf.float64)
        self.count += int(x.shape[0])
        self.sum += tf.reduce_sum(x, 0).numpy()
        self.squares += tf.reduce_sum(tf.square(x), 0).numpy()

    def scale_shift(self, beta, gamma, epsilon):
        """(scale, shift) float32 [C] of ConditionalStyleNorm with these statistics."""
        mean = self.sum / self.count
        variance = np.maximum(self.squares / self.count - mean * mean, 0.0)
        mean, variance = tf.constant(mean, tf.float32), tf.constant(variance, tf.float32)
        scale = gamma * tf.math.rsqrt(variance + epsilon)
        return scale, beta - mean * scale


class _Passes:
    """Runs passes over a level's tiles, counting tiles in one Progress."""

    def __init__(self, progress):
        self.progress = progress

    def run(self, level, tile, out=None, statistics=None):
        """One pass over `level`'s grid: writes its tiles into `out` and/or adds them to
        `statistics`."""
        for rows, cols in _tiles(level.shape, tile):
            x = level.region(rows, cols)
            if statistics is not None:
                statistics.add(x)
            if out is not None:
                out[rows[0]:rows[1], cols[0]:cols[1]] = x.numpy()[0]
            self.progress.advance()


def _in_place(array, scale, shift, relu, rows=256):
    """array = [relu](array * scale + shift), in row bands (float32, like the layer)."""
    scale, shift = scale.numpy(), shift.numpy()
    for start in range(0, array.shape[0], rows):
        band = array[start:start + rows]
        np.multiply(band, scale, out=band)
        np.add(band, shift, out=band)
        if relu:
            np.maximum(band, 0.0, out=band)


def _num_tiles(height, width, tile):
    """Tiles of all passes of an H x W image with tiles of `tile` (a multiple of 4)."""
    low = (-(-height // 4), -(-width // 4))
    def count(shape, side):
        return len(_tiles(shape, side))
    return ((1 + 5 * 2) * count(low, tile // 4) + count((2 * low[0], 2 * low[1]), tile // 2)
            + 2 * count((4 * low[0], 4 * low[1]), tile) + count((height, width), tile))


def stylize_tiled(model, content, style_bottleneck, tile_size=defaults.STYLIZE_TILE_SIZE,
                  precision=defaults.STYLIZE_PRECISION, kernels=None, stream=None,
                  progress_interval=defaults.PROGRESS_INTERVAL_S):
    """Stylizes one content image in tiles; equals model.stylize to float32 rounding.

    Args:
      model: a Stylizer.
      content: float32 [H, W, 3] or [1, H, W, 3] in [0, 1], H, W >= 5.
      style_bottleneck: [1, bottleneck_dim] (e.g. model.style_bottleneck(style)).
      tile_size: side of the tiles at full resolution in pixels (rounded down to a
        multiple of 4; memory per tile grows with its square).
      precision: of the convolutions, see inference.fast.
      kernels: inference.fast.InferenceKernels of `model` (built when None; pass them to
        reuse them across images).
      stream: where progress lines go (default stderr): tiles done over all 15 passes,
        at most one line per `progress_interval` seconds and a last one.
    Returns:
      float32 numpy [H, W, 3] in [0, 1].
    """
    content = np.asarray(content, np.float32)
    if content.ndim == 4:
        if content.shape[0] != 1:
            raise ValueError(f"stylize_tiled takes one image, got a batch of {content.shape[0]}")
        content = content[0]
    height, width = content.shape[:2]
    if min(height, width) < transfer.MIN_CONTENT_SIZE or content.shape[2] != 3:
        raise ValueError(f"content must be [H, W, 3] with H, W >= {transfer.MIN_CONTENT_SIZE}, "
                         f"got {list(content.shape)}")
    kernels = kernels or fast.InferenceKernels(model, precision)

    # Tiles are stored and normalized in float32 whatever the convolutions' precision.
    def contract(index, x):
        return tf.cast(kernels.contract(index, x), tf.float32)

    def conv(scope, x):
        return tf.cast(kernels.conv(scope, x), tf.float32)

    params = model.style_params(tf.convert_to_tensor(style_bottleneck, tf.float32))[0]
    norms = kernels.norms(params)
    tile = max(int(tile_size) // transfer.TOTAL_STRIDE, 1) * transfer.TOTAL_STRIDE
    passes = _Passes(Progress(_num_tiles(height, width, tile), "tiles",
                              name=f"tiled {width}x{height}", interval=progress_interval,
                              stream=stream))

    def normalized(scope, statistics, activation):
        scale, shift = statistics.scale_shift(*norms[scope])
        return lambda x: activation(x * scale + shift)

    # Contract (BatchNorm in inference: a local op): tiles with halos -> h, stride 4.
    level = _Stored(content)
    for index, (size, stride, _, _) in enumerate(kernels.contract_layers):
        level = _Conv(level, lambda x, i=index: contract(i, x), size, stride)
    h = np.empty(level.shape + (kernels.kernels["residual/residual1/conv1"].shape[2],),
                 np.float32)
    passes.run(level, tile // 4, out=h)

    # Residual blocks at stride 4: each convolution's raw output is stored with its
    # statistics, then normalized in place; the second one is added into h.
    scratch = np.empty(2 * h.size, np.float32)
    first, second = scratch[:h.size].reshape(h.shape), scratch[h.size:].reshape(h.shape)
    for block in range(1, 6):
        for name, source, out in (("conv1", h, first), ("conv2", first, second)):
            scope = f"residual/residual{block}/{name}"
            statistics = _Statistics()
            passes.run(_Conv(_Stored(source), lambda x, s=scope: conv(s, x), 3), tile // 4,
                       out=out, statistics=statistics)
            _in_place(out, *statistics.scale_shift(*norms[scope]), relu=name == "conv1")
        np.add(h, second, out=h)
    del first, second

    # expand/conv1 at stride 2: stored raw in the scratch (2 H4 x 2 W4 x 64 alpha fits in
    # it), normalized in place.
    scope1, scope2 = fast.EXPAND_UPSAMPLED
    conv1 = _UpsampleConv(_Stored(h), lambda x: conv(scope1, x))
    depth1 = kernels.kernels[scope1].shape[3] // 4
    expand1 = scratch[:conv1.shape[0] * conv1.shape[1] * depth1].reshape(conv1.shape + (depth1,))
    statistics = _Statistics()
    passes.run(conv1, tile // 2, out=expand1, statistics=statistics)
    _in_place(expand1, *statistics.scale_shift(*norms[scope1]), relu=True)
    del h, conv1

    # expand/conv2 and conv3 at full resolution: one statistics pass each, recomputed
    # from expand1, then the output pass cropped to H x W.
    def conv2(x):
        return conv(scope2, x)

    def conv3(x):
        return conv(fast.EXPAND_LAST, x)

    statistics = _Statistics()
    passes.run(_UpsampleConv(_Stored(expand1), conv2), tile, statistics=statistics)
    expand2 = _UpsampleConv(_Stored(expand1), conv2, normalized(scope2, statistics, tf.nn.relu))
    statistics = _Statistics()
    passes.run(_Conv(expand2, conv3, 9), tile, statistics=statistics)
    output = _Conv(expand2, conv3, 9, post=normalized(fast.EXPAND_LAST, statistics, tf.sigmoid))
    stylized = np.empty((height, width, 3), np.float32)
    passes.run(_Cropped(output, (height, width)), tile, out=stylized)
    return stylized
