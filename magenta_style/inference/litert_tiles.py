"""The tiled network's layers (inference/tiled.TileLayers) computed by LiteRT from the model's
cached tile file (inference/tflite_graphs.tile_layers), without TensorFlow."""
import numpy as np

from magenta_style import bottlenecks, litert
from magenta_style.errors import ModelSpecError
from magenta_style.inference.tiled import TileLayers


def tile_signature(scope):
    """The tile file's signature key of a normalized layer's convolution
    ('residual/residual1/conv1' -> 'residual__residual1__conv1'; the contract layers' are
    'contract1'..'contract3')."""
    return scope.replace("/", "__")


class LiteRTTileLayers(TileLayers):
    """Layers from (tile file, its arrays .npz); each call runs one signature of the file,
    resized to its tile (XNNPACK)."""

    def __init__(self, tiles_path, arrays_path, num_threads):
        interpreter = litert.load_interpreter(tiles_path, num_threads, allocate=False)
        try:
            with np.load(arrays_path) as arrays:
                self.head_kernel, self.head_bias = arrays["head_kernel"], arrays["head_bias"]
                scopes = [str(scope) for scope in arrays["norm_scopes"]]
                self.depths = list(zip(scopes, arrays["norm_depths"].tolist()))
                self.epsilon = float(arrays["epsilon"])
                self.contract_layers = [tuple(pair) for pair in arrays["contract_layers"].tolist()]
        except (OSError, KeyError, ValueError) as error:
            raise ModelSpecError(f"{arrays_path}: not readable ({error})") from None
        keys = [f"contract{i + 1}" for i in range(len(self.contract_layers))]
        keys += [tile_signature(scope) for scope in scopes]
        missing = sorted(set(keys) - set(interpreter.get_signature_list()))
        if missing:
            raise ModelSpecError(f"{tiles_path}: lacks the tile signatures {', '.join(missing)}")
        self._runners = {key: interpreter.get_signature_runner(key) for key in keys}
        self._interpreter = interpreter
        depth = dict(self.depths)  # a norm's depth is its convolution's output channels
        self.residual_depth = int(depth["residual/residual1/conv1"])
        self.expand1_depth = int(depth[self.EXPAND_UPSAMPLED[0]])

    def norms(self, bottleneck):
        params = (np.asarray(bottleneck, np.float32).reshape(1, -1) @ self.head_kernel
                  + self.head_bias)[0]
        return bottlenecks.split_style_params(params, self.depths, self.epsilon)

    def _run(self, key, padded):
        return self._runners[key](x=np.ascontiguousarray(padded[None], np.float32))["y"][0]

    def contract(self, index, padded):
        return self._run(f"contract{index + 1}", padded)

    def conv(self, scope, padded):
        return self._run(tile_signature(scope), padded)
