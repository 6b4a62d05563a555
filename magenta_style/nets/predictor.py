"""Style prediction networks (SPEC 1.2, 1.3) and the style-parameter head.

predictor: style image [B, H, W, 3] in [0, 1] -> backbone features -> mean over
H, W -> 1x1 conv -> style bottleneck [B, 100].
head: bottleneck [B, 100] -> per normalized layer of the transfer network a
beta and a gamma 1x1 conv -> flat style params [B, 2 * sum(depths)].

The Inception-v3 backbone is built here with Magenta's settings (ReLU6,
BatchNorm without scale, decay 0.9997, epsilon 1e-3) and slim's layer names
(`Mixed_5b_Branch_1_Conv2d_0b_5x5` for `InceptionV3/Mixed_5b/Branch_1/Conv2d_0b_5x5`),
so checkpoints map by name. MobileNetV2 is Keras' own, cut at `out_relu`, with its
stride-2 paddings made TF's "SAME" ones (as slim's, for any style size).
"""
import re

import keras
from keras import layers

from magenta_style import defaults
from magenta_style.nets import transfer
from magenta_style.nets.layers import SamePadding2D
from magenta_style.nets.transfer import keras_name

INCEPTION_V3 = "inception_v3"
MOBILENET_V2 = "mobilenet_v2"
PREDICTORS = (INCEPTION_V3, MOBILENET_V2)

# Bottleneck conv scope per backbone (TF1 names).
BOTTLENECK_SCOPE = {INCEPTION_V3: "Conv", MOBILENET_V2: "mobilenet_conv/Conv"}


def _conv_spec(name, filters, kernel, stride=1, padding="same"):
    return ("conv", name, filters, kernel if isinstance(kernel, tuple) else (kernel, kernel),
            stride, padding)


def _pool_spec(kind, stride, padding):
    return (kind, None, None, (3, 3), stride, padding)


def _mixed_5(block, pool_filters, branch_1_names=("Conv2d_0a_1x1", "Conv2d_0b_5x5")):
    return (block, [
        [_conv_spec("Branch_0/Conv2d_0a_1x1", 64, 1)],
        [_conv_spec("Branch_1/" + branch_1_names[0], 48, 1),
         _conv_spec("Branch_1/" + branch_1_names[1], 64, 5)],
        [_conv_spec("Branch_2/Conv2d_0a_1x1", 64, 1), _conv_spec("Branch_2/Conv2d_0b_3x3", 96, 3),
         _conv_spec("Branch_2/Conv2d_0c_3x3", 96, 3)],
        [_pool_spec("avg", 1, "same"), _conv_spec("Branch_3/Conv2d_0b_1x1", pool_filters, 1)],
    ])


def _mixed_6(block, width):
    return (block, [
        [_conv_spec("Branch_0/Conv2d_0a_1x1", 192, 1)],
        [_conv_spec("Branch_1/Conv2d_0a_1x1", width, 1),
         _conv_spec("Branch_1/Conv2d_0b_1x7", width, (1, 7)),
         _conv_spec("Branch_1/Conv2d_0c_7x1", 192, (7, 1))],
        [_conv_spec("Branch_2/Conv2d_0a_1x1", width, 1),
         _conv_spec("Branch_2/Conv2d_0b_7x1", width, (7, 1)),
         _conv_spec("Branch_2/Conv2d_0c_1x7", width, (1, 7)),
         _conv_spec("Branch_2/Conv2d_0d_7x1", width, (7, 1)),
         _conv_spec("Branch_2/Conv2d_0e_1x7", 192, (1, 7))],
        [_pool_spec("avg", 1, "same"), _conv_spec("Branch_3/Conv2d_0b_1x1", 192, 1)],
    ])


