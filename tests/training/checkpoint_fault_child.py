"""Child process for test_checkpoint_faults: real failing checkpoint writes.

  python tests/training/checkpoint_fault_child.py TRAIN_DIR

Saves step 1 with the project's Checkpointer, then tries step 2 under a file
size limit (RLIMIT_FSIZE, SIGXFSZ ignored so the write fails with EFBIG), then
step 3 in a train_dir it may not write (permission denied: started as root, the child becomes
nobody; otherwise it makes train_dir read-only for the attempt).
Prints one JSON line: the errors and what tf.train.latest_checkpoint says after each
(read back by the parent, which lists the files left).
"""
import json
import os
import resource
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import tensorflow as tf  # noqa: E402  pylint: disable=wrong-import-position

from magenta_style.training import checkpoints  # noqa: E402  pylint: disable=wrong-import-position


def main(train_dir):
    step = tf.Variable(0, dtype=tf.int64)
    weights = tf.Variable(tf.random.normal([256, 1024]))  # 1 MiB
    saver = checkpoints.Checkpointer({"weights": weights, "step": step}, train_dir, step,
                                     chief=True, max_to_keep=5)
    report = {}
    step.assign(1)
    report["first"] = saver.save()

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 << 10, hard))
    step.assign(2)
    try:
        saver.save()
    except checkpoints.CheckpointWriteError as error:
        report["fsize_error"] = str(error)
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    report["after_fsize"] = tf.train.latest_checkpoint(train_dir)

    read_only = os.getuid() != 0  # root ignores a folder's mode: it becomes nobody instead
    if read_only:
        os.chmod(train_dir, 0o555)
    else:
        os.setuid(65534)  # nobody: train_dir (root's, 0755) is no longer writable
    step.assign(3)
    try:
        saver.save()
    except checkpoints.CheckpointWriteError as error:
        report["permission_error"] = str(error)
    if read_only:
        os.chmod(train_dir, 0o755)
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1])
