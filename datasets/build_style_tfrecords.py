r"""Builds Magenta-format style TFRecords from Painter by Numbers, DTD or any folder.

  python datasets/build_style_tfrecords.py --source=pbn --input_dir=/data/pbn \
      --output_prefix=/data/records/pbn_train --split=train --num_shards=16
  # reproducible held-out evaluation set of 1024 unseen styles:
  python datasets/build_style_tfrecords.py --source=pbn --input_dir=/data/pbn \
      --output_prefix=/data/records/pbn_eval1024 --split=test --num_images=1024 --seed=0

Writes <prefix>-XXXXX-of-YYYYY.tfrecord, <prefix>.skipped.txt, <prefix>.summary.json.
"""
import os
import sys

from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from magenta_style import defaults
from magenta_style.cli import runner
from magenta_style.data import builders
from magenta_style.errors import UsageError

flags.DEFINE_enum("source", None, ["pbn", "dtd", "folder"], "Raw dataset layout.")
flags.DEFINE_string("input_dir", None, "Raw dataset folder (PBN: all_data_info.csv, train/, "
                    "test/; DTD: dtd/ or its parent; folder: any tree of images).")
flags.DEFINE_string("output_prefix", None, "Output path prefix, e.g. /data/records/pbn_train.")
flags.DEFINE_enum("split", None, ["train", "test", "all"],
                  "Split (default: train for pbn/dtd, all for folder). DTD train = train+val.")
flags.DEFINE_integer("num_shards", 1, "Number of output shards.", lower_bound=1)
flags.DEFINE_integer("num_images", None, "Write only this many images, a seeded random subset "
                     "(unreadable ones are replaced by the next candidates).", lower_bound=1)
flags.DEFINE_integer("seed", 0, "Seed of the --num_images subset.")
flags.DEFINE_boolean("holdout_artists", False, "PBN: drop from train every artist that has a "
                     "test painting (test styles are truly unseen).")
flags.DEFINE_integer("dtd_partition", 1, "DTD label partition N of labels/{train,val,test}N.txt.",
                     lower_bound=1, upper_bound=10)
flags.DEFINE_integer("max_shorter_side", defaults.BUILDER_MAX_SHORTER_SIDE,
                     "Images are downscaled so their shorter side is at most this.", lower_bound=1)
flags.DEFINE_integer("num_workers", None, "Encoder processes (default: CPU count).",
                     lower_bound=1)
flags.DEFINE_boolean("overwrite", False, "Replace existing output files.")
flags.mark_flags_as_required(["source", "input_dir", "output_prefix"])
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    builders.build_style_tfrecords(
        FLAGS.source, FLAGS.input_dir, FLAGS.output_prefix, split=FLAGS.split,
        num_shards=FLAGS.num_shards, num_images=FLAGS.num_images, seed=FLAGS.seed,
        holdout_artists=FLAGS.holdout_artists, dtd_partition=FLAGS.dtd_partition,
        max_shorter_side=FLAGS.max_shorter_side, num_workers=FLAGS.num_workers,
        overwrite=FLAGS.overwrite)


if __name__ == "__main__":
    runner.run(main)