# slim inception_v3_base up to Mixed_6e: stem layers, then mixed blocks of
# parallel branches concatenated on channels. Names are slim's (quirks kept:
# Mixed_5c/Branch_1 and Mixed_6a/Branch_0's 3x3 "Conv2d_1a_1x1").
INCEPTION_STEM = (
    _conv_spec("Conv2d_1a_3x3", 32, 3, 2, "valid"),
    _conv_spec("Conv2d_2a_3x3", 32, 3, 1, "valid"),
    _conv_spec("Conv2d_2b_3x3", 64, 3, 1, "same"),
    _pool_spec("max", 2, "valid"),  # MaxPool_3a_3x3
    _conv_spec("Conv2d_3b_1x1", 80, 1, 1, "valid"),
    _conv_spec("Conv2d_4a_3x3", 192, 3, 1, "valid"),
    _pool_spec("max", 2, "valid"),  # MaxPool_5a_3x3
)
INCEPTION_MIXED = (
    _mixed_5("Mixed_5b", 32),
    _mixed_5("Mixed_5c", 64, ("Conv2d_0b_1x1", "Conv_1_0c_5x5")),
    _mixed_5("Mixed_5d", 64),
    ("Mixed_6a", [
        [_conv_spec("Branch_0/Conv2d_1a_1x1", 384, 3, 2, "valid")],
        [_conv_spec("Branch_1/Conv2d_0a_1x1", 64, 1), _conv_spec("Branch_1/Conv2d_0b_3x3", 96, 3),
         _conv_spec("Branch_1/Conv2d_1a_1x1", 96, 3, 2, "valid")],
        [_pool_spec("max", 2, "valid")],
    ]),
    _mixed_6("Mixed_6b", 128),
    _mixed_6("Mixed_6c", 160),
    _mixed_6("Mixed_6d", 160),
    _mixed_6("Mixed_6e", 192),
)
INCEPTION_FEATURE_DEPTH = 768


def inception_conv_scopes():
    """Slim scopes (below `InceptionV3/`) of the 70 conv+BatchNorm units, in slim order."""
    scopes = [spec[1] for spec in INCEPTION_STEM if spec[0] == "conv"]
    for block, branches in INCEPTION_MIXED:
        scopes += [f"{block}/{spec[1]}" for branch in branches for spec in branch if spec[0] == "conv"]
    return scopes


def build_inception_v3_mixed_6e(name="InceptionV3"):
    """Magenta's Inception-v3 base to Mixed_6e: [B, H, W, 3] in [0, 1] -> [B, h, w, 768].

    At 256 px input h = w = 14; at 299 px, 17.
    """
    def apply(spec, x, prefix=""):
        kind, scope, filters, kernel, stride, padding = spec
        if kind == "max":
            return layers.MaxPooling2D(kernel, stride, padding)(x)
        if kind == "avg":
            return layers.AveragePooling2D(kernel, stride, padding)(x)
        scope = prefix + scope
        x = layers.Conv2D(filters, kernel, strides=stride, padding=padding, use_bias=False,
                          kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.1),
                          name=keras_name(scope))(x)
        x = layers.BatchNormalization(scale=False, epsilon=defaults.INCEPTION_BATCH_NORM_EPSILON,
                                      momentum=defaults.INCEPTION_BATCH_NORM_MOMENTUM,
                                      name=keras_name(scope) + "_BatchNorm")(x)
        return layers.ReLU(6.0, name=keras_name(scope) + "_relu6")(x)

    image = keras.Input((None, None, 3), name="style_image")
    x = image  # fed as is, in [0, 1], like Magenta
    for spec in INCEPTION_STEM:
        x = apply(spec, x)
    for block, branches in INCEPTION_MIXED:
        outputs = []
        for branch in branches:
            y = x
            for spec in branch:
                y = apply(spec, y, prefix=block + "/")
            outputs.append(y)
        x = layers.Concatenate(axis=-1, name=block)(outputs)
    return keras.Model(image, x, name=name)


def _in_creation_order(model, layer_type):
    """Layers of one type of a Keras application in creation order (auto-named `conv2d_N`)."""
    def creation_index(layer):
        match = re.search(r"_(\d+)$", layer.name)
        return int(match.group(1)) if match else 0
    return sorted((layer for layer in model.layers if isinstance(layer, layer_type)),
                  key=creation_index)


def load_keras_inception_weights(backbone, weights):
    """Copies Keras' InceptionV3 weights ('imagenet' or a local .h5 file) into `backbone`.

    Keras' application creates its convs in slim's order, so units pair up by
    creation order; shapes are checked for every pair.
    """
    reference = keras.applications.InceptionV3(include_top=False, weights=weights,
                                               input_shape=(None, None, 3))
    convs = _in_creation_order(reference, layers.Conv2D)
    norms = _in_creation_order(reference, layers.BatchNormalization)
    scopes = inception_conv_scopes()
    if min(len(convs), len(norms)) < len(scopes):
        raise ValueError(f"Keras InceptionV3 has {len(convs)} convs, expected at least {len(scopes)}")
    for scope, conv, norm in zip(scopes, convs, norms):
        backbone.get_layer(keras_name(scope)).set_weights(conv.get_weights())
        backbone.get_layer(keras_name(scope) + "_BatchNorm").set_weights(norm.get_weights())


