"""The transfer network as one inference graph in an equivalent, faster formulation.

`fast_stylize(model)` returns a tf.function (content [1, H, W, 3], bottleneck [1, D]) ->
stylized [1, H, W, 3] that computes what `model.stylize` computes (max abs difference ~4e-6 on
[0, 1] in float32 with the released weights, 3.6e-6 measured at 384 x 384; bfloat16 ~50 dB;
tests/inference/test_fast.py) from the same weights, read once when it is
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
- stylize_graph(..., norm=moments_instance_norm) is the same graph in TFLite built-ins
  (export/tflite.py): instance norm from moments (TFLite has no training-mode FusedBatchNormV3).
- The kernel rearrangements are nets/kernel_forms.py's (exactly invertible, so an exported
  TFLite file reads back into the Keras layers).
- Reflect and edge padding are built from slices, flips and concatenations: TensorFlow's
  MirrorPad and TFLite's MIRROR_PAD are slower than these copies.
- precision="bfloat16" keeps the activations in bfloat16 from the content's first convolution to
  the last norm (AMX / AVX512-BF16 convolutions; oneDNN's norms take bfloat16 and keep their
  statistics in float32): faster, not exact (PSNR in BENCHMARKS.md). Norms whose channel count
  is not a multiple of 16 take float32: oneDNN's bfloat16 batch norm is ~10x slower there.
"""
import numpy as np
import tensorflow as tf

from magenta_style import bottlenecks, defaults
from magenta_style.nets import layers, transfer
from magenta_style.nets.kernel_forms import space_to_depth_kernel, upsample_conv_kernel

PRECISIONS = defaults.STYLIZE_PRECISIONS


def _edge_pad_1(x):
    """== tf.pad(x, 1 on H and W, "SYMMETRIC") (edge replication) from slices and
    concatenations."""
    x = tf.concat([x[:, :1], x, x[:, -1:]], 1)
    return tf.concat([x[:, :, :1], x, x[:, :, -1:]], 2)


def _conv(x, kernel, stride=1):
    return tf.nn.conv2d(tf.cast(x, kernel.dtype), kernel, stride, "VALID")


def _spatial_size(x):
    """(H, W) of [B, H, W, C]: Python ints where static (no-op pads then leave the graph),
    else scalar tensors."""
    dynamic = tf.shape(x)
    return tuple(x.shape[axis] if x.shape[axis] is not None else dynamic[axis] for axis in (1, 2))


def conv_space_to_depth(x, kernel, size, bias=None, activation=None):
    """== VALID stride-1 conv of x with the original size x size kernel, given `kernel` =
    space_to_depth_kernel(original).

    bias: [4O], the original bias repeated per output phase, and then activation (elementwise),
    applied before depth_to_space, where TFLite fuses them into the conv (an int8 conv then
    quantizes only the ReLU's range). The result has the kernel's dtype.
    """
    height, width = _spatial_size(x)
    pads = (height % 2, width % 2)
    if not all(isinstance(pad, int) and pad == 0 for pad in pads):  # made even, cropped below
        x = layers.with_static_channels(tf.pad(x, [[0, 0], [0, pads[0]], [0, pads[1]], [0, 0]]),
                                        x.shape[-1])
    y = _conv(tf.nn.space_to_depth(x, 2), kernel)
    if bias is not None:
        y = tf.nn.bias_add(y, tf.cast(bias, y.dtype))
    if activation is not None:
        y = activation(y)
    return tf.nn.depth_to_space(y, 2)[:, :height - size + 1, :width - size + 1]


def instance_norm(x, beta, gamma, epsilon):
    """ConditionalStyleNorm of one image [1, H, W, C] in x's dtype (float32 statistics);
    bfloat16 only where C is a multiple of 16 (elsewhere oneDNN's bfloat16 kernel is slow)."""
    if x.dtype != tf.float32 and x.shape[-1] % 16:
        x = tf.cast(x, tf.float32)
    return tf.raw_ops.FusedBatchNormV3(
        x=x, scale=gamma, offset=beta, mean=tf.zeros([0]), variance=tf.zeros([0]),
        epsilon=epsilon, is_training=True)[0]


def moments_instance_norm(x, beta, gamma, epsilon):
    """instance_norm from moments and elementwise ops: TFLite has no training-mode
    FusedBatchNormV3 built-in."""
    x = tf.cast(x, tf.float32)
    mean, variance = tf.nn.moments(x, [1, 2], keepdims=True)
    scale = gamma * tf.math.rsqrt(variance + epsilon)
    return x * scale + (beta - mean * scale)


