"""train.py in subprocesses: tiny records, its flags, the environment, the run, the step."""
import os
import subprocess
import sys

from tests import ROOT
from tests.helpers import fake_data
from tests.helpers.training import TINY

TIMEOUT = 240  # seconds per subprocess (a tiny run takes ~30 s on 2 busy cores)


def write_records(root):
    """Tiny style and ImageNet TFRecords under `root` for train.py: {"style", "imagenet"}."""
    # Record 2 is truncated: dropped by the pipeline and counted as a skipped record.
    style = fake_data.write_style_tfrecord(str(root / "style.tfrecord"), num_images=6, size=48,
                                           corrupt=(2,))
    fake_data.write_imagenet_shards(str(root / "imagenet"), num_shards=2, images_per_shard=3,
                                    size=48)
    return {"style": style, "imagenet": str(root / "imagenet")}


def tiny_flags(records, train_dir, **overrides):
    """train.py's flags for training.TINY on `records` (4 steps: two checkpoints)."""
    values = dict(TINY, train_dir=train_dir, style_dataset_file=records["style"],
                  imagenet_data_dir=records["imagenet"], train_steps=4)
    values.update(overrides)
    flags = []
    for name, value in values.items():
        if isinstance(value, bool):
            flags.append(f"--{'' if value else 'no'}{name}")
        else:
            flags.append(f"--{name}={value}")
    return flags


def environment(**extra):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


def run_train(flags, timeout=TIMEOUT):
    return subprocess.run([sys.executable, os.path.join(ROOT, "train.py"), *flags], cwd=ROOT,
                          env=environment(), capture_output=True, text=True, timeout=timeout)


def checkpoint_step(train_dir):
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(train_dir))
    return int(reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE"))
