"""Phone photos: whole `magenta-stylize` processes on one photo each, 384x384 to 12 MP, per
engine, with the LiteRT files cached; wall time, peak RSS and the cost per pixel.

  python benchmarks/photos.py                         # both models, the default sizes, 3 rounds
  python benchmarks/photos.py --models=mobile --sizes=384x384,4000x3000 --engines=auto,tf

Each round runs every (model, size, engine) once, in turn (interleaved), as a fresh process on
one JPEG photo (a smooth random picture) with one gallery style; peak RSS is the process's own
(os.wait4's ru_maxrss). `mobile` is pretrained:mobile, `full` a random full model (Inception-v3,
alpha 1) saved as .keras: speed and memory do not depend on the weights. Per pixel: the
median wall time less the first (tiny) photo's, which is the start-up, over the photo's
pixels; "vs 2nd" relates it to the second size's (384x384) in the same run.
Prints the load average, the CPU and the thread count.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from absl import app, flags
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.timing import cpu_name  # noqa: E402
from magenta_style import defaults  # noqa: E402  (after the path fix above)

FLAGS = flags.FLAGS
flags.DEFINE_list("models", ["mobile", "full"], "mobile and/or full.")
flags.DEFINE_list("sizes", ["64x64", "384x384", "2000x1500", "2001x1499", "4000x3000"],
                  "WxH photos; the first (tiny) one measures the start-up.")
flags.DEFINE_list("engines", ["auto"], "--engine values to run.")
flags.DEFINE_integer("rounds", 3, "Interleaved rounds.")
flags.DEFINE_string("style", "gravel", "Gallery style.")
flags.DEFINE_string("make_photo", None, "Internal: WxH, write that photo into --work_dir.")
flags.DEFINE_string("work_dir", None, "Where photos, models and the cache go (default: a "
                    "temporary folder).")


def _photo(path, width, height):
    """A smooth random photo (JPEG): random noise would stress nothing differently."""
    rng = np.random.default_rng(width * height)
    small = rng.random((max(height // 64, 2), max(width // 64, 2), 3))
    image = Image.fromarray((small * 255).astype(np.uint8)).resize((width, height),
                                                                    Image.BICUBIC)
    image.save(path, quality=90)


def _model(name, work):
    """The model spec; a random full model is saved by a child process: this one stays small,
    as a child's peak RSS starts from its parent's (fork then exec)."""
    if name == "mobile":
        return defaults.PRETRAINED_MOBILE
    path = os.path.join(work, f"{name}.keras")
    if not os.path.exists(path):
        subprocess.run([sys.executable, "-c", "import sys; from magenta_style.nets.stylizer "
                        "import build_stylizer; build_stylizer(sys.argv[1]).save(sys.argv[2])",
                        name, path], check=True, capture_output=True,
                       cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return path


def _run(command, env):
    """(wall seconds, peak RSS bytes) of one process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    stderr = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {stderr[-2000:]}")
    return seconds, usage.ru_maxrss * 1024


def main(argv):
    del argv
    work = FLAGS.work_dir or tempfile.mkdtemp(prefix="photos_bench_")
    os.makedirs(work, exist_ok=True)
    if FLAGS.make_photo:
        width, height = (int(v) for v in FLAGS.make_photo.split("x"))
        _photo(os.path.join(work, f"photo_{FLAGS.make_photo}.jpg"), width, height)
        return
    shutil.rmtree(os.path.join(work, "out"), ignore_errors=True)  # outputs of an earlier run
    env = {**os.environ, "MAGENTA_STYLE_CACHE": os.path.join(work, "cache")}
    script = os.path.join(os.path.dirname(sys.executable), "magenta-stylize")
    photos = {}
    for size in FLAGS.sizes:
        photos[size] = os.path.join(work, f"photo_{size}.jpg")
        if not os.path.exists(photos[size]):  # made by a child: this process stays small
            subprocess.run([sys.executable, os.path.abspath(__file__), f"--make_photo={size}",
                            f"--work_dir={work}"], check=True)
    jobs = [(name, size, engine) for name in FLAGS.models for size in FLAGS.sizes
            for engine in FLAGS.engines]

    def command(name, size, engine, index):
        out = os.path.join(work, "out", f"{name}_{size}_{engine}_{index}")
        return [script, f"--model={_model(name, work)}", f"--engine={engine}",
                f"--content_images_paths={photos[size]}",
                f"--style_images_paths=gallery:{FLAGS.style}", f"--output_dir={out}"]

    for name in FLAGS.models:  # builds (and caches) the LiteRT files, untimed
        _run(command(name, FLAGS.sizes[0], "litert", "warm"), env)
    print(f"{cpu_name()}, {os.cpu_count()} CPUs (LiteRT and TensorFlow use all of them); "
          f"load average before {'/'.join(f'{v:.1f}' for v in os.getloadavg())}")
    results = {job: [] for job in jobs}
    for index in range(FLAGS.rounds):
        for job in jobs:
            results[job].append(_run(command(*job, index), env))
    print(f"{'model':7s}{'photo':>11s}{'engine':>8s}{'wall min':>10s}{'median':>8s}"
          f"{'peak RSS GB':>13s}{'us/pixel':>10s}{'vs 2nd':>8s}")
    for name in FLAGS.models:
        for engine in FLAGS.engines:
            start_up = statistics.median(s for s, _ in results[(name, FLAGS.sizes[0], engine)])
            second = None
            for size in FLAGS.sizes:
                runs = results[(name, size, engine)]
                walls = [seconds for seconds, _ in runs]
                width, height = (int(v) for v in size.split("x"))
                # Per pixel net of the start-up (the first size's whole run).
                per_pixel = (statistics.median(walls) - start_up) / (width * height) * 1e6
                if size != FLAGS.sizes[0]:
                    second = second or per_pixel
                ratio = f"{per_pixel / second:>8.2f}" if second else f"{'':>8s}"
                print(f"{name:7s}{size:>11s}{engine:>8s}{min(walls):>10.2f}"
                      f"{statistics.median(walls):>8.2f}{max(r for _, r in runs) / 1e9:>13.2f}"
                      f"{per_pixel:>10.3f}{ratio}")
    print(f"load average after {'/'.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    app.run(main)
