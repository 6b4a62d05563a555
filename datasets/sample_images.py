r"""Writes offline style and content image folders from pictures installed packages ship.

  python datasets/sample_images.py --output_dir=/tmp/samples

content_train/ (random crops of scikit-image photos, coffee left out), content_eval/ (the
four demo photos), styles/ (16 textures, stains, scans and graphics of scikit-image and
matplotlib; also split into styles_finetune/ and styles_heldout/): folder sources for train.py
and evaluate.py, used by BENCHMARKS.md's VGG-19 numbers and README's training
demonstrations. Nothing is downloaded.
"""
import os
import sys

from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from magenta_style.cli import runner, samples  # noqa: E402  pylint: disable=wrong-import-position
from magenta_style.errors import UsageError  # noqa: E402  pylint: disable=wrong-import-position

flags.DEFINE_string("output_dir", None, "Folder for content_train/, content_eval/, styles/.")
flags.DEFINE_integer("num_crops", 96, "Training content crops.", lower_bound=1)
flags.DEFINE_integer("crop_size", 160, "Side of each crop (train.py resizes and crops them "
                     "to --image_size).", lower_bound=32)
flags.DEFINE_integer("seed", 0, "Seed of the crops.")
flags.DEFINE_boolean("overwrite", False, "Replace existing files.")
flags.mark_flags_as_required(["output_dir"])
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    folders = samples.write_sample_folders(FLAGS.output_dir, FLAGS.num_crops, FLAGS.crop_size,
                                           FLAGS.seed, FLAGS.overwrite)
    for name, path in folders.items():
        print(f"{name}: {path} ({len(os.listdir(path))} images)")


if __name__ == "__main__":
    runner.run(main)
