"""The transfer network (TF1 scope `transformer/`, SPEC 1.1).

Reads top to bottom like the layer table: contract (3 convs with BatchNorm),
5 residual blocks and expand (2 nearest-neighbour x2 upsamplings, final 9x9
conv) with conditional style norm, sigmoid output.

Keras layer names are the reference scopes below `transformer/` with `/`
replaced by `_` (`residual/residual1/conv1` -> `residual_residual1_conv1`),
see `keras_name`.
"""
import keras
from keras import layers

from magenta_style import defaults
from magenta_style.nets.layers import (
    ConditionalStyleNorm,
    CropLike,
    NearestUpsampling2D,
    ReflectionPadding2D,
    wide_dtype,
)

# Normalized layers in order, with their depth at alpha = 1 (SPEC 1.1). The
# style-parameter head and weight import read this declaration.
STYLE_NORM_LAYERS = tuple(
    [(f"residual/residual{block}/conv{conv}", 128) for block in range(1, 6) for conv in (1, 2)]
    + [("expand/conv1/conv", 64), ("expand/conv2/conv", 32), ("expand/conv3/conv", 3)])

CONTRACT_LAYERS = (("contract/conv1", 9, 1, 32), ("contract/conv2", 3, 2, 64),
                   ("contract/conv3", 3, 2, 128))
TOTAL_STRIDE = 4
MIN_CONTENT_SIZE = defaults.MIN_CONTENT_SIZE


def keras_name(scope):
    """Reference scope -> Keras layer name (`/` is not allowed in Keras names)."""
    return scope.replace("/", "_")


def scaled_depth(depth, alpha):
    """Channel count at width multiplier alpha; the RGB output keeps 3."""
    return depth if depth == 3 else int(alpha * depth)


def style_norm_depths(alpha=defaults.FULL_ALPHA):
    """[(scope, depth)] of the 13 normalized layers at width multiplier alpha."""
    return [(scope, scaled_depth(depth, alpha)) for scope, depth in STYLE_NORM_LAYERS]


def num_style_params(alpha=defaults.FULL_ALPHA):
    """Style parameters per image: 2 x sum of depths (2758 at alpha 1, 694 at 0.25)."""
    return 2 * sum(depth for _, depth in style_norm_depths(alpha))


def _conv(depth, kernel_size, stride, name, use_bias=False):
    return layers.Conv2D(depth, kernel_size, strides=stride, padding="valid", use_bias=use_bias,
                         kernel_initializer=keras.initializers.RandomNormal(0.0, 0.01),
                         name=name)


def build_transfer_network(alpha=defaults.FULL_ALPHA, name="transformer"):
    """Builds the transfer network as a functional Keras model.

    Args:
      alpha: width multiplier (1.0 full, 0.25 mobile).
    Returns:
      Model `[content_image, style_params] -> stylized`: content float32
      [B, H, W, 3] in [0, 1], any H, W >= 5; style_params [B, num_style_params(alpha)]
      ordered per normalized layer as (beta, gamma); output [B, H, W, 3] in [0, 1].
    """
    content = keras.Input((None, None, 3), name="content_image")
    style_params = keras.Input((num_style_params(alpha),), name="style_params")

    # Per-layer (beta, gamma) slices of the flat parameter vector.
    norm_params, offset = {}, 0
    for scope, depth in style_norm_depths(alpha):
        beta = style_params[:, offset:offset + depth]
        gamma = style_params[:, offset + depth:offset + 2 * depth]
        norm_params[scope] = (beta, gamma)
        offset += 2 * depth

    def conv_block(x, scope, kernel_size):
        """reflect pad -> conv (no bias, depth from STYLE_NORM_LAYERS) -> conditional style norm."""
        beta, gamma = norm_params[scope]
        x = ReflectionPadding2D(kernel_size // 2, name=keras_name(scope) + "_pad")(x)
        x = _conv(beta.shape[-1], kernel_size, 1, keras_name(scope))(x)
        return ConditionalStyleNorm(name=keras_name(scope) + "_StyleNorm")([x, beta, gamma])

    # The network runs on the content as it is, like Magenta's: stride-2 convs give
    # ceil(H/2) then ceil(H/4) rows, the upsamplings 4 ceil(H/4) >= H, cropped to H below.
    h = content
    for scope, kernel_size, stride, depth in CONTRACT_LAYERS:
        h = ReflectionPadding2D(kernel_size // 2, name=keras_name(scope) + "_pad")(h)
        h = _conv(int(alpha * depth), kernel_size, stride, keras_name(scope))(h)
        h = layers.BatchNormalization(
            center=True, scale=False, epsilon=defaults.CONTRACT_BATCH_NORM_EPSILON,
            momentum=defaults.CONTRACT_BATCH_NORM_MOMENTUM,
            name=keras_name(scope) + "_BatchNorm")(h)
        h = layers.ReLU(name=keras_name(scope) + "_relu")(h)
    # h: [B, ceil(H/4), ceil(W/4), 128 alpha]

    for block in range(1, 6):
        scope = f"residual/residual{block}"
        r = conv_block(h, scope + "/conv1", 3)
        r = layers.ReLU(name=keras_name(scope) + "_conv1_relu")(r)
        r = conv_block(r, scope + "/conv2", 3)
        h = layers.Add(name=keras_name(scope) + "_add")([h, r])

    for scope in ("expand/conv1/conv", "expand/conv2/conv"):
        h = NearestUpsampling2D(2, name=keras_name(scope) + "_upsample")(h)
        h = conv_block(h, scope, 3)
        h = layers.ReLU(name=keras_name(scope) + "_relu")(h)
    # h: [B, 4 ceil(H/4), 4 ceil(W/4), 32 alpha]

    h = conv_block(h, "expand/conv3/conv", 9)
    # The output in float32 under mixed precision (float64 under a float64 policy).
    h = layers.Activation("sigmoid", name="expand_conv3_conv_Sigmoid",
                          dtype=wide_dtype(keras.config.dtype_policy().compute_dtype))(h)
    stylized = CropLike(name="crop_to_content")([h, content])  # [B, H, W, 3]
    return keras.Model([content, style_params], stylized, name=name)
