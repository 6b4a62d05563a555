"""One run per train_dir: a live holder makes train.py refuse with one line naming it; a lock
left by a killed process is taken over with a note; a train_dir on an object store (TF's
ram://) is refused in one line unless allowed unlocked. Real processes, real flock."""
import json
import os
import re
import signal
import socket
import subprocess
import sys

import pytest
import tensorflow as tf

from magenta_style.training import run_lock
from tests import ROOT
from tests.helpers.train_cli import environment, run_train, tiny_flags
from tests.helpers.training import tiny_config

HOLD = ("import sys, time; from magenta_style.training import run_lock; "
        "lock = run_lock.TrainDirLock(sys.argv[1]).acquire(); print('locked', flush=True); "
        "time.sleep(600)")


def hold_lock(train_dir):
    process = subprocess.Popen([sys.executable, "-c", HOLD, train_dir], cwd=ROOT,
                               env=environment(), stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "locked"
    return process


def test_second_run_refuses_then_dead_holders_lock_is_taken_over(records, tmp_path):
    train_dir = str(tmp_path / "run")
    holder = hold_lock(train_dir)
    try:
        result = run_train(tiny_flags(records, train_dir), timeout=120)
        assert result.returncode == 1, result.stderr[-3000:]
        errors = [line for line in result.stderr.splitlines() if line.startswith("train.py:")]
        lock_file = os.path.join(train_dir, run_lock.LOCK_FILE)
        with open(lock_file, encoding="utf-8") as stream:
            started = json.load(stream)["started"]  # the holder's own record of its start
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", started), started
        assert errors == [
            f"train.py: error: --train_dir={train_dir} is in use by pid {holder.pid} on "
            f"{socket.gethostname()}, started {started} (-c {train_dir}) (lock file "
            f"{lock_file}): wait for that run to end or use another --train_dir"
        ], result.stderr[-3000:]
        assert not any(name.startswith("ckpt-") for name in os.listdir(train_dir))
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=60)

    notes = []
    with run_lock.TrainDirLock(train_dir, note=notes.append) as lock:
        assert len(notes) == 1 and f"taking over the lock of pid {holder.pid}" in notes[0]
        assert "which is no longer running" in notes[0]
        assert str(os.getpid()) in open(lock.path, encoding="utf-8").read()
    assert not os.path.exists(os.path.join(train_dir, run_lock.LOCK_FILE))  # released cleanly


def test_lock_is_exclusive_within_a_host_and_released_on_exit(tmp_path):
    train_dir = str(tmp_path / "run")
    with run_lock.TrainDirLock(train_dir, note=None):
        other = run_lock.TrainDirLock(train_dir, note=None)
        try:
            other.acquire()
            raise AssertionError("a second lock on the same train_dir was granted")
        except run_lock.TrainDirBusyError as error:
            assert f"is in use by pid {os.getpid()}" in str(error)
    with run_lock.TrainDirLock(train_dir, note=None):  # free again, no note
        pass


def test_object_store_train_dir_is_refused_in_one_line_unless_allowed(tmp_path):
    """TF's ram:// filesystem stands for gs:// and the other tf.io.gfile object stores."""
    train_dir = "ram://bucket/refused"
    expected = (f"--train_dir={train_dir}: a ram:// train_dir cannot be locked (tf.io.gfile has "
                "no atomic create-if-absent there), so a second run on it would mix its "
                "checkpoints with this one's unnoticed: if no other run uses it, pass "
                "--allow_unlocked_train_dir; or train into a local directory and copy it there")
    with pytest.raises(run_lock.TrainDirUnlockableError) as error:
        run_lock.TrainDirLock(train_dir, note=None).acquire()
    assert str(error.value) == expected
    with pytest.raises(run_lock.TrainDirUnlockableError) as error:  # train.py's flags, at once
        tiny_config(train_dir)
    assert str(error.value) == expected

    notes = []
    with run_lock.TrainDirLock(train_dir, note=notes.append, allow_unlocked=True):
        assert notes == [f"warning: --train_dir={train_dir} is not locked "
                         "(--allow_unlocked_train_dir): no other run may use it meanwhile"]
        assert not tf.io.gfile.exists(f"{train_dir}/{run_lock.LOCK_FILE}")
    tiny_config(train_dir, allow_unlocked_train_dir=True)  # validates

    local = tmp_path / "run"
    with run_lock.TrainDirLock(f"file://{local}", note=None) as lock:  # a local path after all
        assert lock.path == str(local / run_lock.LOCK_FILE) and os.path.exists(lock.path)
        with pytest.raises(run_lock.TrainDirBusyError):
            run_lock.TrainDirLock(str(local), note=None).acquire()

