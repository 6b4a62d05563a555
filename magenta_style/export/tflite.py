"""TFLite conversion of the style predict / transfer pair, with the released tensor names."""
import collections
import re

import tensorflow as tf

from magenta_style import defaults
from magenta_style.errors import ExportError, UsageError
from magenta_style.inference.tflite_graphs import as_text, rename_io_tensors, tflite_converter
from magenta_style.litert import PREDICT_INPUTS, PREDICT_OUTPUTS, TRANSFER_INPUTS, TRANSFER_OUTPUTS
from magenta_style.weights.names import released_bias_name, released_weight_names

TFLITE_VARIANTS = {"tflite_float": "float", "tflite_fp16": "fp16", "tflite_dynamic": "dynamic",
                   "tflite_int8": "int8"}


def tflite_filenames(export_format):
    """'tflite_int8' -> ('style_predict_int8.tflite', 'style_transfer_int8.tflite')."""
    variant = TFLITE_VARIANTS[export_format]
    return f"style_predict_{variant}.tflite", f"style_transfer_{variant}.tflite"


def tflite_operators(model_bytes):
    """Counter of operator names ('CONV_2D', ..., custom codes) in subgraph 0."""
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(model_bytes))
    return collections.Counter(flatbuffer_utils.opcode_to_name(model, op.opcodeIndex)
                               for op in model.subgraphs[0].operators)


