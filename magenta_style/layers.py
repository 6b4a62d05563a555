"""Keras layers of the transfer network: reflect padding, conditional style norm,
padding to a multiple of the network stride and cropping back."""
import keras
from keras import ops

from magenta_style import defaults

_PACKAGE = "magenta_style"


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ReflectionPadding2D(keras.layers.Layer):
    """Reflect-pads H and W by `padding` on each side: [B, H, W, C] -> [B, H+2p, W+2p, C]."""

    def __init__(self, padding, **kwargs):
        super().__init__(**kwargs)
        if int(padding) < 0:
            raise ValueError(f"padding must be >= 0, got {padding}")
        self.padding = int(padding)

    def call(self, inputs):
        p = self.padding
        if p == 0:
            return inputs
        return ops.pad(inputs, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

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
        # Statistics in float32 even under mixed precision: variances of
        # large activations overflow float16.
        x32 = ops.cast(x, "float32")
        mean, variance = ops.moments(x32, axes=[1, 2], keepdims=True)
        scale = ops.cast(gamma, "float32")[:, None, None, :] * ops.rsqrt(variance + self.epsilon)
        shift = ops.cast(beta, "float32")[:, None, None, :] - mean * scale
        return ops.cast(x32 * scale + shift, x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class PadToMultiple(keras.layers.Layer):
    """Reflect-pads bottom/right so H and W become multiples of `multiple`.

    [B, H, W, C] -> [B, ceil(H/m)*m, ceil(W/m)*m, C]; a no-op when already divisible.
    Lets the stride-4 transfer network return exactly the input size.
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
        return ops.pad(inputs, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]], mode="symmetric")

    def compute_output_shape(self, input_shape):
        def grow(size):
            return None if size is None else -(-size // self.multiple) * self.multiple
        return (input_shape[0], grow(input_shape[1]), grow(input_shape[2]), input_shape[3])

    def get_config(self):
        return {**super().get_config(), "multiple": self.multiple}


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
