"""Transfer-network conv kernels in the fast inference formulation (inference/fast.py), and back.

Forward: the graphs of inference/fast.py and the TFLite export run these kernels. Backward:
weights/released.py reads an exported TFLite transfer model (which stores them under the
released weight names) into the Keras layers' shapes; both rearrangements are exactly
invertible. Pure numpy, so the weight readers need nothing from inference/.
"""
import numpy as np

# Nearest x2 upsampling + reflect pad 1 + 3x3 conv, per axis: [output phase, low-resolution tap,
# high-resolution tap]. High-resolution row 2i + a reads upsampled rows 2i + a - 1 .. 2i + a + 1,
# i.e. low-resolution rows (i-1, i, i) for a = 0 and (i, i, i+1) for a = 1 (reflect padding of
# the upsampled image is edge replication of the low-resolution one).
_PHASE_TAPS = np.zeros((2, 3, 3), np.float32)
_PHASE_TAPS[0, 0, 0] = _PHASE_TAPS[0, 1, 1] = _PHASE_TAPS[0, 1, 2] = 1.0
_PHASE_TAPS[1, 1, 0] = _PHASE_TAPS[1, 1, 1] = _PHASE_TAPS[1, 2, 2] = 1.0
# Its left inverse [high-resolution tap, phase, low-resolution tap]: taps 0 and 2 appear alone
# (phase 0 tap 0, phase 1 tap 2); tap 1 = (phase 0 tap 1 = taps 1 + 2) - tap 2.
_PHASE_INVERSE = np.zeros((3, 2, 3), np.float32)
_PHASE_INVERSE[0, 0, 0] = _PHASE_INVERSE[2, 1, 2] = _PHASE_INVERSE[1, 0, 1] = 1.0
_PHASE_INVERSE[1, 1, 2] = -1.0


def space_to_depth_taps(size):
    """M = K // 2 + 1: the side of the space-to-depth form of an odd K x K kernel."""
    return size // 2 + 1


def space_to_depth_kernel(kernel):
    """K x K kernel [K, K, I, O] (odd K) -> the kernel [M, M, 4I, 4O] (M = K // 2 + 1) of the
    same VALID convolution on space_to_depth(2) inputs, producing space_to_depth(2) outputs:
    out phase (a, b) at block i reads input phase (p, q) of block i + m, tap
    (2m + p - a, 2n + q - b)."""
    kernel = np.asarray(kernel, np.float32)
    size, inputs, outputs = kernel.shape[0], kernel.shape[2], kernel.shape[3]
    taps = space_to_depth_taps(size)
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


def kernel_from_space_to_depth(kernel, size):
    """space_to_depth_kernel's inverse: [M, M, 4I, 4O] -> [K, K, I, O]. Output phase (0, 0)
    holds every tap once: tap (2m + p, 2n + q) at [m, n, (p, q)]."""
    taps, inputs, outputs = kernel.shape[0], kernel.shape[2] // 4, kernel.shape[3] // 4
    phase = np.asarray(kernel).reshape(taps, taps, 2, 2, inputs, 4, outputs)[:, :, :, :, :, 0]
    full = phase.transpose(0, 2, 1, 3, 4, 5).reshape(2 * taps, 2 * taps, inputs, outputs)
    return full[:size, :size]


def upsample_conv_kernel(kernel):
    """3x3 kernel [3, 3, I, O] applied to reflect_pad_1(nearest_x2(L)) -> [3, 3, I, 4O] applied
    to edge_pad_1(L), output phases (a, b) as depth_to_space(2) orders them."""
    kernel = np.asarray(kernel, np.float32)
    combined = np.einsum("amu,bnv,uvio->mniabo", _PHASE_TAPS, _PHASE_TAPS, kernel)
    return combined.reshape(3, 3, kernel.shape[2], 4 * kernel.shape[3]).astype(np.float32)


def kernel_from_upsample_conv(kernel):
    """upsample_conv_kernel's inverse: [3, 3, I, 4O] -> [3, 3, I, O]."""
    inputs, outputs = kernel.shape[2], kernel.shape[3] // 4
    phases = np.asarray(kernel, np.float32).reshape(3, 3, inputs, 2, 2, outputs)
    return np.einsum("uam,vbn,mniabo->uvio", _PHASE_INVERSE, _PHASE_INVERSE, phases)


def original_form(kernel, bias, shape):
    """(kernel, bias) of a conv as stored, in either form -> the form of a Keras kernel `shape`
    [K, K, I, O]: the space-to-depth form [M, M, 4I, 4O] (its bias, if any, repeated per
    phase: [4O]) or the upsample form [3, 3, I, 4O] is undone; any other shape is returned as
    it is (for the caller's shape check)."""
    size, _, inputs, outputs = shape
    taps = space_to_depth_taps(size)
    if size > 1 and kernel.shape == (taps, taps, 4 * inputs, 4 * outputs):
        return kernel_from_space_to_depth(kernel, size), bias[:outputs]
    if size == 3 and kernel.shape == (3, 3, inputs, 4 * outputs):
        return kernel_from_upsample_conv(kernel), bias[:outputs]
    return kernel, bias
