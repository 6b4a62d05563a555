r"""One prepared accelerator benchmark: everything a GPU machine should measure, one table.

  benchmarks/device_suite.sh            # on the GPU machine (~7 minutes; stops by --budget_s)
  benchmarks/device_suite.sh --dry      # anywhere: the same code paths at tiny sizes

Rows (each printed as measured, then all together as one Markdown table):
  train step  images/s of train.py's compiled step, full and mobile x float32 /
              mixed (bfloat16: bf16 compute, float32 variables and losses) / XLA
              (the whole step as one XLA program), batch 8 at 256 px, in-memory batch
  pipeline    images/s of the content, style and combined training pipelines on all
              host cores (benchmarks/pipeline_headroom.py) and their headroom over
              the fastest step
  stylize     batch-1 latency of the full model's transfer network at 1024, 2048, 4096 px
  evaluation  wall time of the 1024-style evaluation (evaluate(), 4 content images),
              measured on a fraction of the styles and extrapolated (labelled so)
Weights are random (speed does not depend on them); data are generated.
Sections that would not fit the remaining --budget_s are listed as skipped.
"""
import os
import sys
import tempfile
import time

from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import pipeline_headroom  # noqa: E402  pylint: disable=wrong-import-position
from benchmarks.timing import conditions, interleaved_times, min_median  # noqa: E402  pylint: disable=wrong-import-position
from magenta_style.cli import runner  # noqa: E402  pylint: disable=wrong-import-position
from magenta_style.errors import UsageError  # noqa: E402  pylint: disable=wrong-import-position

flags.DEFINE_boolean("dry", False, "Tiny sizes and one model, for CPUs and CI: checks that "
                     "every section runs, measures nothing meaningful.")
flags.DEFINE_list("sections", ["step", "pipeline", "stylize", "evaluation"],
                  "Sections to run, in this order.")
flags.DEFINE_list("step_modes", None, "Train step modes to measure (benchmarks/workloads.py "
                  "STEP_MODES keys); default: the preset's, float32, bfloat16 and xla.")
flags.DEFINE_float("budget_s", 450.0, "Stop starting new measurements after this many seconds.",
                   lower_bound=0.0)
FLAGS = flags.FLAGS

# What each mode measures. Device numbers: batch 8 at 256 px as in training.
PRESETS = {
    "device": dict(models=("mobile", "full"), step_modes=("float32", "bfloat16", "xla"),
                   batch_size=8, image_size=256, steps=10, pipeline_images=512, pipeline_rounds=3,
                   step_config={},
                   stylize_sizes=(1024, 2048, 4096), stylize_repeats=5,
                   eval_styles=64, eval_target=1024, eval_image_size=256),
    "dry": dict(models=("mobile",), step_modes=("float32", "bfloat16", "xla"),
                batch_size=1, image_size=32, steps=1, pipeline_images=16, pipeline_rounds=2,
                # Losses on VGG conv1 only: the step graph (and XLA program) shrinks to
                # what a CPU traces and compiles in seconds; the code path is the same.
                step_config=dict(content_weights={"vgg_16/conv1": 1.0},
                                 style_weights={"vgg_16/conv1": 1e-3}),
                stylize_sizes=(64, 96, 128), stylize_repeats=2,
                eval_styles=2, eval_target=1024, eval_image_size=32),
}
# Seconds a section needs at least to be started (a skipped row says so).
MIN_SECONDS = {"step": 120, "pipeline": 20, "stylize": 20, "evaluation": 30}


class Suite:
    """Rows (section, configuration, value, note), printed as they come and as one table."""

    def __init__(self, budget_s):
        self.start, self.budget_s, self.rows = time.perf_counter(), budget_s, []

    def left(self):
        return self.budget_s - (time.perf_counter() - self.start)

    def fits(self, section, configuration):
        if self.left() >= MIN_SECONDS[section]:
            return True
        self.add(section, configuration, "skipped", f"budget: {self.left():.0f} s left")
        return False

    def add(self, section, configuration, value, note=""):
        self.rows.append((section, configuration, value, note))
        print(f"[{time.perf_counter() - self.start:5.0f} s] {section} | {configuration} | "
              f"{value} | {note}", flush=True)

    def table(self):
        lines = ["| section | configuration | value | note |", "|---|---|---|---|"]
        lines += [f"| {' | '.join(row)} |" for row in self.rows]
        return "\n".join(lines)


def step_rows(suite, preset):
    """Train step images/s per model x mode (modes of a model round-robin); the fastest rate."""
    from benchmarks import workloads  # pylint: disable=import-outside-toplevel
    fastest = 0.0
    batch, size = preset["batch_size"], preset["image_size"]
    for model_type in preset["models"]:
        if not suite.fits("step", f"{model_type}, batch {batch}, {size} px"):
            continue
        measured = workloads.measure_steps(model_type, preset["step_modes"], batch, size,
                                           preset["steps"], **preset["step_config"])
        for mode, (spent, warm_up) in measured.items():
            least, median = min_median(spent)
            fastest = max(fastest, batch / median)
            suite.add("train step", f"{model_type} {mode}, batch {batch}, {size} px",
                      f"{batch / median:.2f} images/s",
                      f"median of {len(spent)} interleaved steps, {median * 1e3:.0f} ms (min "
                      f"{least * 1e3:.0f} ms, {batch / least:.2f} images/s); "
                      f"build + trace + compile {warm_up:.0f} s")
    return fastest


