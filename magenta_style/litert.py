"""Running .tflite files with LiteRT (`ai-edge-litert`), TFLite's successor; no TensorFlow.

Every place that runs a .tflite file goes through `load_interpreter` (tf.lite is kept for
conversion only: `tf.lite.Interpreter` is deprecated). Float models run through XNNPACK,
which LiteRT applies by default. Tensors are found by the released pair's names
(below), so this runs Magenta's released files, export.py's and the LiteRT engine's
(inference/litert_engine.py) alike.
"""
import numpy as np

from magenta_style import defaults
from magenta_style.errors import ModelSpecError

# The released pair's tensor names (SPEC 6).
STYLE_IMAGE = "style_image"
CONTENT_IMAGE = "content_image"
BOTTLENECK = "mobilenet_conv/Conv/BiasAdd"
STYLIZED = "transformer/expand/conv3/conv/Sigmoid"
# (our signature key, released tensor name), in the released input / output order: how the
# converted files' tensors are renamed (inference/tflite_graphs.rename_io_tensors).
PREDICT_INPUTS = (("style_image", STYLE_IMAGE),)
PREDICT_OUTPUTS = (("style_bottleneck", BOTTLENECK),)
TRANSFER_INPUTS = (("content_image", CONTENT_IMAGE), ("style_bottleneck", BOTTLENECK))
TRANSFER_OUTPUTS = (("stylized_image", STYLIZED),)


def load_interpreter(path, num_threads=defaults.EXPORT_NUM_THREADS, allocate=True):
    """LiteRT Interpreter for a .tflite file, tensors allocated (unless `allocate` is False:
    a resizable model whose strided convolutions cannot take the 1 x 1 placeholder size of
    its unknown dimensions is allocated by run_model at its first input's size).

    Raises ModelSpecError when the file is not a readable TFLite model.
    """
    from ai_edge_litert.interpreter import Interpreter  # pylint: disable=import-outside-toplevel

    try:
        interpreter = Interpreter(model_path=path, num_threads=num_threads)
    except (ValueError, RuntimeError) as error:
        raise ModelSpecError(f"{path}: not a readable TFLite model "
                             f"({str(error).splitlines()[0] if str(error) else 'unreadable'})"
                             ) from None
    interpreter.magenta_style_allocated = allocate
    if allocate:
        interpreter.allocate_tensors()
    return interpreter


def _by_name(details):
    return {d["name"]: d for d in details}


def allocate(interpreter, shapes):
    """Allocates an interpreter for {input tensor name: shape}; returns its input details.

    An input whose shape differs from the allocated one is resized first (a resizable
    model); the interpreter is (re-)allocated only then, or when it never was.
    """
    details = _by_name(interpreter.get_input_details())
    resized = not getattr(interpreter, "magenta_style_allocated", True)
    for name, shape in shapes.items():
        if tuple(details[name]["shape"]) != tuple(shape):
            interpreter.resize_tensor_input(details[name]["index"], shape)
            resized = True
    if resized:
        interpreter.allocate_tensors()
        interpreter.magenta_style_allocated = True
        details = _by_name(interpreter.get_input_details())
    return details


def run_model(interpreter, inputs, output):
    """Runs one interpreter: {input tensor name: array} -> the named output (a copy), the
    interpreter allocated for the inputs' shapes first (`allocate`)."""
    details = allocate(interpreter, {name: value.shape for name, value in inputs.items()})
    for name, value in inputs.items():
        interpreter.set_tensor(details[name]["index"], np.ascontiguousarray(value, np.float32))
    interpreter.invoke()
    return interpreter.get_tensor(_by_name(interpreter.get_output_details())[output]["index"])


def style_bottleneck(predict, style):
    """Released-format predict model, style [1, H, W, 3] -> bottleneck [1, 1, 1, D]."""
    return run_model(predict, {STYLE_IMAGE: style}, BOTTLENECK)


def stylize(transfer, content, bottleneck):
    """Released-format transfer model, content [1, H, W, 3] + bottleneck -> [1, H, W, 3]."""
    dim = _by_name(transfer.get_input_details())[BOTTLENECK]["shape"]
    return run_model(transfer, {CONTENT_IMAGE: content,
                                BOTTLENECK: np.reshape(bottleneck, dim)}, STYLIZED)


def run_tflite_pair(predict, transfer, content, style):
    """Runs loaded interpreters by the released tensor names; returns stylized [1, H, W, 3].

    A resizable model is resized to its input's size first.
    """
    return stylize(transfer, content, style_bottleneck(predict, style))
