"""The TFLite graphs inference runs, and the conversion they share with export.py.

`engine_pair(model)`: the LiteRT engine's float32 pair (inference/litert_files.py caches it);
export/tflite.py builds the released variants (float, fp16, dynamic, int8) from the same
`write_tflite_source` SavedModel with `tflite_converter`, and names their tensors with
`rename_io_tensors`. The released tensor names are magenta_style/litert.py's.
"""
import tempfile

import keras
import numpy as np
import tensorflow as tf

from magenta_style import litert
from magenta_style.errors import ExportError
from magenta_style.inference import fast, fast_predictor
from magenta_style.inference.litert_tiles import tile_signature


def image_spec(name, batch=None, size=None):
    """float32 [batch, size, size, 3] (None: unknown)."""
    return tf.TensorSpec([batch, size, size, 3], tf.float32, name=name)


def write_tflite_source(model, directory, style_image_size, content_image_size,
                        folded_predictor=False):
    """SavedModel with fixed-shape endpoints `predict` and `transfer` for the converter.

    Keras' ExportArchive tracks the variables so that the converter freezes
    them into constants (a plain tf.Module leaves VAR_HANDLE ops behind).
    The transfer network is inference/fast.py's equivalent graph in TFLite
    built-ins, its kernels (read from the model now) in nets/kernel_forms.py's
    forms. content_image_size (style_image_size) 0 leaves H, W of the content (style) input
    unknown. folded_predictor: the predictor with its BatchNorms folded
    (inference/fast_predictor.py; its weights then keep the converter's names).
    """
    dim = model.bottleneck_dim
    content_size = content_image_size or None
    style_bottleneck = (fast_predictor.folded_graph(model.style_predictor) if folded_predictor
                        else model.style_bottleneck)
    kernels = fast.InferenceKernels(model)
    archive = keras.export.ExportArchive()
    archive.track(model)

    def predict(style_image):
        return {"style_bottleneck": tf.reshape(style_bottleneck(style_image), [1, 1, 1, dim])}

    def transfer(content_image, style_bottleneck):
        params = model.style_params(tf.reshape(style_bottleneck, [1, dim]))[0]
        return {"stylized_image": fast.stylize_graph(
            kernels, content_image, params, norm=fast.moments_instance_norm)}

    archive.add_endpoint("predict", predict,
                         input_signature=[image_spec("style_image", 1, style_image_size or None)])
    archive.add_endpoint("transfer", transfer, input_signature=[
        image_spec("content_image", 1, content_size),
        tf.TensorSpec([1, 1, 1, dim], tf.float32, name="style_bottleneck")])
    archive.write_out(directory, verbose=False)
    return directory


def tflite_converter(source_dir, signature_key):
    """A TFLite converter of one endpoint ('predict' or 'transfer') of `write_tflite_source`'s
    SavedModel, built-in ops only (it fails on ops needing Flex)."""
    converter = tf.lite.TFLiteConverter.from_saved_model(source_dir, signature_keys=[signature_key])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    return converter


def rename_io_tensors(model_bytes, inputs, outputs):
    """Gives the signature's inputs / outputs the released names and order.

    inputs, outputs: [(signature key, tensor name)]; subgraph 0's inputs and
    outputs become exactly these tensors in this order (what
    `Interpreter.get_input_details()` lists).
    """
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(model_bytes))
    subgraph, signature = model.subgraphs[0], model.signatureDefs[0]

    def assign(entries, tensor_maps):
        index = {as_text(t.name): t.tensorIndex for t in tensor_maps}
        missing = [key for key, _ in entries if key not in index]
        if missing:
            raise ExportError(f"converted model lacks signature tensor(s) {missing}")
        for key, name in entries:
            subgraph.tensors[index[key]].name = name.encode()
        return [index[key] for key, _ in entries]

    subgraph.inputs = assign(inputs, signature.inputs)
    subgraph.outputs = assign(outputs, signature.outputs)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def as_text(value):
    """A flatbuffer name (bytes or str) as str."""
    return value.decode() if isinstance(value, bytes) else value


def engine_pair(model):
    """(predict bytes, transfer bytes): the LiteRT engine's float32 pair (inference/litert_files.py).

    Both resizable (H, W unknown), the released tensor names and order; the transfer model is
    inference/fast.py's formulation, the predictor the folded one. Equal to the Keras model to
    float32 rounding (~1e-5), at any size.
    """
    with tempfile.TemporaryDirectory(prefix="magenta_style_litert_") as directory:
        write_tflite_source(model, directory, 0, 0, folded_predictor=True)
        predict = tflite_converter(directory, "predict").convert()
        transfer = tflite_converter(directory, "transfer").convert()
    return (rename_io_tensors(predict, litert.PREDICT_INPUTS, litert.PREDICT_OUTPUTS),
            rename_io_tensors(transfer, litert.TRANSFER_INPUTS, litert.TRANSFER_OUTPUTS))


def tile_layers(model):
    """(file bytes, arrays): the tiled network's layers for LiteRT (inference/litert_tiles.py).

    The file holds one resizable signature per convolution, input `x` [1, h, w, C] (padded as
    inference/tiled.TileLayers says), output `y`: 'contract1'..'contract3' (with the folded
    BatchNorm and ReLU) and each normalized layer's convolution, in inference/fast.py's
    formulation. `arrays` (for an .npz): the style-parameter head as one affine map (kernel
    [D, P], bias [P]: its Dense layers side by side), the norms' scopes, depths and epsilon,
    and the contract layers' sizes and strides.
    """
    from magenta_style.nets import predictor, transfer

    kernels = fast.InferenceKernels(model)
    archive = keras.export.ExportArchive()
    archive.track(model)

    keys = []

    def add(key, function, channels):
        keys.append(key)
        archive.add_endpoint(key, function, input_signature=[
            tf.TensorSpec([1, None, None, channels], tf.float32, name="x")])

    channels = 3
    for index, (_, _, _, depth) in enumerate(transfer.CONTRACT_LAYERS):
        add(f"contract{index + 1}", lambda x, i=index: {"y": kernels.contract(i, x)}, channels)
        channels = int(kernels.contract_layers[index][3].shape[0])
        if index == 0:
            channels //= 4  # its bias is repeated per space-to-depth phase
    for scope, _ in kernels.depths:
        channels = int(kernels.kernels[scope].shape[2])
        if scope == fast.EXPAND_LAST:
            channels //= 4  # its kernel takes the space-to-depth of its input
        add(tile_signature(scope), lambda x, s=scope: {"y": kernels.conv(s, x)}, channels)
    head = model.style_params_head
    pieces = [head.get_layer(name) for scope, _ in kernels.depths
              for name in predictor.head_layer_names(scope)]
    arrays = {
        "head_kernel": np.concatenate([layer.kernel.numpy() for layer in pieces], axis=1),
        "head_bias": np.concatenate([layer.bias.numpy() for layer in pieces]),
        "norm_scopes": np.array([scope for scope, _ in kernels.depths]),
        "norm_depths": np.array([depth for _, depth in kernels.depths], np.int64),
        "epsilon": np.float32(kernels.epsilon),
        "contract_layers": np.array([(size, stride) for size, stride, _, _ in
                                     kernels.contract_layers], np.int64),
    }
    with tempfile.TemporaryDirectory(prefix="magenta_style_tiles_") as directory:
        archive.write_out(directory, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(directory, signature_keys=keys)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        data = converter.convert()
    return data, arrays
