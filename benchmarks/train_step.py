"""Training-step throughput (images/s) vs the input pipeline's rate, in one run.

  python benchmarks/train_step.py --steps=5 --batch_size=8 --image_size=256

For each model (full, mobile) and each --modes entry (float32, mixed float16 /
bfloat16, XLA): the compiled train step of magenta_style.training on one
in-memory batch (style images at --image_size; trace / compile excluded), the
modes of one model timed round-robin so they share the machine's load. Then
train.py's tf.data pipeline (data.py content + augmented style, random style
size) on generated JPEG TFRecords of realistic size, in --pipeline_rounds rounds.
Goal: pipeline >= 3x what the fastest step consumes (medians). Weights are random:
speed does not depend on them.
"""
import os
import sys
import tempfile

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.timing import best_median, conditions, interleaved_times, min_median  # noqa: E402

flags.DEFINE_integer("steps", 5, "Measured rounds (one step of each mode per round, after a "
                     "warm-up step).")
flags.DEFINE_integer("batch_size", 8, "Global batch size.")
flags.DEFINE_integer("image_size", 256, "Content and style image size.")
flags.DEFINE_list("models", ["mobile", "full"], "Model types to measure (empty: pipeline only).")
flags.DEFINE_list("modes", ["float32", "xla"], "Step modes, timed round-robin per model: "
                  "float32, float16, bfloat16 (mixed precision), xla (float32, the whole step "
                  "one XLA program), xla_bfloat16.")
flags.DEFINE_integer("pipeline_batches", 50, "Measured input batches per round (after 3 "
                     "warm-up).")
flags.DEFINE_integer("pipeline_rounds", 3, "Input pipeline rounds.", lower_bound=1)
flags.DEFINE_integer("record_images", 64, "Images in the generated style / content records.")
FLAGS = flags.FLAGS


def measure_pipeline(batch_size, image_size, batches, rounds, record_images):
    """Images/s of train.py's input pipeline, one per round of `batches` batches."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from magenta_style.data.pipelines import SkippedRecords
    from magenta_style.training import config as train_config
    from magenta_style.training.loop import make_dataset_fn
    from tests.helpers import fake_data  # pylint: disable=import-outside-toplevel
    root = tempfile.mkdtemp(prefix="train_step_benchmark_")
    # Builders store images with the shorter side <= 512; these are 384 x ~400.
    style = fake_data.write_style_tfrecord(os.path.join(root, "style.tfrecord"),
                                           record_images, size=384)
    fake_data.write_imagenet_shards(os.path.join(root, "imagenet"), num_shards=4,
                                    images_per_shard=record_images // 4, size=384)
    config = train_config.TrainConfig(
        train_dir=root, style_dataset_file=(style,), imagenet_data_dir=os.path.join(root, "imagenet"),
        batch_size=batch_size, image_size=image_size)
    dataset = make_dataset_fn(config, SkippedRecords())(tf.distribute.InputContext())
    iterator = iter(dataset)
    for _ in range(3):
        next(iterator)

    def take():
        for _ in range(batches):
            next(iterator)
    spent = interleaved_times([take], rounds)[0]
    return [batches * batch_size / seconds for seconds in spent]


def main(argv):
    del argv
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    from benchmarks import workloads  # pylint: disable=import-outside-toplevel
    device = "GPU" if tf.config.list_physical_devices("GPU") else f"CPU ({os.cpu_count()} cores)"
    print(f"device: {device}; batch {FLAGS.batch_size}, {FLAGS.image_size} px, "
          f"{FLAGS.steps} interleaved rounds (one step of each mode per round)")
    print(f"before: {conditions()}", flush=True)
    rows = []
    for model_type in FLAGS.models:
        measured = workloads.measure_steps(model_type, FLAGS.modes, FLAGS.batch_size,
                                           FLAGS.image_size, FLAGS.steps)
        for mode, (spent, warm_up) in measured.items():
            least, median = min_median(spent)
            rate = FLAGS.batch_size / median
            rows.append((model_type, mode, rate))
            print(f"  step {model_type:6s} {mode:12s}: {rate:8.3f} images/s median, "
                  f"{FLAGS.batch_size / least:8.3f} best (s/step min {least:.2f}, "
                  f"median {median:.2f}; warm-up {warm_up:.0f} s)", flush=True)
    best, pipeline = best_median(measure_pipeline(
        FLAGS.batch_size, FLAGS.image_size, FLAGS.pipeline_batches, FLAGS.pipeline_rounds,
        FLAGS.record_images))
    print(f"  input pipeline: {pipeline:8.2f} images/s median, {best:8.2f} best "
          f"({FLAGS.pipeline_rounds} rounds of {FLAGS.pipeline_batches} batches)")
    print(f"after: {conditions()}")
    if not rows:
        return
    fastest = max(rate for _, _, rate in rows)
    print()
    print("| model | mode | step images/s (median) | pipeline / step (medians) |")
    print("|---|---|---|---|")
    for model_type, mode, rate in rows:
        print(f"| {model_type} | {mode} | {rate:.3f} | {pipeline / rate:.1f}x |")
    print(f"| input pipeline | - | {pipeline:.2f} | goal >= 3x the fastest step: "
          f"{'met' if pipeline >= 3 * fastest else 'NOT met'} ({pipeline / fastest:.1f}x) |")


if __name__ == "__main__":
    app.run(main)
