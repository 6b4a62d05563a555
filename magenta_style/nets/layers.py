"""Keras layers of the transfer network: reflect padding, conditional style norm,
nearest-neighbour upsampling, padding to a multiple of the network stride and
cropping back, and TF "SAME" zero padding (for Keras' MobileNetV2).

The shape-changing layers keep their channel count static even when H and W
are unknown, so a resizable model converts to TFLite builtin ops.
"""
import keras
from keras import ops

from magenta_style import defaults

_PACKAGE = "magenta_style"


def with_static_channels(outputs, channels):
    """Re-asserts the channel count of [B, ?, ?, C] results of dynamic pads/repeats.

    TF's own shape inference may still know C, but the TFLite converter's does
    not; a reshape (unlike set_shape) survives into it, and ensure_shape would
    be a Flex op. A no-op when H and W are static.
    """
    if channels is None or (outputs.shape[1] is not None and outputs.shape[2] is not None):
        return outputs
    shape = ops.shape(outputs)
    return ops.reshape(outputs, [shape[0], shape[1], shape[2], channels])


def wide_dtype(dtype):
    """The dtype for statistics, Gram matrices and losses of `dtype` tensors: float64 for
    float64 (a reference computation), float32 for every other float (float16 overflows,
    bfloat16 keeps 8 significant bits)."""
    return "float64" if keras.backend.standardize_dtype(dtype) == "float64" else "float32"