def pipeline_rows(suite, preset, step_rate, directory):
    from benchmarks import data_pipeline  # pylint: disable=import-outside-toplevel
    cores = os.cpu_count()
    if not suite.fits("pipeline", f"{cores} cores"):
        return
    content, style = data_pipeline.generate(directory, max(8, preset["pipeline_images"] // 2))
    rounds = preset["pipeline_rounds"]
    rates = pipeline_headroom.measure(content, style, [cores], preset["batch_size"],
                                      preset["image_size"], preset["pipeline_images"], rounds)
    for (name, _), (best, median) in rates.items():
        headroom = (f"{median / step_rate:.1f}x the fastest step (medians)" if step_rate
                    else "no step measured")
        suite.add("pipeline", f"{name}, {cores} cores", f"{median:.0f} images/s",
                  f"median of {rounds} interleaved rounds (best {best:.0f}); {headroom}")


def stylize_rows(suite, preset):
    from benchmarks import workloads  # pylint: disable=import-outside-toplevel
    from magenta_style.nets import stylizer  # pylint: disable=import-outside-toplevel
    model = stylizer.build_stylizer("full")
    for size in preset["stylize_sizes"]:
        if not suite.fits("stylize", f"full, {size} px"):
            continue
        call = workloads.stylize_call(model, size)
        times = interleaved_times([call], preset["stylize_repeats"], warmup=1)[0]
        least, median = min_median(times)
        suite.add("stylize", f"full, {size} x {size}, batch 1", f"{median * 1e3:.0f} ms",
                  f"median of {len(times)}, min {least * 1e3:.0f} ms")


def evaluation_rows(suite, preset, directory):
    import keras  # pylint: disable=import-outside-toplevel
    from magenta_style import defaults  # pylint: disable=import-outside-toplevel
    from magenta_style.evaluation.loop import evaluate  # pylint: disable=import-outside-toplevel
    from magenta_style.evaluation.models import from_stylizer  # pylint: disable=import-outside-toplevel
    from magenta_style.nets import stylizer, vgg  # pylint: disable=import-outside-toplevel
    from tests.helpers import fake_data  # pylint: disable=import-outside-toplevel
    size, styles, target = preset["eval_image_size"], preset["eval_styles"], preset["eval_target"]
    record_size = size + 44  # records larger than the crop, as real ones are
    sources = [fake_data.write_style_tfrecord(os.path.join(directory, "eval_styles.tfrecord"),
                                              styles, record_size)]
    content_dir = os.path.dirname(fake_data.write_imagenet_shards(
        os.path.join(directory, "eval_content"), 1, defaults.EVAL_NUM_CONTENT_IMAGES,
        record_size, split="validation")[0])
    keras.utils.set_random_seed(0)
    loss_network = vgg.build_vgg16()
    for model_type in preset["models"]:
        if not suite.fits("evaluation", model_type):
            continue
        model = from_stylizer(stylizer.build_stylizer(model_type))
        start = time.perf_counter()
        evaluate(model, loss_network, content_dir, {"unobserved": sources},
                 os.path.join(directory, f"eval_{model_type}"), num_styles=styles,
                 image_size=size)
        wall = time.perf_counter() - start
        suite.add("evaluation", f"{model_type}, {target} styles, {size} px",
                  f"~{wall * target / styles / 60:.1f} min (extrapolated)",
                  f"measured {styles} styles end to end in {wall:.1f} s (tracing included), "
                  f"x {target / styles:g}")


def main(argv):
    del argv
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    from benchmarks.workloads import STEP_MODES  # pylint: disable=import-outside-toplevel
    preset = dict(PRESETS["dry" if FLAGS.dry else "device"])
    if FLAGS.step_modes:
        preset["step_modes"] = tuple(FLAGS.step_modes)
    unknown = [mode for mode in preset["step_modes"] if mode not in STEP_MODES]
    if unknown:
        raise UsageError(f"--step_modes: unknown mode(s) {', '.join(unknown)}; known: "
                         f"{', '.join(STEP_MODES)}")
    gpus = tf.config.list_physical_devices("GPU")
    device = f"{len(gpus)} GPU(s)" if gpus else "no GPU"
    print(f"device suite ({'dry' if FLAGS.dry else 'device'} mode): TensorFlow {tf.__version__}, "
          f"{device}, budget {FLAGS.budget_s:.0f} s\nbefore: {conditions()}", flush=True)
    suite = Suite(FLAGS.budget_s)
    with tempfile.TemporaryDirectory(prefix="device_suite_") as directory:
        step_rate = step_rows(suite, preset) if "step" in FLAGS.sections else 0.0
        if "pipeline" in FLAGS.sections:
            pipeline_rows(suite, preset, step_rate, directory)
        if "stylize" in FLAGS.sections:
            stylize_rows(suite, preset)
        if "evaluation" in FLAGS.sections:
            evaluation_rows(suite, preset, directory)
    print(f"after: {conditions()}\n\n{suite.table()}\n\n"
          f"total {time.perf_counter() - suite.start:.0f} s", flush=True)


if __name__ == "__main__":
    runner.run(main)
