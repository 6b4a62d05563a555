"""magenta_style: real-time arbitrary neural style transfer (Ghiasi et al., BMVC 2017).

Images everywhere are float32 NHWC in [0, 1].
"""
from magenta_style.inference.fast import fast_stylize
from magenta_style.inference.tiled import stylize_tiled
from magenta_style.nets.losses import (
    combine_losses,
    content_loss,
    gram_matrix,
    style_loss,
    total_loss,
    total_variation_loss,
)
from magenta_style.nets.predictor import build_style_params_head, build_style_predictor
from magenta_style.nets.stylizer import Stylizer, blend_bottlenecks, build_stylizer
from magenta_style.nets.transfer import (
    build_transfer_network,
    num_style_params,
    style_norm_depths,
)
from magenta_style.nets.vgg import build_vgg16

__version__ = "0.1.0"

__all__ = [
    "Stylizer", "blend_bottlenecks", "build_stylizer", "build_style_params_head", "fast_stylize",
    "stylize_tiled",
    "build_style_predictor", "build_transfer_network", "build_vgg16", "combine_losses",
    "content_loss", "gram_matrix", "num_style_params", "style_loss", "style_norm_depths",
    "total_loss", "total_variation_loss",
]