def reflect_pad(x, p):
    """tf.pad(x, mode="REFLECT") of H and W by p from slices, flips and concatenations:
    TFLite's MIRROR_PAD kernel is ~30x slower than these copies. [B, H, W, C] -> [B, H+2p, W+2p, C]."""
    if p == 0:
        return x
    x = ops.concatenate([ops.flip(x[:, 1:p + 1], 1), x, ops.flip(x[:, -p - 1:-1], 1)], axis=1)
    return ops.concatenate([ops.flip(x[:, :, 1:p + 1], 2), x, ops.flip(x[:, :, -p - 1:-1], 2)],
                           axis=2)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ReflectionPadding2D(keras.layers.Layer):
    """Reflect-pads H and W by `padding` on each side: [B, H, W, C] -> [B, H+2p, W+2p, C]."""

    def __init__(self, padding, **kwargs):
        super().__init__(**kwargs)
        if int(padding) < 0:
            raise ValueError(f"padding must be >= 0, got {padding}")
        self.padding = int(padding)

    def call(self, inputs):
        return reflect_pad(inputs, self.padding)

    def compute_output_shape(self, input_shape):
        def grow(size):
            return None if size is None else size + 2 * self.padding
        return (input_shape[0], grow(input_shape[1]), grow(input_shape[2]), input_shape[3])

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ConditionalStyleNorm(keras.layers.Layer):
    """Instance norm whose scale and shift come per sample from the style predictor.

    Inputs `[x, beta, gamma]`: x [B, H, W, C]; beta, gamma [B, C].
    Output `gamma * (x - mean_hw(x)) / sqrt(var_hw(x) + epsilon) + beta`, [B, H, W, C].
    """

    def __init__(self, epsilon=defaults.STYLE_NORM_EPSILON, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def call(self, inputs):
        x, beta, gamma = inputs
        # Statistics in float32 even under mixed precision (variances of large activations
        # overflow float16), in float64 under a float64 policy (a reference computation).
        dtype = wide_dtype(x.dtype)
        x = ops.cast(x, dtype)
        mean, variance = ops.moments(x, axes=[1, 2], keepdims=True)
        scale = ops.cast(gamma, dtype)[:, None, None, :] * ops.rsqrt(variance + self.epsilon)
        shift = ops.cast(beta, dtype)[:, None, None, :] - mean * scale
        return ops.cast(x * scale + shift, inputs[0].dtype)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class PadToMultiple(keras.layers.Layer):
    """Reflect-pads bottom/right so H and W become multiples of `multiple`.

    [B, H, W, C] -> [B, ceil(H/m)*m, ceil(W/m)*m, C]; a no-op when already divisible.
    The transfer network no longer uses it (it runs on the content as it is, as
    Magenta does); kept registered so `.keras` files saved with it still load.
    """

    def __init__(self, multiple, **kwargs):
        super().__init__(**kwargs)
        self.multiple = int(multiple)

    def call(self, inputs):
        shape = ops.shape(inputs)
        pad_h = (-shape[1]) % self.multiple
        pad_w = (-shape[2]) % self.multiple
        if isinstance(pad_h, int) and isinstance(pad_w, int) and pad_h == 0 and pad_w == 0:
            return inputs  # static, already divisible: keep the graph free of pads
        padded = ops.pad(inputs, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]], mode="symmetric")
        return with_static_channels(padded, inputs.shape[-1])

    def compute_output_shape(self, input_shape):
        def grow(size):
            return None if size is None else -(-size // self.multiple) * self.multiple
        return (input_shape[0], grow(input_shape[1]), grow(input_shape[2]), input_shape[3])

    def get_config(self):
        return {**super().get_config(), "multiple": self.multiple}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class NearestUpsampling2D(keras.layers.UpSampling2D):
    """Nearest-neighbour x`size` upsampling: [B, H, W, C] -> [B, sH, sW, C], C kept static."""

    def __init__(self, size=2, **kwargs):
        kwargs.pop("interpolation", None)
        super().__init__(size=size, interpolation="nearest", **kwargs)

    def call(self, inputs):
        return with_static_channels(super().call(inputs), inputs.shape[-1])


@keras.saving.register_keras_serializable(package=_PACKAGE)
class CropLike(keras.layers.Layer):
    """Crops `x` [B, H', W', C] to the H, W of `reference` [B, H, W, *] (top-left kept)."""

    def call(self, inputs):
        x, reference = inputs
        shape = ops.shape(reference)
        return x[:, :shape[1], :shape[2], :]

    def compute_output_shape(self, input_shapes):
        x_shape, reference_shape = input_shapes
        return (x_shape[0], reference_shape[1], reference_shape[2], x_shape[3])


def same_pads(size, kernel_size, stride):
    """(before, after) zero padding of TF's "SAME" along one axis of `size` (an int or a scalar tensor).

    pad_total = max(k - s, 0) if size % s == 0 else max(k - size % s, 0); before = total // 2:
    for k = 3, s = 2 that is (0, 1) on even sizes and (1, 1) on odd ones.
    """
    remainder = size % stride
    if isinstance(remainder, int):
        total = max(kernel_size - (stride if remainder == 0 else remainder), 0)
    else:
        total = ops.maximum(kernel_size - ops.where(ops.equal(remainder, 0), stride, remainder), 0)
    return total // 2, total - total // 2


@keras.saving.register_keras_serializable(package=_PACKAGE)
class SamePadding2D(keras.layers.Layer):
    """Zero-pads H and W as TF's "SAME" does for a (kernel_size, stride) conv, so a VALID conv after it
    equals a SAME one, for any size (known or not at trace time).

    Keras' MobileNetV2 pads its stride-2 depthwise convs (0, 1) whatever the size; TF-slim's
    (Magenta's) use SAME, which pads odd sizes (1, 1). [B, H, W, C] -> [B, H + pad_h, W + pad_w, C].
    """

    def __init__(self, kernel_size, stride, **kwargs):
        super().__init__(**kwargs)
        self.kernel_size = int(kernel_size)
        self.stride = int(stride)
        if self.kernel_size < 1 or self.stride < 1:
            raise ValueError(f"kernel_size and stride must be >= 1, got {kernel_size}, {stride}")

    def call(self, inputs):
        shape = ops.shape(inputs)
        pad_h = same_pads(shape[1], self.kernel_size, self.stride)
        pad_w = same_pads(shape[2], self.kernel_size, self.stride)
        padded = ops.pad(inputs, [[0, 0], list(pad_h), list(pad_w), [0, 0]])
        return with_static_channels(padded, inputs.shape[-1])

    def compute_output_shape(self, input_shape):
        def grow(size):
            return None if size is None else size + sum(same_pads(size, self.kernel_size, self.stride))
        return (input_shape[0], grow(input_shape[1]), grow(input_shape[2]), input_shape[3])

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size, "stride": self.stride}
