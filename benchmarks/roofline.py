"""The transfer network against this machine's roofline: FLOPs and bytes moved per output pixel,
the machine's matmul rate and memory bandwidth, and each engine's time as a fraction of the
limit they set, at 384x384 and at 12 MP, in one run.

  python benchmarks/roofline.py [--model=pretrained:mobile] [--sizes=384x384,4000x3000]

Counted on the LiteRT engine's transfer file (the fast formulation every engine runs),
undelegated at 384x384, op by op:
  FLOPs: 2 x multiply-adds of CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED, plus one per output
    element of every other op (norms, ReLUs, sigmoid, adds, padding copies);
  bytes: every op reads its non-constant inputs and writes its output once (no fusion across
    ops: what a graph that materializes each activation moves), weights once per op.
Machine, measured here: float32 matmul (numpy 2048^3, best of 5), bfloat16 matmul (TensorFlow
2048^3, best of 5; AMX where the CPU has it), memory bandwidth (numpy copy of 512 MB, read +
write bytes, best of 5). Roofline time = max(FLOPs / matmul rate, bytes / bandwidth) at the
engine's precision (int8 at the bfloat16 rate, an upper bound of neither). Engines, interleaved
rounds, min and median: LiteRT float (magenta-stylize's default; tiled at 12 MP), TF float,
TF bfloat16 (tiled at 12 MP), LiteRT int8 (export.py's tflite_int8 transfer file, 384 only: it
has a fixed size).
"""
import os
import statistics
import sys
import tempfile
import time

import numpy as np
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.timing import conditions, cpu_name, interleaved_times  # noqa: E402
from magenta_style import defaults  # noqa: E402  (after the path fix above)

FLAGS = flags.FLAGS
flags.DEFINE_string("model", defaults.PRETRAINED_MOBILE, "Model spec.")
flags.DEFINE_list("sizes", ["384x384", "4000x3000"], "WxH content images.")
flags.DEFINE_integer("rounds", 3, "Interleaved rounds (after one warm-up).")
flags.DEFINE_boolean("int8", True, "Also convert and time export.py's int8 transfer file.")

MATMUL_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def count_transfer(path, size, dim):
    """(FLOPs, bytes moved) of one run of a transfer .tflite file at size x size."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from magenta_style import litert

    interpreter = Interpreter(model_path=path, experimental_op_resolver_type=(
        OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES))
    litert.stylize(interpreter, np.zeros((1, size, size, 3), np.float32),
                   np.zeros((1, 1, 1, dim), np.float32))
    tensors = {d["index"]: d for d in interpreter.get_tensor_details()}
    flops = moved = 0
    for op in interpreter._get_ops_details():  # pylint: disable=protected-access
        output = tensors[op["outputs"][0]]
        elements = int(np.prod(output["shape"]))
        if op["op_name"] in MATMUL_OPS:
            kernel = tensors[op["inputs"][1]]["shape"]  # OHWI; depthwise 1HWC; FC [O, I]
            per_output = kernel[-1] if op["op_name"] == "FULLY_CONNECTED" else (
                kernel[1] * kernel[2] * (1 if op["op_name"] == "DEPTHWISE_CONV_2D" else kernel[3]))
            flops += 2 * elements * int(per_output)
        else:
            flops += elements
        for index in list(op["inputs"]) + list(op["outputs"]):  # activations and weights
            if index >= 0:
                detail = tensors[index]
                moved += int(np.prod(detail["shape"])) * np.dtype(detail["dtype"]).itemsize
    return flops, moved


def machine():
    """(float32 GFLOP/s, bfloat16 GFLOP/s, GB/s)."""
    import tensorflow as tf

    def best(function, rounds=5):
        function()
        return min(_seconds(function) for _ in range(rounds))

    n = 2048
    a = np.random.default_rng(0).random((n, n), np.float32)
    float32 = 2 * n ** 3 / best(lambda: a @ a) / 1e9
    b = tf.cast(tf.constant(a), tf.bfloat16)
    bfloat16 = 2 * n ** 3 / best(lambda: tf.matmul(b, b).numpy()) / 1e9
    source = np.ones(128 << 20, np.float32)  # 512 MB
    target = np.empty_like(source)
    bandwidth = 2 * source.nbytes / best(lambda: np.copyto(target, source)) / 1e9
    return float32, bfloat16, bandwidth


def _seconds(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def _int8_transfer(model, directory, size):
    """export.py's tflite_int8 transfer file at size x size (calibrated on its built-in set)."""
    from magenta_style.export.calibration import calibration_images
    from magenta_style.export.tflite import tflite_pair
    from magenta_style.inference.tflite_graphs import write_tflite_source

    source = write_tflite_source(model, os.path.join(directory, "source"),
                                 defaults.STYLE_IMAGE_SIZE, size)
    calibration = calibration_images(None, None, 8, defaults.STYLE_IMAGE_SIZE, size)
    _, transfer = tflite_pair(model, source, "tflite_int8", calibration)
    path = os.path.join(directory, "transfer_int8.tflite")
    with open(path, "wb") as stream:
        stream.write(transfer)
    return path


