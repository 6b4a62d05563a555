"""Name tables: reference tensor names (Magenta TF1 checkpoints, the released mobile pair) -> our Keras layers.

Shared by weight import and export (which gives exported tensors the released names).
"""
from magenta_style import defaults
from magenta_style.nets import predictor, transfer
from magenta_style.nets import stylizer as stylizer_lib


def _mobilenet_units():
    """(slim scope, Keras conv name, Keras BN name, is_depthwise) of MobileNetV2 to Conv_1."""
    units = [("MobilenetV2/Conv", "Conv1", "bn_Conv1", False),
             ("MobilenetV2/expanded_conv/depthwise", "expanded_conv_depthwise",
              "expanded_conv_depthwise_BN", True),
             ("MobilenetV2/expanded_conv/project", "expanded_conv_project",
              "expanded_conv_project_BN", False)]
    for block in range(1, 17):
        for part in ("expand", "depthwise", "project"):
            units.append((f"MobilenetV2/expanded_conv_{block}/{part}", f"block_{block}_{part}",
                          f"block_{block}_{part}_BN", part == "depthwise"))
    units.append(("MobilenetV2/Conv_1", "Conv_1", "Conv_1_bn", False))
    return units


def _weights_name(scope, depthwise=False):
    return f"{scope}/depthwise_weights" if depthwise else f"{scope}/weights"


def _head_entries(alpha, suffix, kind):
    entries = []
    for scope, _ in transfer.style_norm_depths(alpha):
        for tf1_conv, keras_name in zip(("Conv", "Conv_1"), predictor.head_layer_names(scope)):
            base = f"style_params/transformer/{scope}/StyleNorm/{tf1_conv}"
            entries.append(("head", keras_name, kind, [base + name for name in suffix]))
    return entries


def tf1_checkpoint_table(model_type, alpha):
    """[(part, layer, kind, [TF1 variable names])] for a Magenta TF1 checkpoint.

    kinds: 'conv' (kernel), 'dense' (1x1 conv kernel [+ biases] -> Dense),
    'batch_norm' (slim BatchNorm variables in Keras order).
    """
    table = []
    if model_type == "full":
        for scope in predictor.inception_conv_scopes():
            name = "InceptionV3/" + scope
            table.append(("predictor", predictor.keras_name(scope), "conv", [name + "/weights"]))
            table.append(("predictor", predictor.keras_name(scope) + "_BatchNorm", "batch_norm",
                          [f"{name}/BatchNorm/{v}" for v in ("beta", "moving_mean", "moving_variance")]))
    else:
        for scope, conv, norm, depthwise in _mobilenet_units():
            table.append(("predictor", conv, "conv", [_weights_name(scope, depthwise)]))
            table.append(("predictor", norm, "batch_norm",
                          [f"{scope}/BatchNorm/{v}"
                           for v in ("gamma", "beta", "moving_mean", "moving_variance")]))
    bottleneck = predictor.BOTTLENECK_SCOPE[stylizer_lib.MODEL_TYPES[model_type][0]]
    table.append(("predictor", predictor.keras_name(bottleneck), "dense",
                  [bottleneck + "/weights", bottleneck + "/biases"]))
    table += _head_entries(alpha, ("/weights", "/biases"), "dense")
    for scope, _, _, _ in transfer.CONTRACT_LAYERS:
        name = "transformer/" + scope
        table.append(("transfer", transfer.keras_name(scope), "conv", [name + "/weights"]))
        table.append(("transfer", transfer.keras_name(scope) + "_BatchNorm", "batch_norm",
                      [f"{name}/BatchNorm/{v}" for v in ("beta", "moving_mean", "moving_variance")]))
    for scope, _ in transfer.STYLE_NORM_LAYERS:
        table.append(("transfer", transfer.keras_name(scope), "conv",
                      [f"transformer/{scope}/weights"]))
    return table


def released_mobile_table(alpha=defaults.MOBILE_ALPHA):
    """[(part, layer, kind, [weight tensor name])] for the released mobile pair.

    The released TFLite/ONNX files hold convolutions with BatchNorm folded into
    a bias; each entry names the conv's weight tensor, the bias is the one that
    conv op adds. kinds: 'op_conv_folded_bn' (kernel -> conv, bias -> the
    following BatchNorm), 'op_dense' (1x1 conv with bias -> Dense), 'op_conv'
    (kernel only: a conv before a style norm, whose bias the instance norm's
    mean subtraction cancels; in the release they are all zero anyway).
    """
    table = [("predictor", conv, "op_conv_folded_bn", [_weights_name(scope, depthwise)])
             for scope, conv, _, depthwise in _mobilenet_units()]
    table.append(("predictor", predictor.keras_name("mobilenet_conv/Conv"), "op_dense",
                  ["mobilenet_conv/Conv/weights"]))
    table += _head_entries(alpha, ("/weights",), "op_dense")
    table += [("transfer", transfer.keras_name(scope), "op_conv_folded_bn",
               [f"transformer/{scope}/weights"]) for scope, _, _, _ in transfer.CONTRACT_LAYERS]
    table += [("transfer", transfer.keras_name(scope), "op_conv", [f"transformer/{scope}/weights"])
              for scope, _ in transfer.STYLE_NORM_LAYERS]
    return table


def released_weight_names(alpha=defaults.MOBILE_ALPHA):
    """{Keras conv / Dense layer name: released weight tensor name} (released_mobile_table reversed).

    E.g. 'block_3_project' -> 'MobilenetV2/expanded_conv_3/project/weights',
    'contract_conv1' -> 'transformer/contract/conv1/weights'.
    """
    return {layer: sources[0] for _, layer, _, sources in released_mobile_table(alpha)}


def released_bias_name(weight_name):
    """Released name of the bias a conv op adds: '<scope>/weights' -> '<scope>/Conv2D_bias',

    '<scope>/depthwise_weights' -> '<scope>/depthwise_bias'.
    """
    scope, kind = weight_name.rsplit("/", 1)
    return f"{scope}/depthwise_bias" if kind == "depthwise_weights" else f"{scope}/Conv2D_bias"


_MOBILENET_BN_OF_CONV = {conv: norm for _, conv, norm, _ in _mobilenet_units()}


def _folded_bn_name(conv_name):
    """Keras BatchNormalization layer that follows a conv whose BN was folded away."""
    return _MOBILENET_BN_OF_CONV.get(conv_name, conv_name + "_BatchNorm")
