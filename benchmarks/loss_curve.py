r"""Loss curves of short training runs per --mixed_precision, same seed and data, side by side.

  python benchmarks/loss_curve.py --steps=30 --precisions=off,bfloat16

Each run is train.py's loop (`training.loop.train`) on the same generated
records (tests/helpers/fake_data.py, seeded, so every run sees the same batches in the
same order), mobile model, random VGG and predictor weights (no downloads: the
loss values are those of a random loss network, the comparison is what counts).
Prints total_loss per step of each run and each run's relative difference from
the first (--precisions[0]).
"""
import os
import re
import sys
import tempfile

from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from magenta_style.cli import runner  # noqa: E402  pylint: disable=wrong-import-position

flags.DEFINE_list("precisions", ["off", "bfloat16"], "--mixed_precision values to run.")
flags.DEFINE_integer("steps", 30, "Training steps per run.", lower_bound=1)
flags.DEFINE_integer("batch_size", 4, "Global batch size.", lower_bound=1)
flags.DEFINE_integer("image_size", 64, "Content and style crop size.", lower_bound=32)
flags.DEFINE_string("model_type", "mobile", "full or mobile.")
FLAGS = flags.FLAGS

_TOTAL = re.compile(r"train: (\d+)/\d+ steps.* total_loss=([-+0-9.eE]+|nan|inf)")


def run(precision, work, style, content):
    """[total_loss per step] of one seeded run."""
    from magenta_style.training.config import TrainConfig, validate  # pylint: disable=import-outside-toplevel
    from magenta_style.training.loop import train  # pylint: disable=import-outside-toplevel
    config = validate(TrainConfig(
        train_dir=os.path.join(work, f"run_{precision}"), style_dataset_file=(style,),
        imagenet_data_dir=content, model_type=FLAGS.model_type, vgg_weights="random",
        predictor_weights="random", batch_size=FLAGS.batch_size, image_size=FLAGS.image_size,
        train_steps=FLAGS.steps, log_interval_steps=1, summary_interval_steps=FLAGS.steps,
        save_interval_steps=FLAGS.steps, seed=0, mixed_precision=precision))
    lines = []
    train(config, print_fn=lines.append)
    losses = {}
    for line in lines:
        match = _TOTAL.search(line)
        if match:
            losses[int(match.group(1))] = float(match.group(2))
    return [losses[step] for step in sorted(losses)]


def main(argv):
    del argv
    from tests.helpers import fake_data  # pylint: disable=import-outside-toplevel
    with tempfile.TemporaryDirectory(prefix="loss_curve_") as work:
        size = FLAGS.image_size + 32
        style = fake_data.write_style_tfrecord(os.path.join(work, "style.tfrecord"), 32, size)
        fake_data.write_imagenet_shards(os.path.join(work, "imagenet"), 2, 16, size)
        curves = {precision: run(precision, work, style, os.path.join(work, "imagenet"))
                  for precision in FLAGS.precisions}
    base = FLAGS.precisions[0]
    print(f"{FLAGS.model_type}, batch {FLAGS.batch_size}, {FLAGS.image_size} px, seed 0, "
          "random weights; total_loss per step")
    print("| step | " + " | ".join(curves) + " | " +
          " | ".join(f"{p} / {base} - 1" for p in FLAGS.precisions[1:]) + " |")
    print("|---" * (2 * len(curves)) + "|")
    for index in range(len(curves[base])):
        values = [curves[p][index] for p in curves]
        ratios = [curves[p][index] / curves[base][index] - 1 for p in FLAGS.precisions[1:]]
        print(f"| {index + 1} | " + " | ".join(f"{v:.5g}" for v in values) + " | " +
              " | ".join(f"{r:+.2%}" for r in ratios) + " |")


if __name__ == "__main__":
    runner.run(main)
