"""Loading every artifact back, running it on a fixed input, and the verification table."""
import dataclasses
import math
import os
import time

import numpy as np
import tensorflow as tf

from magenta_style import defaults, image_io
from magenta_style.export.calibration import builtin_images
from magenta_style.export.saved_model import SAVED_MODEL_DIR
from magenta_style.export.tflite import tflite_filenames
from magenta_style.litert import load_interpreter, run_tflite_pair

VERIFICATION_TABLE = "verification.txt"


VERIFICATION_IMAGE = "verification.png"


def verification_inputs(style_image_size, content_image_size):
    """Fixed (content [1, C, C, 3], style [1, S, S, 3]) the artifacts are checked on.

    Crops not used for calibration (another seed), so int8 is not judged on
    its own calibration data.
    """
    return (builtin_images(1, content_image_size, seed=1000),
            builtin_images(1, style_image_size, seed=1001, first=4))


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
