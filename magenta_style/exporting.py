"""Exporting a Stylizer: a TF Hub style SavedModel and the released TFLite pair, verified.

SavedModel (`saved_model/`): `m = tf.saved_model.load(dir)` (or `hub.load`) is
callable as `m(content, style)[0]` -> stylized batch, images float32 NHWC in
[0, 1] of any size, plus signatures `serving_default`, `predict_style` and
`transfer`.

TFLite, per variant V (float, fp16, dynamic, int8) two files with the released
models' tensor names and shapes (SPEC 6):
  `style_predict_V.tflite`: `style_image` [1, S, S, 3] -> `mobilenet_conv/Conv/BiasAdd` [1, 1, 1, 100]
  `style_transfer_V.tflite`: `content_image` [1, C, C, 3], `mobilenet_conv/Conv/BiasAdd`
    [1, 1, 1, 100] -> `transformer/expand/conv3/conv/Sigmoid` [1, C, C, 3]
The transfer model holds the style-parameter head. C = 0 exports a resizable
transfer model ([1, -1, -1, 3]; `interpreter.resize_tensor_input`).

`export` writes everything into a temporary folder beside the output, loads
every artifact back, compares it with the Keras model on a fixed input
(`verify`), and only then renames the folder into place.
"""
import collections
import contextlib
import dataclasses
import glob
import math
import os
import re
import shutil
import tempfile
import time
import warnings

import keras
import numpy as np
import tensorflow as tf

from magenta_style import data, defaults, image_io, weights
from magenta_style.progress import Progress

SAVED_MODEL_DIR = "saved_model"
TFLITE_VARIANTS = {"tflite_float": "float", "tflite_fp16": "fp16", "tflite_dynamic": "dynamic",
                   "tflite_int8": "int8"}

# Tensor names of Magenta's released TFLite pair (SPEC 6).
STYLE_IMAGE = "style_image"
CONTENT_IMAGE = "content_image"
BOTTLENECK = "mobilenet_conv/Conv/BiasAdd"
STYLIZED = "transformer/expand/conv3/conv/Sigmoid"
# (our signature key, released tensor name), in the released input / output order.
PREDICT_INPUTS = (("style_image", STYLE_IMAGE),)
PREDICT_OUTPUTS = (("style_bottleneck", BOTTLENECK),)
TRANSFER_INPUTS = (("content_image", CONTENT_IMAGE), ("style_bottleneck", BOTTLENECK))
TRANSFER_OUTPUTS = (("stylized_image", STYLIZED),)

VERIFICATION_TABLE = "verification.txt"
VERIFICATION_IMAGE = "verification.png"


class ExportError(RuntimeError):
    """An export that cannot be done or does not verify; str() is one line.

    `checks` holds the verification rows when verification failed.
    """

    def __init__(self, message, checks=None):
        super().__init__(message)
        self.checks = checks or []


def tflite_filenames(export_format):
    """'tflite_int8' -> ('style_predict_int8.tflite', 'style_transfer_int8.tflite')."""
    variant = TFLITE_VARIANTS[export_format]
    return f"style_predict_{variant}.tflite", f"style_transfer_{variant}.tflite"


def parse_formats(formats):
    """'saved_model,tflite_int8' or a list -> tuple in canonical order. Raises ValueError."""
    if isinstance(formats, str):
        formats = [f.strip() for f in formats.split(",") if f.strip()]
    unknown = [f for f in formats if f not in defaults.EXPORT_FORMATS]
    if unknown or not formats:
        raise ValueError(f"unknown export format(s) {', '.join(unknown) or '(none given)'}; "
                         f"expected a comma list of {', '.join(defaults.EXPORT_FORMATS)}")
    return tuple(f for f in defaults.EXPORT_FORMATS if f in formats)


# ----------------------------------------------------------------------------
# SavedModel with the TF Hub module's call contract.

