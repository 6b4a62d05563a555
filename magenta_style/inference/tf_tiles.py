"""The tiled network's layers (inference/tiled.TileLayers) computed by TensorFlow:
inference/fast.py's kernels, at their precision (tiles are stored in float32)."""
import numpy as np
import tensorflow as tf

from magenta_style import defaults
from magenta_style.inference import fast
from magenta_style.inference.tiled import TileLayers


class TFTileLayers(TileLayers):
    """A Stylizer's layers; kernels: its fast.InferenceKernels (built when None)."""

    def __init__(self, model, precision=defaults.STYLIZE_PRECISION, kernels=None):
        self.model = model
        self.kernels = kernels or fast.InferenceKernels(model, precision)
        self.contract_layers = [(size, stride) for size, stride, _, _ in
                                self.kernels.contract_layers]
        self.residual_depth = int(self.kernels.kernels["residual/residual1/conv1"].shape[2])
        self.expand1_depth = int(self.kernels.kernels[self.EXPAND_UPSAMPLED[0]].shape[3]) // 4

    def norms(self, bottleneck):
        params = self.model.style_params(tf.constant(bottleneck, tf.float32))[0]
        return {scope: (beta.numpy(), gamma.numpy(), epsilon)
                for scope, (beta, gamma, epsilon) in self.kernels.norms(params).items()}

    def contract(self, index, padded):
        return _float32(self.kernels.contract(index, tf.constant(padded[None])))

    def conv(self, scope, padded):
        return _float32(self.kernels.conv(scope, tf.constant(padded[None])))


def _float32(x):
    return np.asarray(tf.cast(x, tf.float32).numpy()[0])