def custom_operators(model_bytes):
    """Sorted names of the non-builtin (custom / Flex) operators of a TFLite model."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.python import schema_util
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(model_bytes))
    return sorted({(code.customCode or b"").decode() for code in model.operatorCodes
                   if schema_util.get_builtin_code_from_operator_code(code)
                   == schema.BuiltinOperator.CUSTOM})


WEIGHT_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


_SCOPE_SUFFIX = re.compile(r"_\d+$")  # the converter's name scopes are layer names + '_N'


def _keras_layers_in(tensor_name, layer_names):
    """Keras layer names (from `layer_names`) that a converter tensor name's path mentions.

    'style_params_1/style_params_..._Conv_1_2/MatMul;...' -> {'style_params_..._Conv_1'}:
    each path segment is a layer's name scope, the layer name plus '_N'.
    """
    found = set()
    for segment in re.split(r"[;/]", tensor_name):
        stripped = _SCOPE_SUFFIX.sub("", segment)
        if stripped in layer_names:
            found.add(stripped)
        elif segment in layer_names:
            found.add(segment)
    return found


def rename_weight_tensors(model_bytes, alpha):
    """Gives conv filters and biases the released weight tensor names (SPEC 6).

    For every CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED op of subgraph 0
    made from a layer of `released_mobile_table(alpha)`: the filter
    becomes '<scope>/weights' ('<scope>/depthwise_weights'), the bias
    '<scope>/Conv2D_bias' ('<scope>/depthwise_bias'), so that
    `load_model('predict.tflite,transfer.tflite')` reads the pair back.
    A float16 constant feeding a DEQUANTIZE op gets the name (int8 constants
    keep their quantization). Constants the converter shares between several
    of these ops (deduplicated equal values, e.g. the zero biases of the
    convs before a style norm) keep their converter names. Raises ExportError
    when two ops claim the same layer.
    """
    from tensorflow.lite.tools import flatbuffer_utils

    names = released_weight_names(alpha)
    model = flatbuffer_utils.read_model_from_bytearray(bytearray(model_bytes))
    subgraph = model.subgraphs[0]
    tensors = subgraph.tensors
    ops = [(flatbuffer_utils.opcode_to_name(model, op.opcodeIndex), op) for op in subgraph.operators]
    dequantized_from = {op.outputs[0]: op.inputs[0] for kind, op in ops if kind == "DEQUANTIZE"}

    def constant(op, position):
        index = op.inputs[position] if position < len(op.inputs) else -1
        return dequantized_from.get(index, index)

    weight_ops = [op for kind, op in ops if kind in WEIGHT_OPS]
    users = collections.Counter(constant(op, p) for op in weight_ops for p in (1, 2))
    claimed = {}
    for op in weight_ops:
        weight = constant(op, 1)
        layers = (_keras_layers_in(as_text(tensors[op.outputs[0]].name), names)
                  | _keras_layers_in(as_text(tensors[weight].name), names))
        if len(layers) != 1:
            continue  # not a layer of the released model (or an ambiguous name: left alone)
        layer = layers.pop()
        if layer in claimed:
            raise ExportError(f"TFLite ops {claimed[layer]!r} and {as_text(tensors[weight].name)!r} "
                              f"both come from Keras layer {layer}")
        claimed[layer] = as_text(tensors[weight].name)
        for index, name in ((weight, names[layer]), (constant(op, 2), released_bias_name(names[layer]))):
            if index >= 0 and users[index] == 1:
                tensors[index].name = name.encode()
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def convert_tflite(source_dir, signature_key, export_format, representative=None,
                   quantized_ops=None):
    """Converts one endpoint of `write_tflite_source`'s SavedModel; returns bytes.

    Args:
      signature_key: 'predict' or 'transfer'.
      export_format: one of TFLITE_VARIANTS.
      representative: for tflite_int8, a callable returning an iterable of
        {signature input key: float32 array} calibration samples.
      quantized_ops: for tflite_int8, the TFLite op names that run in int8;
        every other op stays float (None: a full integer model with float I/O).
    Built-in ops only: the converter fails on ops needing Flex.
    """
    def converter():
        return tflite_converter(source_dir, signature_key)

    conv = converter()
    if export_format == "tflite_fp16":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.target_spec.supported_types = [tf.float16]
    elif export_format == "tflite_dynamic":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    elif export_format == "tflite_int8":
        if representative is None:
            raise UsageError("tflite_int8 needs representative data for calibration")
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = representative
        if quantized_ops is None:
            conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        else:
            # Selective quantization: every op type not listed stays float.
            float_ops = sorted(set(tflite_operators(converter().convert())) - set(quantized_ops))
            options = tf.lite.experimental.QuantizationDebugOptions(denylisted_ops=float_ops)
            debugger = tf.lite.experimental.QuantizationDebugger(
                converter=conv, debug_dataset=representative, debug_options=options)
            return debugger.get_nondebug_quantized_model()
    elif export_format != "tflite_float":
        raise UsageError(f"not a TFLite format: {export_format!r}")
    return conv.convert()


def tflite_pair(model, source_dir, export_format, calibration=None,
                quantized_ops=defaults.INT8_TRANSFER_QUANTIZED_OPS):
    """(predict bytes, transfer bytes) of one variant, with the released tensor names.

    calibration: for tflite_int8, (style images [N, S, S, 3], content images
    [N, C, C, 3]) in [0, 1]; the transfer model is calibrated with the Keras
    bottlenecks of the style images. Predict is a full integer model; the
    transfer model quantizes only `quantized_ops`.
    """
    predict_data = transfer_data = None
    if export_format == "tflite_int8":
        styles, contents = calibration
        bottlenecks = model.style_bottleneck(tf.constant(styles)).numpy()

        def predict_data():
            for style in styles:
                yield {"style_image": style[None]}

        def transfer_data():
            for index, content in enumerate(contents):
                bottleneck = bottlenecks[index % len(bottlenecks)]
                yield {"content_image": content[None],
                       "style_bottleneck": bottleneck.reshape(1, 1, 1, -1)}

    predict = convert_tflite(source_dir, "predict", export_format, predict_data, None)
    transfer = convert_tflite(source_dir, "transfer", export_format, transfer_data, quantized_ops)
    pair = (rename_weight_tensors(rename_io_tensors(predict, PREDICT_INPUTS, PREDICT_OUTPUTS),
                                  model.alpha),
            rename_weight_tensors(rename_io_tensors(transfer, TRANSFER_INPUTS, TRANSFER_OUTPUTS),
                                  model.alpha))
    for name, model_bytes in zip(tflite_filenames(export_format), pair):
        custom = custom_operators(model_bytes)
        if custom:
            raise ExportError(f"{name}: needs non-builtin ops {', '.join(custom)}")
    return pair