def _image_spec(name, batch=None, size=None):
    return tf.TensorSpec([batch, size, size, 3], tf.float32, name=name)


class StylizerModule(tf.Module):
    """tf.Module wrapping a Stylizer for `tf.saved_model.save`.

    `module(content, style)` -> [stylized]: the TF Hub module contract. A style
    batch of 1 is broadcast over the content batch.
    """

    def __init__(self, model):
        super().__init__(name="stylizer_module")
        self.model = model
        self.bottleneck_dim = model.bottleneck_dim

    def _transfer(self, content_image, style_bottleneck):
        bottleneck = tf.broadcast_to(style_bottleneck,
                                     [tf.shape(content_image)[0], self.bottleneck_dim])
        return self.model.stylize(content_image, bottleneck)

    @tf.function(input_signature=[_image_spec("content_image"), _image_spec("style_image")])
    def __call__(self, content_image, style_image):
        return [self._transfer(content_image, self.model.style_bottleneck(style_image))]

    @tf.function(input_signature=[_image_spec("content_image"), _image_spec("style_image")])
    def serve(self, content_image, style_image):
        """serving_default: {'stylized_image': [B, H, W, 3]}."""
        return {"stylized_image": self.__call__(content_image, style_image)[0]}

    @tf.function(input_signature=[_image_spec("style_image")])
    def predict_style(self, style_image):
        """{'style_bottleneck': [B, 100]}."""
        return {"style_bottleneck": self.model.style_bottleneck(style_image)}

    @tf.function(input_signature=[_image_spec("content_image"),
                                  tf.TensorSpec([None, None], tf.float32, name="style_bottleneck")])
    def transfer(self, content_image, style_bottleneck):
        """{'stylized_image': [B, H, W, 3]} from content and bottleneck [B or 1, 100]."""
        return {"stylized_image": self._transfer(content_image, style_bottleneck)}


def save_saved_model(model, path):
    """Writes the TF Hub compatible SavedModel of `model` to `path` (a new folder)."""
    module = StylizerModule(model)
    tf.saved_model.save(module, path, signatures={
        "serving_default": module.serve.get_concrete_function(),
        "predict_style": module.predict_style.get_concrete_function(),
        "transfer": module.transfer.get_concrete_function(),
    })
    return path


# ----------------------------------------------------------------------------
# TFLite conversion.

