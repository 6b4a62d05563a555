"""The transfer network as one inference graph in an equivalent, faster formulation.

`fast_stylize(model)` returns a tf.function (content [1, H, W, 3], bottleneck [1, D]) ->
stylized [1, H, W, 3] that computes what `model.stylize` computes (max abs difference ~5e-6 on
[0, 1] in float32, tests/inference/test_fast.py) from the same weights, read once when it is
built (rebuild it after changing the weights). What differs, measured in BENCHMARKS.md:

- The two 9x9 stride-1 convolutions (contract/conv1 with 3 input channels, expand/conv3 with
  3 output channels) run on space_to_depth(2) of their padded input as 5x5 convolutions with
  4x the channels, then depth_to_space: oneDNN is ~3x faster on those shapes.
- Nearest x2 upsampling + reflect pad 1 + 3x3 conv (expand/conv1, conv2) equals edge padding
  by 1 at low resolution + one 3x3 conv with 4x the output channels (one group per output
  phase, taps summed where two high-resolution rows repeat one low-resolution row) +
  depth_to_space: the upsampled tensor is never built.
- Conditional instance norm of one image is one FusedBatchNormV3 in training mode (statistics
  of this image, then the fused scale and shift), instead of moments + 4 elementwise ops.
- The contract BatchNorms (inference: a per-channel affine map) are folded into the conv
  kernels and a bias.
- precision="bfloat16" runs the convolutions in bfloat16 (AVX512-BF16 / AMX where the CPU has
  them; statistics and normalization stay float32): faster, not exact (PSNR in BENCHMARKS.md).
"""
import numpy as np
import tensorflow as tf

from magenta_style import defaults
from magenta_style.nets import transfer

PRECISIONS = defaults.STYLIZE_PRECISIONS


def space_to_depth_kernel(kernel):
    """K x K kernel [K, K, I, O] (odd K) -> the kernel [M, M, 4I, 4O] (M = K // 2 + 1) of the same VALID convolution on space_to_depth(2) inputs, producing space_to_depth(2)
    outputs: out phase (a, b) at block i reads input phase (p, q) of block i + m, tap
    (2m + p - a, 2n + q - b)."""
    kernel = np.asarray(kernel, np.float32)
    size, inputs, outputs = kernel.shape[0], kernel.shape[2], kernel.shape[3]
    taps = size // 2 + 1
    out = np.zeros((taps, taps, 2, 2, inputs, 2, 2, outputs), np.float32)
    for m in range(taps):
        for p in range(2):
            for a in range(2):
                u = 2 * m + p - a
                for n in range(taps):
                    for q in range(2):
                        for b in range(2):
                            v = 2 * n + q - b
                            if 0 <= u < size and 0 <= v < size:
                                out[m, n, p, q, :, a, b, :] = kernel[u, v]
    return out.reshape(taps, taps, 4 * inputs, 4 * outputs)


def upsample_conv_kernel(kernel):
    """3x3 kernel [3, 3, I, O] applied to reflect_pad_1(nearest_x2(L)) -> [3, 3, I, 4O] applied
    to edge_pad_1(L), output phases (a, b) as depth_to_space(2) orders them.

    Per axis, high-resolution row 2i + a reads rows 2i + a - 1 .. 2i + a + 1 of the upsampled
    image, i.e. low-resolution rows (i-1, i, i) for a = 0 and (i, i, i+1) for a = 1; reflect
    padding of the upsampled image is edge replication of the low-resolution one.
    """
    phase_taps = np.zeros((2, 3, 3), np.float32)  # [phase, low-res tap, high-res tap]
    phase_taps[0, 0, 0] = phase_taps[0, 1, 1] = phase_taps[0, 1, 2] = 1.0
    phase_taps[1, 1, 0] = phase_taps[1, 1, 1] = phase_taps[1, 2, 2] = 1.0
    kernel = np.asarray(kernel, np.float32)
    combined = np.einsum("amu,bnv,uvio->mniabo", phase_taps, phase_taps, kernel)
    return combined.reshape(3, 3, kernel.shape[2], 4 * kernel.shape[3]).astype(np.float32)


def _pad(x, amount, mode="REFLECT"):
    return tf.pad(x, [[0, 0], [amount, amount], [amount, amount], [0, 0]], mode=mode)


def _conv(x, kernel, stride=1):
    return tf.nn.conv2d(tf.cast(x, kernel.dtype), kernel, stride, "VALID")


def conv_space_to_depth(x, kernel, size):
    """== VALID stride-1 conv of x with the original size x size kernel, given `kernel` =
    space_to_depth_kernel(original)."""
    height, width = tf.shape(x)[1], tf.shape(x)[2]
    x = tf.pad(x, [[0, 0], [0, height % 2], [0, width % 2], [0, 0]])  # even, cropped below
    y = tf.nn.depth_to_space(_conv(tf.nn.space_to_depth(x, 2), kernel), 2)
    return y[:, :height - size + 1, :width - size + 1]


def instance_norm(x, beta, gamma, epsilon):
    """ConditionalStyleNorm of one image [1, H, W, C] (float32 statistics)."""
    return tf.raw_ops.FusedBatchNormV3(
        x=tf.cast(x, tf.float32), scale=gamma, offset=beta, mean=tf.zeros([0]),
        variance=tf.zeros([0]), epsilon=epsilon, is_training=True)[0]