def main(argv):
    del argv
    import tensorflow as tf

    from magenta_style import litert
    from magenta_style.inference import engines, litert_files
    from magenta_style.inference.tf_engine import TFEngine
    from magenta_style.weights import load_model

    model = load_model(FLAGS.model)
    lite = engines.load_engine(FLAGS.model, "litert", model=model, log=print)
    tf_float, tf_bf16 = TFEngine(model), TFEngine(model, "bfloat16")
    transfer_path = litert_files.file_paths(litert_files.litert_dir(FLAGS.model))[1]
    flops, moved = count_transfer(transfer_path, 384, model.bottleneck_dim)
    per_pixel_flops, per_pixel_bytes = flops / 384 ** 2, moved / 384 ** 2
    print(f"{cpu_name()}; {conditions()}")
    print(f"transfer network ({FLAGS.model}), counted at 384x384: {per_pixel_flops / 1e3:.1f} "
          f"kFLOP and {per_pixel_bytes / 1e3:.2f} kB moved per output pixel "
          f"(arithmetic intensity {per_pixel_flops / per_pixel_bytes:.1f} FLOP/byte)")
    float32, bfloat16, bandwidth = machine()
    print(f"machine: float32 matmul {float32:.0f} GFLOP/s, bfloat16 matmul {bfloat16:.0f} "
          f"GFLOP/s, memory copy {bandwidth:.1f} GB/s")
    rng = np.random.default_rng(0)
    bottleneck = lite.style_bottleneck(rng.random((256, 256, 3), np.float32))
    null = open(os.devnull, "w")  # pylint: disable=consider-using-with
    int8 = None
    if FLAGS.int8:
        directory = tempfile.mkdtemp(prefix="roofline_")
        int8 = litert.load_interpreter(_int8_transfer(model, directory, 384),
                                       os.cpu_count() or 1)
    print(f"{'size':>10s} {'engine':14s}{'min s':>9s}{'median s':>10s}{'roofline s':>12s}"
          f"{'of limit':>10s}  bound by")
    for size in FLAGS.sizes:
        width, height = (int(v) for v in size.split("x"))
        content = rng.random((height, width, 3), np.float32)
        runs = {"LiteRT float": (lambda: lite.stylize(content, bottleneck, null), float32),
                "TF float": (lambda: tf_float.stylize(content, bottleneck, null), float32),
                "TF bfloat16": (lambda: tf_bf16.stylize(content, bottleneck, null), bfloat16)}
        if int8 is not None and (height, width) == (384, 384):
            runs["LiteRT int8"] = (lambda: litert.stylize(int8, content[None], bottleneck),
                                   bfloat16)
        times = interleaved_times([run for run, _ in runs.values()], FLAGS.rounds, warmup=1)
        pixels = width * height
        for (name, (_, rate)), spent in zip(runs.items(), times):
            compute = per_pixel_flops * pixels / (rate * 1e9)
            memory = per_pixel_bytes * pixels / (bandwidth * 1e9)
            limit = max(compute, memory)
            median = statistics.median(spent)
            print(f"{size:>10s} {name:14s}{min(spent):>9.3f}{median:>10.3f}{limit:>12.3f}"
                  f"{limit / median:>10.0%}  {'compute' if compute >= memory else 'memory'}",
                  flush=True)
    print(f"after: {conditions()}; TF intra-op threads "
          f"{tf.config.threading.get_intra_op_parallelism_threads() or 'default'}")


if __name__ == "__main__":
    app.run(main)