def write_tflite_source(model, directory, style_image_size, content_image_size):
    """SavedModel with fixed-shape endpoints `predict` and `transfer` for the converter.

    Keras' ExportArchive tracks the variables so that the converter freezes
    them into constants (a plain tf.Module leaves VAR_HANDLE ops behind).
    content_image_size 0 leaves H, W of the content input unknown.
    """
    dim = model.bottleneck_dim
    content_size = content_image_size or None
    archive = keras.export.ExportArchive()
    archive.track(model)

    def predict(style_image):
        return {"style_bottleneck": tf.reshape(model.style_bottleneck(style_image), [1, 1, 1, dim])}

    def transfer(content_image, style_bottleneck):
        params = model.style_params(tf.reshape(style_bottleneck, [1, dim]))
        return {"stylized_image": model.transfer_network([content_image, params])}

    archive.add_endpoint("predict", predict,
                         input_signature=[_image_spec("style_image", 1, style_image_size)])
    archive.add_endpoint("transfer", transfer, input_signature=[
        _image_spec("content_image", 1, content_size),
        tf.TensorSpec([1, 1, 1, dim], tf.float32, name="style_bottleneck")])
    archive.write_out(directory, verbose=False)
    return directory


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
        index = {_text(t.name): t.tensorIndex for t in tensor_maps}
        missing = [key for key, _ in entries if key not in index]
        if missing:
            raise ExportError(f"converted model lacks signature tensor(s) {missing}")
        for key, name in entries:
            subgraph.tensors[index[key]].name = name.encode()
        return [index[key] for key, _ in entries]

    subgraph.inputs = assign(inputs, signature.inputs)
    subgraph.outputs = assign(outputs, signature.outputs)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


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
    made from a layer of `weights.released_mobile_table(alpha)`: the filter
    becomes '<scope>/weights' ('<scope>/depthwise_weights'), the bias
    '<scope>/Conv2D_bias' ('<scope>/depthwise_bias'), so that
    `weights.load_model('predict.tflite,transfer.tflite')` reads the pair back.
    A float16 constant feeding a DEQUANTIZE op gets the name (int8 constants
    keep their quantization). Constants the converter shares between several
    of these ops (deduplicated equal values, e.g. the zero biases of the
    convs before a style norm) keep their converter names. Raises ExportError
    when two ops claim the same layer.
    """
    from tensorflow.lite.tools import flatbuffer_utils

    names = weights.released_weight_names(alpha)
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
        layers = (_keras_layers_in(_text(tensors[op.outputs[0]].name), names)
                  | _keras_layers_in(_text(tensors[weight].name), names))
        if len(layers) != 1:
            continue  # not a layer of the released model (or an ambiguous name: left alone)
        layer = layers.pop()
        if layer in claimed:
            raise ExportError(f"TFLite ops {claimed[layer]!r} and {_text(tensors[weight].name)!r} "
                              f"both come from Keras layer {layer}")
        claimed[layer] = _text(tensors[weight].name)
        for index, name in ((weight, names[layer]), (constant(op, 2), weights.released_bias_name(names[layer]))):
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
        result = tf.lite.TFLiteConverter.from_saved_model(source_dir, signature_keys=[signature_key])
        result.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        return result

    conv = converter()
    if export_format == "tflite_fp16":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.target_spec.supported_types = [tf.float16]
    elif export_format == "tflite_dynamic":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    elif export_format == "tflite_int8":
        if representative is None:
            raise ValueError("tflite_int8 needs representative data for calibration")
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
        raise ValueError(f"not a TFLite format: {export_format!r}")
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


# ----------------------------------------------------------------------------
# Calibration and verification images.

def _photo_pool():
    """A few photos of different kinds, float32 [H, W, 3] in [0, 1] (scikit-image's samples)."""
    try:
        from skimage import data as samples
    except ImportError:
        return []
    names = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field",
             "immunohistochemistry", "retina", "colorwheel")
    return [np.asarray(getattr(samples, name)(), np.float32)[..., :3] / 255.0 for name in names]


def _synthetic_image(rng, size):
    """Smooth colour gradients, blobs and noise: a stand-in photo [size, size, 3] in [0, 1]."""
    y, x = np.mgrid[0:1:size * 1j, 0:1:size * 1j]
    channels = []
    for _ in range(3):
        fx, fy, phase = rng.uniform(0.5, 6, 2).tolist() + [rng.uniform(0, 2 * np.pi)]
        channels.append(0.5 + 0.35 * np.sin(2 * np.pi * (fx * x + fy * y) + phase))
    image = np.stack(channels, -1) + rng.normal(0, 0.05, (size, size, 3))
    return np.clip(image, 0, 1).astype(np.float32)