def build_mobilenet_v2_backbone(weights=None, name="MobilenetV2"):
    """Keras MobileNetV2 (depth 1.0) to `out_relu` (slim layer_19): [B, H, W, 3] -> [B, h, w, 1280].

    weights: 'imagenet', a local Keras weights file, or None (random).
    """
    backbone = keras.applications.MobileNetV2(input_shape=(None, None, 3), alpha=1.0,
                                              include_top=False, weights=weights)
    backbone = keras.models.clone_model(backbone, clone_function=_same_padding)
    return keras.Model(backbone.input, backbone.output, name=name)


# Keras' MobileNetV2 pads before each stride-2 3x3 depthwise conv (VALID) by (0, 1) on H and W
# whatever the size, which is TF's SAME padding only for even sizes; slim's MobilenetV2
# (Magenta's) uses SAME: (1, 1) on odd sizes. Without this the bottleneck of a style whose
# sides are not multiples of 32 differs from Magenta's (e.g. 256 x 341).
MOBILENET_PAD_KERNEL, MOBILENET_PAD_STRIDE = 3, 2


def _same_padding(layer):
    """clone_model hook: Keras' ZeroPadding2D -> SamePadding2D (same name); other layers kept as is."""
    if not isinstance(layer, layers.ZeroPadding2D):
        return layer  # weights and all: no copy
    if tuple(map(tuple, layer.padding)) != ((0, 1), (0, 1)):
        raise ValueError(f"{layer.name}: unexpected MobileNetV2 padding {layer.padding}")
    return SamePadding2D(MOBILENET_PAD_KERNEL, MOBILENET_PAD_STRIDE, name=layer.name)


def build_style_predictor(predictor=INCEPTION_V3, weights=None,
                          bottleneck_dim=defaults.BOTTLENECK_DIM, name="style_predictor"):
    """Style image [B, H, W, 3] in [0, 1] -> style bottleneck [B, bottleneck_dim].

    Args:
      predictor: 'inception_v3' (full model) or 'mobilenet_v2' (mobile model).
      weights: backbone weights: 'imagenet' (Keras download), a local Keras
        weights file (.h5), or None / 'random'.
    """
    if predictor not in PREDICTORS:
        raise ValueError(f"unknown style predictor {predictor!r}; expected one of {PREDICTORS}")
    if weights == defaults.RANDOM:
        weights = None
    image = keras.Input((None, None, 3), name="style_image")
    if predictor == INCEPTION_V3:
        backbone = build_inception_v3_mixed_6e()
        if weights is not None:
            load_keras_inception_weights(backbone, weights)
    else:
        backbone = build_mobilenet_v2_backbone(weights)
    features = backbone(image)  # [B, h, w, 768 | 1280]
    pooled = layers.GlobalAveragePooling2D(name="spatial_mean")(features)
    bottleneck = layers.Dense(bottleneck_dim, name=keras_name(BOTTLENECK_SCOPE[predictor]))(pooled)
    return keras.Model(image, bottleneck, name=name)


def head_layer_names(scope):
    """Normalized-layer scope -> Keras names of its (beta, gamma) convs in the head."""
    base = keras_name(f"style_params/transformer/{scope}/StyleNorm")
    return base + "_Conv", base + "_Conv_1"


def build_style_params_head(alpha=defaults.FULL_ALPHA, bottleneck_dim=defaults.BOTTLENECK_DIM,
                            name="style_params"):
    """Bottleneck [B, bottleneck_dim] -> style params [B, num_style_params(alpha)].

    For each normalized layer of the transfer network (in its declared order)
    a beta conv (`.../StyleNorm/Conv`) and a gamma conv (`.../StyleNorm/Conv_1`),
    1x1 convs with bias (Dense on the squeezed bottleneck), concatenated as
    [beta_1, gamma_1, beta_2, gamma_2, ...].
    """
    bottleneck = keras.Input((bottleneck_dim,), name="style_bottleneck")
    pieces = []
    for scope, depth in transfer.style_norm_depths(alpha):
        beta_name, gamma_name = head_layer_names(scope)
        pieces.append(layers.Dense(depth, name=beta_name)(bottleneck))
        pieces.append(layers.Dense(depth, name=gamma_name)(bottleneck))
    params = layers.Concatenate(axis=-1, name="style_params_concat")(pieces)
    return keras.Model(bottleneck, params, name=name)