EXPAND_UPSAMPLED = ("expand/conv1/conv", "expand/conv2/conv")
EXPAND_LAST = "expand/conv3/conv"


class InferenceKernels:
    """A Stylizer's transfer-network weights in the fast formulation, and its convolutions.

    Every method takes the already padded input of one layer (reflect padding, edge padding
    by 1 for the upsampling ones) and returns its VALID convolution in float32: what
    fast_stylize and inference.tiled compose.
    """

    def __init__(self, model, precision=defaults.STYLIZE_PRECISION):
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.model, self.alpha = model, model.alpha
        dtype = tf.as_dtype(precision)
        net = model.transfer_network

        def kernel_of(scope):
            return net.get_layer(transfer.keras_name(scope)).kernel.numpy()

        self.contract_layers = []  # (size, stride, kernel, bias)
        for scope, size, stride, _ in transfer.CONTRACT_LAYERS:
            batch_norm = net.get_layer(transfer.keras_name(scope) + "_BatchNorm")
            scale = 1.0 / np.sqrt(batch_norm.moving_variance.numpy() + batch_norm.epsilon)
            kernel = kernel_of(scope) * scale
            bias = batch_norm.beta.numpy() - batch_norm.moving_mean.numpy() * scale
            if stride == 1 and size > 3:
                kernel = space_to_depth_kernel(kernel)
            self.contract_layers.append((size, stride, tf.constant(kernel, dtype),
                                         tf.constant(bias, tf.float32)))
        self.depths = transfer.style_norm_depths(model.alpha)
        self.epsilon = net.get_layer(transfer.keras_name(self.depths[0][0]) + "_StyleNorm").epsilon
        kernels = {scope: kernel_of(scope) for scope, _ in self.depths}
        for scope in EXPAND_UPSAMPLED:
            kernels[scope] = upsample_conv_kernel(kernels[scope])
        kernels[EXPAND_LAST] = space_to_depth_kernel(kernels[EXPAND_LAST])
        self.kernels = {scope: tf.constant(k, dtype) for scope, k in kernels.items()}

    def norms(self, style_params):
        """[P] style parameters -> {scope: (beta, gamma, epsilon)}."""
        norms, offset = {}, 0
        for scope, depth in self.depths:
            norms[scope] = (style_params[offset:offset + depth],
                            style_params[offset + depth:offset + 2 * depth], self.epsilon)
            offset += 2 * depth
        return norms

    def contract(self, index, padded):
        """contract/conv<index + 1> + its folded BatchNorm, before the ReLU."""
        size, stride, kernel, bias = self.contract_layers[index]
        x = conv_space_to_depth(padded, kernel, size) if stride == 1 and size > 3 else \
            _conv(padded, kernel, stride)
        return tf.nn.bias_add(tf.cast(x, tf.float32), bias)

    def conv(self, scope, padded):
        """A normalized layer's convolution (residual and expand, before its norm)."""
        kernel = self.kernels[scope]
        if scope in EXPAND_UPSAMPLED:
            return tf.nn.depth_to_space(tf.cast(_conv(padded, kernel), tf.float32), 2)
        if scope == EXPAND_LAST:
            return tf.cast(conv_space_to_depth(padded, kernel, 9), tf.float32)
        return tf.cast(_conv(padded, kernel), tf.float32)


def fast_stylize(model, precision=defaults.STYLIZE_PRECISION, kernels=None):
    """tf.function (content [1, H, W, 3], bottleneck [1, D]) -> [1, H, W, 3] of a Stylizer.

    precision: 'float32' (equals model.stylize to float32 rounding) or 'bfloat16'
    (convolutions in bfloat16); kernels: InferenceKernels of `model` to reuse (then
    precision is theirs).
    """
    kernels = kernels or InferenceKernels(model, precision)
    signature = [tf.TensorSpec([1, None, None, 3], tf.float32),
                 tf.TensorSpec([1, model.bottleneck_dim], tf.float32)]

    @tf.function(input_signature=signature)
    def stylize(content, bottleneck):
        norms = kernels.norms(model.style_params(bottleneck)[0])
        h = content
        for index, (size, _, _, _) in enumerate(kernels.contract_layers):
            h = tf.nn.relu(kernels.contract(index, _pad(h, size // 2)))
        for block in range(1, 6):
            scope = f"residual/residual{block}"
            r = tf.nn.relu(instance_norm(kernels.conv(scope + "/conv1", _pad(h, 1)),
                                         *norms[scope + "/conv1"]))
            h = h + instance_norm(kernels.conv(scope + "/conv2", _pad(r, 1)),
                                  *norms[scope + "/conv2"])
        for scope in EXPAND_UPSAMPLED:
            x = kernels.conv(scope, _pad(h, 1, "SYMMETRIC"))
            h = tf.nn.relu(instance_norm(x, *norms[scope]))
        x = kernels.conv(EXPAND_LAST, _pad(h, 4))
        h = tf.sigmoid(instance_norm(x, *norms[EXPAND_LAST]))
        return h[:, :tf.shape(content)[1], :tf.shape(content)[2]]

    return stylize