def builtin_images(count, size, seed=0, first=0):
    """`count` images [count, size, size, 3] in [0, 1]: random crops of

    scikit-image's sample photos (random scale, flips; photo `first` first),
    or synthetic gradients and noise when scikit-image is not installed.
    Deterministic for a seed.
    """
    rng = np.random.default_rng(seed)
    pool = _photo_pool()
    images = []
    for index in range(count):
        if not pool:
            images.append(_synthetic_image(rng, size))
            continue
        photo = pool[(first + index) % len(pool)]
        height, width = photo.shape[:2]
        side = int(rng.integers(min(height, width) // 3, min(height, width) + 1))
        top, left = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
        crop = tf.image.resize(photo[top:top + side, left:left + side], [size, size]).numpy()
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        images.append(np.clip(crop, 0, 1))
    return np.stack(images).astype(np.float32)


def _image_files(pattern):
    paths = sorted(glob.glob(pattern))
    return [p for p in paths if os.path.splitext(p)[1].lower() in data.IMAGE_EXTENSIONS]


def load_representative_images(sources, kind, count, size):
    """Calibration images from user sources: [<= count, size, size, 3] in [0, 1].

    sources: comma-separated globs of image files, or anything the data
    pipelines read (TFRecords: Magenta style records for kind 'style', ImageNet
    records for 'content'; image folders; `tfds:NAME`). Reference central
    crops. Raises ValueError when nothing is found.
    """
    images = []
    for source in [s.strip() for s in sources.split(",") if s.strip()]:
        files = _image_files(source)
        if files:
            for path in files[:count - len(images)]:
                image = image_io.load_image(path, max_shorter_side=4 * size)
                images.append(data.preprocess_content_image(tf.constant(image), size).numpy())
        else:
            pipeline = data.content_dataset if kind == "content" else data.style_dataset
            dataset = pipeline(source, batch_size=1, image_size=size, training=False)
            images += [batch["image"][0].numpy() for batch in dataset.take(count - len(images))]
        if len(images) >= count:
            break
    if not images:
        raise ValueError(f"{sources}: no representative {kind} images found")
    return np.stack(images).astype(np.float32)


def calibration_images(style_sources, content_sources, count, style_image_size,
                       content_image_size, seed=0):
    """(style [N, S, S, 3], content [N, C, C, 3]) for int8 calibration; built-in set by default."""
    def images(sources, kind, size, offset):
        if sources:
            return load_representative_images(sources, kind, count, size)
        return builtin_images(count, size, seed + offset, first=offset)
    return (images(style_sources, "style", style_image_size, 4),
            images(content_sources, "content", content_image_size, 0))


def verification_inputs(style_image_size, content_image_size):
    """Fixed (content [1, C, C, 3], style [1, S, S, 3]) the artifacts are checked on.

    Crops not used for calibration (another seed), so int8 is not judged on
    its own calibration data.
    """
    return (builtin_images(1, content_image_size, seed=1000),
            builtin_images(1, style_image_size, seed=1001, first=4))


# ----------------------------------------------------------------------------
# Verification.

@dataclasses.dataclass
class Check:
    """One row of the verification table."""
    export_format: str
    size_bytes: int
    max_abs: float
    psnr: float
    latency_ms: float
    tolerance: tuple
    output: np.ndarray = dataclasses.field(repr=False, default=None)

    @property
    def ok(self):
        kind, limit = self.tolerance
        return self.max_abs <= limit if kind == "max_abs" else self.psnr >= limit


def psnr(a, b):
    """PSNR in dB of images in [0, 1]; inf when equal."""
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)


def _median_ms(run, repeats):
    run()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


def _path_size(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(root, name))
               for root, _, names in os.walk(path) for name in names)


