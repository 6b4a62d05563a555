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
At full resolution only the output (H x W x 3, which holds expand/conv3's raw output until
its statistics are known) is whole; the rest exists one tile (plus halo) at a time:
expand/conv2 is recomputed from the stored expand/conv1 output after its statistics
pass. The convolutions are inference/fast.py's (same
weights, faster formulation), computed by TensorFlow (inference/tf_tiles.py) or by LiteRT
from the model's cached files (inference/litert_tiles.py: no TensorFlow); this module is
numpy only. Peak memory is measured in BENCHMARKS.md.
Reflect padding happens only at the true image borders; inside the image a
tile reads its neighbours' pixels, so stride-2 convolutions and the x2
upsamplings see exactly what they see untiled, for any H and W.

Geometry (nets/transfer.py): the network runs on the content as it is;
contract/conv2 and conv3 (reflect pad 1, 3x3, stride 2) give ceil(H/2) and
H4 = ceil(ceil(H/2)/2), the upsamplings 2 H4 and 4 H4, and the output is cropped
top-left to H x W.
"""
import concurrent.futures

import numpy as np

from magenta_style import defaults
from magenta_style.inference.engine import as_image
from magenta_style.progress import Progress


class TileLayers:
    """What the tiled network computes with: the transfer network's layers, each run on one
    padded tile. Implemented by inference/tf_tiles.py and inference/litert_tiles.py.

    contract_layers: [(kernel size, stride)] of contract/conv1..3 (their BatchNorm and ReLU
    included in `contract`); residual_depth: channels at stride 4; expand1_depth: channels
    of expand/conv1's output. Arrays are float32 [h, w, C].
    """

    EXPAND_UPSAMPLED = ("expand/conv1/conv", "expand/conv2/conv")
    EXPAND_LAST = "expand/conv3/conv"
    contract_layers, residual_depth, expand1_depth = (), 0, 0

    def norms(self, bottleneck):
        """Bottleneck [1, D] -> {scope: (beta [C], gamma [C], epsilon)} of every norm."""
        raise NotImplementedError

    def contract(self, index, padded):
        """contract/conv<index + 1> (+ BatchNorm + ReLU) of its reflect-padded input."""
        raise NotImplementedError

    def conv(self, scope, padded):
        """A normalized layer's convolution, before its norm (residual: reflect-padded
        input; expand/conv1, conv2: edge-padded low-resolution input -> 2x output; expand/conv3:
        reflect-padded)."""
        raise NotImplementedError


class _Stored:
    """An activation held whole: float32 [H, W, C]."""

    def __init__(self, array):
        self.array = array
        self.shape = array.shape[:2]

    def region(self, rows, cols):
        return self.array[rows[0]:rows[1], cols[0]:cols[1]]


def _span(span, size, kernel, stride):
    """Output rows [a, b) of a K x K, stride-s conv padded by K // 2 -> the source rows to read
    and the padding before / after them (non-zero only at the true borders)."""
    start = stride * span[0] - kernel // 2
    stop = stride * (span[1] - 1) - kernel // 2 + kernel
    return (max(start, 0), min(stop, size)), max(0, -start), max(0, stop - size)


def _padded_region(source, rows, cols, kernel, stride, mode):
    """mode: 'reflect' (the network's reflection padding) or 'symmetric' (edge replication by
    1, for the upsampling convolutions)."""
    rows, top, bottom = _span(rows, source.shape[0], kernel, stride)
    cols, left, right = _span(cols, source.shape[1], kernel, stride)
    x = source.region(rows, cols)
    if top or bottom or left or right:
        x = np.pad(x, ((top, bottom), (left, right), (0, 0)), mode=mode)
    return x


class _Conv:
    """conv(reflect-padded source) of a K x K, stride-s VALID convolution, then post(x)."""

    def __init__(self, source, conv, kernel, stride=1, post=None):
        self.source, self.conv, self.kernel, self.stride, self.post = \
            source, conv, kernel, stride, post
        self.shape = tuple((n - 1) // stride + 1 for n in source.shape)

    def region(self, rows, cols):
        x = self.conv(_padded_region(self.source, rows, cols, self.kernel, self.stride,
                                     "reflect"))
        return x if self.post is None else self.post(x)


class _UpsampleConv:
    """Nearest x2 upsampling + reflect pad 1 + 3x3 conv, computed at low resolution:
    conv(edge-padded source) gives both output phases (InferenceKernels.conv), then post(x)."""

    def __init__(self, source, conv, post=None):
        self.source, self.conv, self.post = source, conv, post
        self.shape = tuple(2 * n for n in source.shape)

    def region(self, rows, cols):
        low_rows, low_cols = (rows[0] // 2, (rows[1] + 1) // 2), (cols[0] // 2, (cols[1] + 1) // 2)
        x = self.conv(_padded_region(self.source, low_rows, low_cols, 3, 1, "symmetric"))
        x = x[rows[0] % 2:rows[0] % 2 + rows[1] - rows[0],
              cols[0] % 2:cols[0] % 2 + cols[1] - cols[0]]
        return x if self.post is None else self.post(x)


def _tiles(shape, tile):
    """[((r0, r1), (c0, c1))] covering an H x W grid with tile x tile blocks."""
    return [((r, min(r + tile, shape[0])), (c, min(c + tile, shape[1])))
            for r in range(0, shape[0], tile) for c in range(0, shape[1], tile)]


class _Statistics:
    """Per-channel count, sum and sum of squares in float64, gathered tile by tile (in the
    order of the tiles, whichever thread computed each tile's part)."""

    def __init__(self):
        self.count, self.sum, self.squares = 0, 0.0, 0.0

    @staticmethod
    def part(x):
        """(count, sum, sum of squares) of one tile [h, w, C]."""
        x = x.reshape(-1, x.shape[-1]).astype(np.float64)
        return x.shape[0], np.add.reduce(x, axis=0), np.einsum("nc,nc->c", x, x)

    def add(self, part):
        count, total, squares = part
        self.count += count
        self.sum += total
        self.squares += squares

    def scale_shift(self, beta, gamma, epsilon):
        """(scale, shift) float32 [C] of ConditionalStyleNorm with these statistics."""
        mean = self.sum / self.count
        variance = np.maximum(self.squares / self.count - mean * mean, 0.0)
        mean, variance = mean.astype(np.float32), variance.astype(np.float32)
        scale = gamma * (np.float32(1.0) / np.sqrt(variance + np.float32(epsilon)))
        return scale, beta - mean * scale


class _Passes:
    """Runs passes over a level's tiles, counting tiles in one Progress. A tile's statistics
    and its copy into the output are computed by a second thread while the next tile's
    convolutions run (numpy and the engines let go of the GIL): the CPU stays busy."""

    def __init__(self, progress):
        self.progress = progress
        self.helper = concurrent.futures.ThreadPoolExecutor(1, "tiles")

    def run(self, level, tile, out=None, statistics=None):
        """One pass over `level`'s grid: adds its tiles to `statistics` and/or writes them
        into `out` (what of them lies inside `out`: the output is the grid's top-left H x W)."""
        def finish(x, rows, cols):
            if out is not None:
                inside = x[:max(min(rows[1], out.shape[0]) - rows[0], 0),
                           :max(min(cols[1], out.shape[1]) - cols[0], 0)]
                out[rows[0]:rows[0] + inside.shape[0], cols[0]:cols[0] + inside.shape[1]] = inside
            return _Statistics.part(x) if statistics is not None else None

        def collect(future):
            part = future.result()
            if statistics is not None:
                statistics.add(part)

        pending = None  # one tile at a time in the helper: memory stays one tile's
        for rows, cols in _tiles(level.shape, tile):
            x = level.region(rows, cols)
            if pending is not None:
                collect(pending)
            pending = self.helper.submit(finish, x, rows, cols)
            self.progress.advance()
        if pending is not None:
            collect(pending)

    def close(self):
        self.helper.shutdown()


def _normalize(x, scale, shift, activation):
    """x = activation(x * scale + shift) in place (float32, like the layer); returns x."""
    np.multiply(x, scale, out=x)
    np.add(x, shift, out=x)
    if activation == "relu":
        np.maximum(x, np.float32(0.0), out=x)
    elif activation == "sigmoid":  # 1 / (1 + e^-x) without overflow
        np.multiply(x, np.float32(0.5), out=x)
        np.tanh(x, out=x)
        np.add(x, np.float32(1.0), out=x)
        np.multiply(x, np.float32(0.5), out=x)
    return x


def _in_place(array, scale, shift, activation, rows=256):
    """_normalize over a stored activation, in row bands."""
    for start in range(0, array.shape[0], rows):
        _normalize(array[start:start + rows], scale, shift, activation)


def _num_tiles(height, width, tile):
    """Tiles of all passes of an H x W image with tiles of `tile` (a multiple of 4)."""
    low = (-(-height // 4), -(-width // 4))
    def count(shape, side):
        return len(_tiles(shape, side))
    return ((1 + 5 * 2) * count(low, tile // 4) + count((2 * low[0], 2 * low[1]), tile // 2)
            + 2 * count((4 * low[0], 4 * low[1]), tile))


def _as_content(content):
    content = as_image(content)
    if min(content.shape[:2]) < defaults.MIN_CONTENT_SIZE or content.shape[2] != 3:
        raise ValueError(f"content must be [H, W, 3] with H, W >= {defaults.MIN_CONTENT_SIZE}, "
                         f"got {list(content.shape)}")
    return content


def stylize_tiles(layers, content, bottleneck, tile_size=defaults.STYLIZE_TILE_SIZE,
                  stream=None, progress_interval=defaults.PROGRESS_INTERVAL_S):
    """Stylizes one content image in tiles with `layers` (a TileLayers); equals the untiled
    network to float32 rounding.

    Args:
      content: float32 [H, W, 3] or [1, H, W, 3] in [0, 1], H, W >= 5.
      bottleneck: [1, D].
      tile_size: side of the tiles at full resolution in pixels (rounded down to a
        multiple of 4; memory per tile grows with its square).
      stream: where progress lines go (default stderr): tiles done over all 14 passes,
        at most one line per `progress_interval` seconds and a last one.
    Returns:
      float32 numpy [H, W, 3] in [0, 1].
    """
    content = _as_content(content)
    height, width = content.shape[:2]
    norms = layers.norms(np.asarray(bottleneck, np.float32).reshape(1, -1))
    total_stride = int(np.prod([stride for _, stride in layers.contract_layers]))
    tile = max(int(tile_size) // total_stride, 1) * total_stride
    passes = _Passes(Progress(_num_tiles(height, width, tile), "tiles",
                              name=f"tiled {width}x{height}", interval=progress_interval,
                              stream=stream))
    try:

        def normalized(scope, statistics, activation):
            scale, shift = statistics.scale_shift(*norms[scope])
            return lambda x: _normalize(x, scale, shift, activation)

        # Contract (BatchNorm in inference: a local op): tiles with halos -> h, stride 4.
        level = _Stored(content)
        for index, (size, stride) in enumerate(layers.contract_layers):
            level = _Conv(level, lambda x, i=index: layers.contract(i, x), size, stride)
        h = np.empty(level.shape + (layers.residual_depth,), np.float32)
        passes.run(level, tile // 4, out=h)

        # Residual blocks at stride 4: each convolution's raw output is stored with its
        # statistics, then normalized in place; the second one is added into h.
        scratch = np.empty(2 * h.size, np.float32)
        first, second = scratch[:h.size].reshape(h.shape), scratch[h.size:].reshape(h.shape)
        for block in range(1, 6):
            for name, source, out in (("conv1", h, first), ("conv2", first, second)):
                scope = f"residual/residual{block}/{name}"
                statistics = _Statistics()
                passes.run(_Conv(_Stored(source), lambda x, s=scope: layers.conv(s, x), 3),
                           tile // 4, out=out, statistics=statistics)
                _in_place(out, *statistics.scale_shift(*norms[scope]),
                          "relu" if name == "conv1" else None)
            np.add(h, second, out=h)
        del first, second

        # expand/conv1 at stride 2: stored raw in the scratch (2 H4 x 2 W4 x 64 alpha fits in
        # it), normalized in place.
        scope1, scope2 = layers.EXPAND_UPSAMPLED
        conv1 = _UpsampleConv(_Stored(h), lambda x: layers.conv(scope1, x))
        depth1 = layers.expand1_depth
        expand1 = scratch[:conv1.shape[0] * conv1.shape[1] * depth1].reshape(
            conv1.shape + (depth1,))
        statistics = _Statistics()
        passes.run(conv1, tile // 2, out=expand1, statistics=statistics)
        _in_place(expand1, *statistics.scale_shift(*norms[scope1]), "relu")
        del h, conv1

        # expand/conv2 and conv3 at full resolution, recomputed from expand1: a statistics pass
        # for conv2, then conv3's raw output (3 channels) stored cropped to H x W in the output,
        # with its statistics over the whole grid, and normalized in place.
        def conv2(x):
            return layers.conv(scope2, x)

        def conv3(x):
            return layers.conv(layers.EXPAND_LAST, x)

        statistics = _Statistics()
        passes.run(_UpsampleConv(_Stored(expand1), conv2), tile, statistics=statistics)
        expand2 = _UpsampleConv(_Stored(expand1), conv2, normalized(scope2, statistics, "relu"))
        statistics = _Statistics()
        stylized = np.empty((height, width, 3), np.float32)
        passes.run(_Conv(expand2, conv3, 9), tile, out=stylized, statistics=statistics)
        _in_place(stylized, *statistics.scale_shift(*norms[layers.EXPAND_LAST]), "sigmoid")
        return stylized
    finally:
        passes.close()


def stylize_tiled(model, content, style_bottleneck, tile_size=defaults.STYLIZE_TILE_SIZE,
                  precision=defaults.STYLIZE_PRECISION, kernels=None, stream=None,
                  progress_interval=defaults.PROGRESS_INTERVAL_S):
    """Stylizes one content image of a Stylizer in tiles with TensorFlow; equals
    model.stylize to float32 rounding (`stylize_tiles`' arguments).

    precision: of the convolutions, see inference.fast; kernels: inference.fast.InferenceKernels
    of `model` (built when None; pass them to reuse them across images).
    """
    from magenta_style.inference.tf_tiles import TFTileLayers  # TensorFlow

    return stylize_tiles(TFTileLayers(model, precision, kernels), content, style_bottleneck,
                         tile_size, stream, progress_interval)
