"""magenta_style: real-time arbitrary neural style transfer (Ghiasi et al., BMVC 2017).

Images everywhere are float32 NHWC in [0, 1].

The names below load on first use (PEP 562): `import magenta_style.<module>` does
not import TensorFlow by itself, so the entry scripts can set up TensorFlow's
logging first (cli.runner).
"""
import importlib

_EXPORTS = {
    "magenta_style.inference.fast": ("fast_stylize",),
    "magenta_style.inference.tiled": ("stylize_tiled",),
    "magenta_style.nets.losses": ("combine_losses", "content_loss", "gram_matrix", "style_loss",
                                  "total_loss", "total_variation_loss"),
    "magenta_style.nets.predictor": ("build_style_params_head", "build_style_predictor"),
    "magenta_style.nets.stylizer": ("Stylizer", "blend_bottlenecks", "build_stylizer"),
    "magenta_style.nets.transfer": ("build_transfer_network", "num_style_params",
                                    "style_norm_depths"),
    "magenta_style.nets.vgg": ("build_vgg16",),
}
_HOME = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_HOME)
__version__ = "0.1.0"


def __getattr__(name):
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module 'magenta_style' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_HOME])
