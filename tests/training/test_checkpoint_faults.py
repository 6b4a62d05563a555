"""Storage faults: a checkpoint write that fails for real (file size limit, permission denied)
keeps the previous checkpoint as the latest and says so; a corrupt newest checkpoint is
reported and the run resumes from the one before."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from magenta_style.training import checkpoints
from tests import ROOT
from tests.helpers.train_cli import environment


def test_failed_writes_keep_the_previous_checkpoint_latest(tmp_path):
    train_dir = str(tmp_path / "run")
    os.makedirs(train_dir, mode=0o755)
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tests", "training", "checkpoint_fault_child.py"),
         train_dir], cwd=ROOT, env=environment(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    first = os.path.join(train_dir, "ckpt-1")
    assert report["first"] == first
    assert report["fsize_error"].startswith(f"{train_dir}/ckpt-2: could not write the checkpoint "
                                            "(File too large); the latest checkpoint is still "
                                            f"{first} (step 1)")
    assert report["after_fsize"] == first
    # As root the child writes as nobody, else into a read-only train_dir: denied either way.
    assert report["permission_error"].startswith(f"{train_dir}/ckpt-3: could not write the "
                                                 "checkpoint (Permission denied")
    assert f"the latest checkpoint is still {first} (step 1)" in report["permission_error"]
    assert tf.train.latest_checkpoint(train_dir) == first
    # Nothing half-written is left behind to be mistaken for a checkpoint.
    assert sorted(os.listdir(train_dir)) == ["checkpoint", "ckpt-1.data-00000-of-00001",
                                             "ckpt-1.index"]


def _objects():
    return {"weights": tf.Variable(tf.zeros([64, 32])), "step": tf.Variable(0, dtype=tf.int64)}


def _save_steps(train_dir, steps):
    objects = _objects()
    saver = checkpoints.Checkpointer(objects, train_dir, objects["step"], chief=True,
                                     max_to_keep=5)
    for step in steps:
        objects["step"].assign(step)
        objects["weights"].assign(tf.fill([64, 32], float(step)))
        saver.save()


@pytest.mark.parametrize("damage", ["truncate_data", "flip_byte", "garbage_index", "no_data"])
def test_corrupt_newest_checkpoint_resumes_from_the_one_before(tmp_path, damage):
    train_dir = str(tmp_path / "run")
    _save_steps(train_dir, [1, 2, 3])
    newest = os.path.join(train_dir, "ckpt-3")
    data, index = newest + ".data-00000-of-00001", newest + ".index"
    if damage == "truncate_data":
        os.truncate(data, os.path.getsize(data) // 2)
    elif damage == "flip_byte":
        with open(data, "r+b") as f:
            f.seek(100)
            byte = f.read(1)
            f.seek(100)
            f.write(bytes([byte[0] ^ 0xFF]))
    elif damage == "garbage_index":
        with open(index, "wb") as f:
            f.write(b"not an sstable" * 8)
    else:
        os.remove(data)
    objects, notes = _objects(), []
    saver = checkpoints.Checkpointer(objects, train_dir, objects["step"], chief=True,
                                     max_to_keep=5)
    assert saver.restore_latest(train_dir, note=notes.append) == os.path.join(train_dir, "ckpt-2")
    assert int(objects["step"].numpy()) == 2
    np.testing.assert_array_equal(objects["weights"].numpy(), 2.0)
    assert len(notes) == 1 and notes[0].startswith(f"warning: {newest} is unreadable (")
    assert notes[0].endswith(f"resuming from {train_dir}/ckpt-2 (step 2) instead")


def test_no_readable_checkpoint_is_an_error_not_a_fresh_start(tmp_path):
    train_dir = str(tmp_path / "run")
    _save_steps(train_dir, [1])
    os.truncate(os.path.join(train_dir, "ckpt-1.data-00000-of-00001"), 10)
    objects = _objects()
    saver = checkpoints.Checkpointer(objects, train_dir, objects["step"], chief=True,
                                     max_to_keep=5)
    with pytest.raises(checkpoints.CheckpointError) as error:
        saver.restore_latest(train_dir, note=lambda line: None)
    message = str(error.value)
    assert message.startswith(f"{train_dir}: no readable checkpoint (ckpt-1: ")
    assert "move them away to start from scratch" in message and "\n" not in message


def test_full_disk_keeps_the_previous_checkpoint_latest(tmp_path):
    """In this process, on a disk that fills up (a real tmpfs as root, else the file size
    limit): the failed save is one line, its parts are removed, ckpt-1 stays the latest."""
    from tests.helpers.full_disk import small_disk

    with small_disk(tmp_path / "disk") as disk:
        train_dir = os.path.join(disk.path, "run")
        objects = {"weights": tf.Variable(tf.random.normal([384, 256])),  # 384 KiB
                   "step": tf.Variable(0, dtype=tf.int64)}
        saver = checkpoints.Checkpointer(objects, train_dir, objects["step"], chief=True,
                                         max_to_keep=5)
        objects["step"].assign(1)
        first = saver.save()
        disk.fill(leave=128 << 10)
        objects["step"].assign(2)
        with pytest.raises(checkpoints.CheckpointWriteError) as error:
            saver.save()
        assert str(error.value).startswith(
            f"{train_dir}/ckpt-2: could not write the checkpoint ({disk.reason}); the latest "
            f"checkpoint is still {first} (step 1)")
        assert sorted(os.listdir(train_dir)) == ["checkpoint", "ckpt-1.data-00000-of-00001",
                                                 "ckpt-1.index"]
        assert tf.train.latest_checkpoint(train_dir) == first
        assert checkpoints.run_dir.checkpoint_read_problem(first) is None
