r"""Builds slim/inception ImageNet-format content TFRecords from a folder tree.

  python datasets/build_content_tfrecords.py --input_dir=/data/ILSVRC/train \
      --output_dir=/data/records/imagenet --split_name=train --num_shards=1024

Accepts the ILSVRC layout (n01440764/*.JPEG, ...) or any folder of images.
Writes <output_dir>/<split_name>-XXXXX-of-YYYYY, <split_name>.skipped.txt and
<split_name>.summary.json.
"""
import os
import sys

from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from magenta_style import defaults
from magenta_style.cli import runner
from magenta_style.data import builders
from magenta_style.errors import UsageError

flags.DEFINE_string("input_dir", None, "Folder of class subfolders (or of loose images).")
flags.DEFINE_string("output_dir", None, "Folder for the shards.")
flags.DEFINE_string("split_name", "train", "Shard name prefix: train or validation.")
flags.DEFINE_integer("num_shards", None, "Number of shards (default: ~1000 images each; "
                     "slim used 1024 for ImageNet train, 128 for validation).", lower_bound=1)
flags.DEFINE_integer("max_shorter_side", defaults.BUILDER_MAX_SHORTER_SIDE,
                     "Images are downscaled so their shorter side is at most this.", lower_bound=1)
flags.DEFINE_integer("num_workers", None, "Encoder processes (default: CPU count).",
                     lower_bound=1)
flags.DEFINE_boolean("overwrite", False, "Replace existing output files.")
flags.mark_flags_as_required(["input_dir", "output_dir"])
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    builders.build_content_tfrecords(
        FLAGS.input_dir, FLAGS.output_dir, split_name=FLAGS.split_name,
        num_shards=FLAGS.num_shards, max_shorter_side=FLAGS.max_shorter_side,
        num_workers=FLAGS.num_workers, overwrite=FLAGS.overwrite)


if __name__ == "__main__":
    runner.run(main)
