r"""Input-pipeline headroom: images/s of the training pipelines on N cores vs a step's appetite.

  python benchmarks/pipeline_headroom.py --parallel=1,2 --num_images=256
  python benchmarks/pipeline_headroom.py --parallel=1,2,4,8,16 \
      --step_images_per_second=250            # a GPU step's rate (benchmarks/device_suite.sh)

For each N: train.py's content pipeline, its style pipeline (augmentation, random
size) and the two together as the training loop reads them
(`training.loop.make_dataset_fn`), each confined to N threads
(`tf.data.Options().threading.private_threadpool_size = N`, and the autotuner's CPU
budget N), which is how a pipeline behaves on an N-core host. N above this host's
cores is printed but marked: it cannot show more than the cores there are. Every
(pipeline, N) runs once per round, rounds alternating them; best and median images/s.
Data: the generated ~500 x 375 px JPEG records of benchmarks/data_pipeline.py (or
--content_source / --style_source). Headroom = pipeline images/s / step images/s:
at least ~1.5x is wanted so the accelerator never waits for input.
"""
import os
import sys
import tempfile

from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Its flags (sources, sizes, --num_images, --rounds) are this script's flags too.
from benchmarks import data_pipeline, timing  # noqa: E402  pylint: disable=wrong-import-position
from magenta_style.cli import runner  # noqa: E402  pylint: disable=wrong-import-position

flags.DEFINE_list("parallel", ["1", "2", "4", "8", "16"], "Thread counts N (host cores) to try.")
flags.DEFINE_float("step_images_per_second", 0.0, "Training step rate to compare with "
                   "(0: not compared).", lower_bound=0.0)
FLAGS = flags.FLAGS


def confined(dataset, threads):
    """`dataset` running on a private pool of `threads` threads, autotuned within them."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    options = tf.data.Options()
    options.threading.private_threadpool_size = threads
    options.autotune.cpu_budget = threads
    return dataset.with_options(options)


def training_pipelines(content_source, style_source, batch_size, image_size):
    """{name: dataset} of what train.py reads: content, style, and both zipped (the loop's)."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    from magenta_style.data import pipelines  # pylint: disable=import-outside-toplevel
    from magenta_style.training import config as train_config  # pylint: disable=import-outside-toplevel
    from magenta_style.training import loop  # pylint: disable=import-outside-toplevel
    config = train_config.TrainConfig(
        train_dir=tempfile.gettempdir(), style_dataset_file=(style_source,),
        imagenet_data_dir=content_source, batch_size=batch_size, image_size=image_size)
    skipped = pipelines.SkippedRecords()
    return {
        "content": lambda: pipelines.content_dataset(content_source, batch_size, image_size,
                                                     skipped=skipped),
        "style": lambda: pipelines.style_dataset(style_source, batch_size, image_size,
                                                 skipped=skipped),
        "content + style (train.py)": lambda: loop.make_dataset_fn(config, skipped)(
            tf.distribute.InputContext()),
    }


def measure(content_source, style_source, parallel, batch_size, image_size, num_images, rounds):
    """{(name, N): (best, median) images/s of `rounds` rounds, each measuring every pipeline
    at every N once}."""
    makers = training_pipelines(content_source, style_source, batch_size, image_size)
    rates = {(name, threads): [] for threads in parallel for name in makers}
    for _ in range(rounds):
        for name, threads in rates:
            rate, _ = data_pipeline.images_per_second(confined(makers[name](), threads),
                                                      num_images, batch_size, warm_up_batches=3)
            rates[name, threads].append(rate)
    return {key: timing.best_median(measured) for key, measured in rates.items()}


def table(rates, parallel, step_rate=0.0, cores=None):
    """Markdown rows: pipeline x N, best / median images/s (and the median over the step's
    rate when given)."""
    cores = cores or os.cpu_count()
    names = list(dict.fromkeys(name for name, _ in rates))
    header = "| pipeline | " + " | ".join(
        f"N={n}" + ("" if n <= cores else " (>cores)") for n in parallel) + " |"
    lines = [header, "|---" * (len(parallel) + 1) + "|"]
    for name in names:
        cells = []
        for n in parallel:
            best, median = rates[name, n]
            cells.append(f"{best:.0f} / {median:.0f}"
                         + (f" ({median / step_rate:.1f}x step)" if step_rate else ""))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def main(argv):
    del argv
    parallel = [int(n) for n in FLAGS.parallel]
    with tempfile.TemporaryDirectory() as directory:
        content, style = FLAGS.content_source, FLAGS.style_source
        if not (content and style):
            generated = data_pipeline.generate(directory, FLAGS.num_generated)
            content, style = content or generated[0], style or generated[1]
        print(f"S={FLAGS.image_size}, batch {FLAGS.batch_size}, {FLAGS.rounds} interleaved rounds "
              f"of {FLAGS.num_images} images (every pipeline at every N once per round); "
              "images/s best / median")
        print(f"before: {timing.conditions()}", flush=True)
        rates = measure(content, style, parallel, FLAGS.batch_size, FLAGS.image_size,
                        FLAGS.num_images, FLAGS.rounds)
        print(f"after: {timing.conditions()}")
    for line in table(rates, parallel, FLAGS.step_images_per_second):
        print(line)


if __name__ == "__main__":
    runner.run(main)
