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

from magenta_style.nets import transfer

PRECISIONS = ("float32", "bfloat16")


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


def _conv_space_to_depth(x, kernel, size):
    """== VALID stride-1 conv of x with the original size x size kernel."""
    height, width = tf.shape(x)[1], tf.shape(x)[2]
    x = tf.pad(x, [[0, 0], [0, height % 2], [0, width % 2], [0, 0]])  # even, cropped below
    y = tf.nn.depth_to_space(_conv(tf.nn.space_to_depth(x, 2), kernel), 2)
    return y[:, :height - size + 1, :width - size + 1]


def _instance_norm(x, beta, gamma, epsilon):
    """ConditionalStyleNorm of one image [1, H, W, C] (float32 statistics)."""
    return tf.raw_ops.FusedBatchNormV3(
        x=tf.cast(x, tf.float32), scale=gamma, offset=beta, mean=tf.zeros([0]),
        variance=tf.zeros([0]), epsilon=epsilon, is_training=True)[0]


def fast_stylize(model, precision="float32"):
    """tf.function (content [1, H, W, 3], bottleneck [1, D]) -> [1, H, W, 3] of a Stylizer.

    precision: 'float32' (equals model.stylize to float32 rounding) or 'bfloat16'
    (convolutions in bfloat16).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    dtype = tf.as_dtype(precision)
    net = model.transfer_network

    def kernel_of(scope):
        return net.get_layer(transfer.keras_name(scope)).kernel.numpy()

    def constant(array):
        return tf.constant(array, dtype)

    contract = []
    for scope, size, stride, _ in transfer.CONTRACT_LAYERS:
        batch_norm = net.get_layer(transfer.keras_name(scope) + "_BatchNorm")
        scale = 1.0 / np.sqrt(batch_norm.moving_variance.numpy() + batch_norm.epsilon)
        kernel = kernel_of(scope) * scale
        bias = batch_norm.beta.numpy() - batch_norm.moving_mean.numpy() * scale
        if stride == 1 and size > 3:
            kernel = space_to_depth_kernel(kernel)
        contract.append((size, stride, constant(kernel), tf.constant(bias, tf.float32)))
    depths = transfer.style_norm_depths(model.alpha)
    epsilon = net.get_layer(transfer.keras_name(depths[0][0]) + "_StyleNorm").epsilon
    kernels = {scope: constant(kernel_of(scope)) for scope, _ in depths[:10]}
    for scope in ("expand/conv1/conv", "expand/conv2/conv"):
        kernels[scope] = constant(upsample_conv_kernel(kernel_of(scope)))
    last = "expand/conv3/conv"
    kernels[last] = constant(space_to_depth_kernel(kernel_of(last)))

    signature = [tf.TensorSpec([1, None, None, 3], tf.float32),
                 tf.TensorSpec([1, model.bottleneck_dim], tf.float32)]

    @tf.function(input_signature=signature)
    def stylize(content, bottleneck):
        params = model.style_params(bottleneck)[0]
        norms, offset = {}, 0
        for scope, depth in depths:
            norms[scope] = (params[offset:offset + depth], params[offset + depth:offset + 2 * depth],
                            epsilon)
            offset += 2 * depth

        h = content
        for size, stride, kernel, bias in contract:
            x = _pad(h, size // 2)
            x = _conv_space_to_depth(x, kernel, size) if stride == 1 and size > 3 else \
                _conv(x, kernel, stride)
            h = tf.nn.relu(tf.nn.bias_add(tf.cast(x, tf.float32), bias))
        for block in range(1, 6):
            scope = f"residual/residual{block}"
            r = tf.nn.relu(_instance_norm(_conv(_pad(h, 1), kernels[scope + "/conv1"]),
                                          *norms[scope + "/conv1"]))
            h = h + _instance_norm(_conv(_pad(r, 1), kernels[scope + "/conv2"]),
                                   *norms[scope + "/conv2"])
        for scope in ("expand/conv1/conv", "expand/conv2/conv"):
            x = tf.nn.depth_to_space(_conv(_pad(h, 1, "SYMMETRIC"), kernels[scope]), 2)
            h = tf.nn.relu(_instance_norm(x, *norms[scope]))
        x = _conv_space_to_depth(_pad(h, 4), kernels[last], 9)
        h = tf.sigmoid(_instance_norm(x, *norms[last]))
        return h[:, :tf.shape(content)[1], :tf.shape(content)[2]]

    return stylize