def batched_instance_norm(x, beta, gamma, epsilon):
    """moments_instance_norm of a batch [B, H, W, C], each image with its own beta, gamma [B, C]
    (float32)."""
    return moments_instance_norm(x, beta[:, None, None, :], gamma[:, None, None, :], epsilon)


EXPAND_UPSAMPLED = ("expand/conv1/conv", "expand/conv2/conv")
EXPAND_LAST = "expand/conv3/conv"


class InferenceKernels:
    """A Stylizer's transfer-network weights in the fast formulation, and its convolutions.

    Every method takes the already padded input of one layer (reflect padding, edge padding
    by 1 for the upsampling ones) and returns its VALID convolution in `dtype` (the
    precision's): what stylize_graph and inference.tiled compose. Each runs in a name scope of
    its Keras layer's name, which the TFLite export's weight renaming reads.
    """

    def __init__(self, model, precision=defaults.STYLIZE_PRECISION):
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.model, self.alpha = model, model.alpha
        self.dtype = dtype = tf.as_dtype(precision)
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
                kernel, bias = space_to_depth_kernel(kernel), np.tile(bias, 4)  # per phase
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
        """[P] (or [B, P]) style parameters -> {scope: (beta, gamma, epsilon)}, beta and gamma
        [depth] (or [B, depth])."""
        return bottlenecks.split_style_params(style_params, self.depths, self.epsilon)

    def contract(self, index, padded):
        """contract/conv<index + 1> + its folded BatchNorm + ReLU."""
        size, stride, kernel, bias = self.contract_layers[index]
        with tf.name_scope(transfer.keras_name(transfer.CONTRACT_LAYERS[index][0])):
            if stride == 1 and size > 3:
                return conv_space_to_depth(padded, kernel, size, bias, tf.nn.relu)
            return tf.nn.relu(tf.nn.bias_add(_conv(padded, kernel, stride),
                                             tf.cast(bias, self.dtype)))

    def conv(self, scope, padded):
        """A normalized layer's convolution (residual and expand, before its norm)."""
        kernel = self.kernels[scope]
        with tf.name_scope(transfer.keras_name(scope)):
            if scope in EXPAND_UPSAMPLED:
                return tf.nn.depth_to_space(_conv(padded, kernel), 2)
            if scope == EXPAND_LAST:
                return conv_space_to_depth(padded, kernel, 9)
            return _conv(padded, kernel)


def fast_stylize(model, precision=defaults.STYLIZE_PRECISION, kernels=None):
    """tf.function (content [1, H, W, 3], bottleneck [1, D]) -> [1, H, W, 3] of a Stylizer.

    precision: 'float32' (equals model.stylize to float32 rounding) or 'bfloat16'
    (convolutions in bfloat16); kernels: InferenceKernels of `model` to reuse (then
    precision is theirs).
    """
    kernels = kernels or InferenceKernels(model, precision)
    signature = [tf.TensorSpec([1, None, None, 3], tf.float32),
                 tf.TensorSpec([1, model.bottleneck_dim], tf.float32)]

    @tf.function(input_signature=signature, autograph=False)
    def stylize(content, bottleneck):
        return stylize_graph(kernels, content, model.style_params(bottleneck)[0])

    return stylize


def stylize_graph(kernels, content, style_params, norm=instance_norm):
    """The transfer network on content [1, H, W, 3] with style_params [P] -> float32
    [1, H, W, 3] (or [B, ...] with batched_instance_norm).

    kernels: InferenceKernels; norm: instance_norm, or moments_instance_norm for a graph the
    TFLite converter turns into fast built-ins; batched_instance_norm takes a batch
    [B, H, W, 3] with style_params [B, P].
    """
    norms = kernels.norms(style_params)
    pad, conv = layers.reflect_pad, kernels.conv
    h = content
    for index, (_, size, _, _) in enumerate(transfer.CONTRACT_LAYERS):
        h = kernels.contract(index, pad(h, size // 2))
    for block in range(1, 6):
        scope = f"residual/residual{block}"
        r = tf.nn.relu(norm(conv(scope + "/conv1", pad(h, 1)), *norms[scope + "/conv1"]))
        h = h + tf.cast(norm(conv(scope + "/conv2", pad(r, 1)), *norms[scope + "/conv2"]),
                        h.dtype)
    for scope in EXPAND_UPSAMPLED:
        h = tf.nn.relu(norm(conv(scope, _edge_pad_1(h)), *norms[scope]))
    h = tf.sigmoid(tf.cast(norm(conv(EXPAND_LAST, pad(h, 4)), *norms[EXPAND_LAST]), tf.float32))
    height, width = _spatial_size(content)
    return h[:, :height, :width]