def load_interpreter(path, num_threads=defaults.EXPORT_NUM_THREADS):
    """tf.lite.Interpreter for a .tflite file, tensors allocated (deprecation warning muted)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_path=path, num_threads=num_threads)
    interpreter.allocate_tensors()
    return interpreter


def run_tflite_pair(predict, transfer, content, style):
    """Runs loaded interpreters by the released tensor names; returns stylized [1, H, W, 3].

    A resizable transfer model is resized to the content's size first.
    """
    predict_inputs = {d["name"]: d for d in predict.get_input_details()}
    predict.set_tensor(predict_inputs[STYLE_IMAGE]["index"], style)
    predict.invoke()
    outputs = {d["name"]: d for d in predict.get_output_details()}
    bottleneck = predict.get_tensor(outputs[BOTTLENECK]["index"])

    inputs = {d["name"]: d for d in transfer.get_input_details()}
    if tuple(inputs[CONTENT_IMAGE]["shape"]) != content.shape:
        transfer.resize_tensor_input(inputs[CONTENT_IMAGE]["index"], content.shape)
        transfer.allocate_tensors()
    transfer.set_tensor(inputs[CONTENT_IMAGE]["index"], content)
    transfer.set_tensor(inputs[BOTTLENECK]["index"], bottleneck)
    transfer.invoke()
    outputs = {d["name"]: d for d in transfer.get_output_details()}
    return transfer.get_tensor(outputs[STYLIZED]["index"])


def verify(directory, formats, reference, content, style, num_threads=defaults.EXPORT_NUM_THREADS,
           tolerances=None, repeats=3):
    """Loads every artifact in `directory` back and compares it with the Keras output.

    Args:
      reference: the Keras model's stylized output [1, H, W, 3] for (content, style).
    Returns:
      [Check] per format, in order.
    """
    tolerances = tolerances or defaults.EXPORT_TOLERANCES
    checks = []
    for export_format in formats:
        if export_format == "saved_model":
            path = os.path.join(directory, SAVED_MODEL_DIR)
            loaded = tf.saved_model.load(path)
            content_t, style_t = tf.constant(content), tf.constant(style)
            run = lambda: loaded(content_t, style_t)[0].numpy()  # noqa: E731
            size = _path_size(path)
        else:
            paths = [os.path.join(directory, name) for name in tflite_filenames(export_format)]
            predict, transfer = (load_interpreter(p, num_threads) for p in paths)
            run = lambda: run_tflite_pair(predict, transfer, content, style)  # noqa: E731
            size = sum(_path_size(p) for p in paths)
        output = run()
        latency = _median_ms(run, repeats)
        checks.append(Check(export_format, size, float(np.max(np.abs(output - reference))),
                            psnr(output, reference), latency, tolerances[export_format], output))
    return checks


def format_table(checks, num_threads=defaults.EXPORT_NUM_THREADS):
    """The verification table as text, one row per format."""
    header = (f"{'format':<16}{'size':>10}{'max abs diff':>14}{'PSNR dB':>9}"
              f"{'latency ms':>12}  tolerance")
    lines = [header, "-" * len(header)]
    for check in checks:
        kind, limit = check.tolerance
        tolerance = f"max abs <= {limit:g}" if kind == "max_abs" else f"PSNR >= {limit:g} dB"
        size = f"{check.size_bytes / 1e6:.2f} MB"
        value = "inf" if math.isinf(check.psnr) else f"{check.psnr:.1f}"
        lines.append(f"{check.export_format:<16}{size:>10}{check.max_abs:>14.2e}{value:>9}"
                     f"{check.latency_ms:>12.1f}  {tolerance} {'ok' if check.ok else 'FAILED'}")
    lines.append(f"(stylized output vs the Keras model; latency: one style + one stylization, "
                 f"median, {num_threads} threads for TFLite)")
    return "\n".join(lines)


def _write_verification(directory, checks, content, style, reference, num_threads):
    with open(os.path.join(directory, VERIFICATION_TABLE), "w", encoding="utf-8") as f:
        f.write(format_table(checks, num_threads) + "\n")
    # Row 1: content, style, Keras; row 2: each format's output.
    grid = image_io.image_grid([[content[0], style[0], reference[0]],
                                [check.output[0] for check in checks]])
    image_io.save_image(grid, os.path.join(directory, VERIFICATION_IMAGE))


# ----------------------------------------------------------------------------
# Whole export.

@contextlib.contextmanager
def _staging_dir(output_dir, overwrite):
    """Yields an empty folder beside output_dir; renames it into place on success."""
    output_dir = os.path.abspath(output_dir)
    if os.path.exists(output_dir) and not overwrite:
        raise FileExistsError(f"{output_dir}: already exists (use --overwrite to replace it)")
    parent = os.path.dirname(output_dir)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".tmp-export-", dir=parent)
    os.chmod(staging, 0o777 & ~image_io.current_umask())  # mkdtemp's 0700 would otherwise stick to the output
    try:
        yield staging
        if os.path.exists(output_dir):
            if not overwrite:
                raise FileExistsError(f"{output_dir}: appeared while exporting; nothing replaced")
            previous = tempfile.mkdtemp(prefix=".old-export-", dir=parent)
            os.replace(output_dir, os.path.join(previous, "old"))
            os.replace(staging, output_dir)
            shutil.rmtree(previous, ignore_errors=True)
        else:
            os.replace(staging, output_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def export(model, output_dir, formats=defaults.EXPORT_FORMATS,
           style_image_size=defaults.STYLE_IMAGE_SIZE,
           content_image_size=defaults.EXPORT_CONTENT_IMAGE_SIZE,
           representative_style_images=None, representative_content_images=None,
           num_calibration_images=defaults.NUM_CALIBRATION_IMAGES, overwrite=False,
           num_threads=defaults.EXPORT_NUM_THREADS, tolerances=None, log=print):
    """Exports `model` (a Stylizer) in `formats` to `output_dir`, verified.

    Args:
      formats: names from defaults.EXPORT_FORMATS.
      style_image_size: S of the TFLite predict input [1, S, S, 3].
      content_image_size: C of the TFLite transfer input; 0 = resizable.
      representative_*_images: int8 calibration sources (see
        load_representative_images); None = the built-in set.
      overwrite: replace an existing output_dir (else FileExistsError).
    Returns:
      [Check] verification rows (also written to verification.txt, with
      verification.png showing every format's output).
    Raises:
      ExportError: a format misses its tolerance; nothing is written then.
    """
    formats = parse_formats(formats)
    if style_image_size < 32:
        raise ValueError(f"style_image_size must be >= 32, got {style_image_size}")
    if content_image_size and content_image_size < 8:
        raise ValueError(f"content_image_size must be 0 (resizable) or >= 8, got {content_image_size}")
    tolerances = tolerances or defaults.EXPORT_TOLERANCES
    tflite_formats = [f for f in formats if f in TFLITE_VARIANTS]
    check_size = content_image_size or defaults.RELEASED_CONTENT_IMAGE_SIZE
    calibration = None
    if "tflite_int8" in formats:
        calibration = calibration_images(representative_style_images, representative_content_images,
                                         num_calibration_images, style_image_size, check_size)
    progress = Progress(len(formats) + (1 if tflite_formats else 0) + 1, "steps", name="export",
                        log=log)
    with _staging_dir(output_dir, overwrite) as staging, \
            tempfile.TemporaryDirectory(prefix="magenta-style-tflite-source-") as source:
        if "saved_model" in formats:
            with progress.timed("saved_model"):
                save_saved_model(model, os.path.join(staging, SAVED_MODEL_DIR))
        if tflite_formats:
            with progress.timed("TFLite source graph"):
                write_tflite_source(model, source, style_image_size, content_image_size)
        for export_format in tflite_formats:
            with progress.timed(export_format):
                pair = tflite_pair(model, source, export_format, calibration)
                for name, model_bytes in zip(tflite_filenames(export_format), pair):
                    with open(os.path.join(staging, name), "wb") as f:
                        f.write(model_bytes)
        with progress.timed("verification"):
            content, style = verification_inputs(style_image_size, check_size)
            reference = model((tf.constant(content), tf.constant(style))).numpy()
            checks = verify(staging, formats, reference, content, style, num_threads, tolerances)
        log(format_table(checks, num_threads))
        failed = [c.export_format for c in checks if not c.ok]
        if failed:
            raise ExportError(f"{', '.join(failed)} outside tolerance; nothing written to "
                              f"{output_dir}", checks)
        _write_verification(staging, checks, content, style, reference, num_threads)
    return checks
