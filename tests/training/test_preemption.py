"""SIGTERM / SIGINT during training: a checkpoint at the current step, exit 128 + signal, and the
same command resumes and ends at exactly --train_steps. Real signals: to a train.py subprocess,
to this process (SIGINT, in-process loop), and to one of two MultiWorkerMirroredStrategy
workers on loopback (TF's PreemptionCheckpointHandler; marked slow), whose resumed run must end
with equal weights on both workers and only the chief's files in train_dir.
"""
import glob
import json
import os
import select
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from magenta_style.training.loop import train
from magenta_style.training.preemption import TrainingInterrupted
from tests import ROOT
from tests.helpers.network import free_port
from tests.helpers.train_cli import TIMEOUT, checkpoint_step, environment, run_train, tiny_flags
from tests.helpers.training import TINY, fixed_batches, tiny_config

STEPS = 10  # the signal is sent after step 2 (a step takes ~0.2-2 s here)


def start(args, env=None):
    return subprocess.Popen(args, cwd=ROOT, env=env or environment(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)


def wait_for_line(process, prefix, timeout=TIMEOUT):
    """Reads the process's output until a line starts with `prefix`; returns all lines read."""
    lines, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 1.0)
        if not ready:
            assert process.poll() is None, "\n".join(lines[-30:])
            continue
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith(prefix):
            return lines
    raise AssertionError(f"no line starting {prefix!r} in time:\n" + "\n".join(lines[-30:]))


def multi_worker_config(records, train_dir, **overrides):
    """tests/train_worker.py's TrainConfig JSON values for a tiny --strategy=multi_worker run."""
    config = dict(TINY, train_dir=train_dir, style_dataset_file=[records["style"]],
                  imagenet_data_dir=records["imagenet"], train_steps=3, strategy="multi_worker")
    config.update(overrides)
    return config


@pytest.mark.slow
def test_sigterm_saves_current_step_then_resume_ends_at_train_steps(records, tmp_path):
    signum = signal.SIGTERM
    train_dir = str(tmp_path / "run")
    # No periodic checkpoint before the signal: the one on disk is the signal's.
    flags = tiny_flags(records, train_dir, train_steps=STEPS, save_interval_steps=1000)
    process = start([sys.executable, os.path.join(ROOT, "train.py"), *flags])
    try:
        lines = wait_for_line(process, "train: 2/")
        process.send_signal(signum)
        rest, _ = process.communicate(timeout=120)
    finally:
        process.kill()
    output = "\n".join(lines) + "\n" + rest
    assert process.returncode == 128 + signum, output[-3000:]
    stopped = [line for line in output.splitlines() if "stopped by" in line]
    assert len(stopped) == 1 and "Traceback" not in output, output[-3000:]
    step = checkpoint_step(train_dir)
    assert 2 <= step < STEPS
    assert stopped == [f"train.py: stopped: stopped by SIGTERM at step {step}: saved "
                       f"{train_dir}/ckpt-{step}; run the same command to resume"]
    result = run_train(flags)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"resuming from {train_dir}/ckpt-{step} at step {step}" in result.stdout
    assert checkpoint_step(train_dir) == STEPS


def test_sigint_in_process_stops_after_the_step_then_resumes(tmp_path):
    """Ctrl-C: the step in flight finishes, is saved, and TrainingInterrupted carries 130."""
    config = tiny_config(tmp_path / "run", train_steps=6, save_interval_steps=1000)
    lines = []

    def print_fn(line):
        lines.append(line)
        if line.startswith("train: 2/"):
            os.kill(os.getpid(), signal.SIGINT)
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN where the suite runs in the background
    with pytest.raises(TrainingInterrupted) as error:
        train(config, dataset_fn=fixed_batches(), print_fn=print_fn)
    assert error.value.exit_code == 130
    step = checkpoint_step(config.train_dir)
    assert step >= 2
    assert str(error.value) == (f"stopped by SIGINT at step {step}: saved {config.train_dir}/"
                                f"ckpt-{step}; run the same command to resume")
    assert signal.getsignal(signal.SIGINT) is before  # handlers restored
    lines.clear()
    train(config, dataset_fn=fixed_batches(), print_fn=lines.append)
    assert f"resuming from {config.train_dir}/ckpt-{step} at step {step}" in lines
    assert checkpoint_step(config.train_dir) == 6


@pytest.mark.slow
def test_sigterm_to_one_of_two_workers_stops_both_at_the_same_step(records, tmp_path):
    train_dir = str(tmp_path / "run")
    config = multi_worker_config(records, train_dir, train_steps=STEPS, save_interval_steps=1000)
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))

    def launch():
        cluster = {"worker": [f"127.0.0.1:{free_port()}" for _ in range(2)]}
        return [start([sys.executable, os.path.join(ROOT, "tests", "train_worker.py"),
                       str(config_path), str(tmp_path / f"worker{index}.npz")],
                      env=environment(TF_CONFIG=json.dumps(
                          {"cluster": cluster, "task": {"type": "worker", "index": index}})))
                for index in range(2)]

    processes = launch()
    try:
        wait_for_line(processes[1], "train: 2/", timeout=2 * TIMEOUT)  # two TF processes
        processes[1].send_signal(signal.SIGTERM)  # the non-chief: the chief must still save
        outputs = [process.communicate(timeout=2 * TIMEOUT)[0] for process in processes]
    finally:
        for process in processes:
            process.kill()
    for process, output in zip(processes, outputs):
        assert process.returncode == 128 + signal.SIGTERM, output[-3000:]
    step = checkpoint_step(train_dir)
    assert 2 <= step < STEPS
    assert f"stopped by SIGTERM (a peer worker) at step {step}" in outputs[0]
    assert f"stopped by SIGTERM (this worker) at step {step}" in outputs[1]

    processes = launch()
    try:
        outputs = [process.communicate(timeout=2 * TIMEOUT)[0] for process in processes]
    finally:
        for process in processes:
            process.kill()
    for process, output in zip(processes, outputs):
        assert process.returncode == 0, output[-3000:]
        assert f"at step {step}" in output
        assert "on 2 replica(s) in 2 worker(s)" in output
    assert checkpoint_step(train_dir) == STEPS
    # Both workers end with the same weights (all-reduced gradients, same Adam steps).
    chief, other = np.load(tmp_path / "worker0.npz"), np.load(tmp_path / "worker1.npz")
    assert len(chief.files) == len(other.files) > 100
    for key in chief.files:
        np.testing.assert_allclose(chief[key], other[key], rtol=0, atol=1e-6)
    # Only the chief wrote checkpoints and summaries into train_dir: the signal's checkpoint
    # and the last, one events file per launch.
    assert sorted(os.path.basename(p) for p in glob.glob(os.path.join(train_dir, "ckpt-*.index"))) \
        == sorted([f"ckpt-{step}.index", f"ckpt-{STEPS}.index"])
    assert len(glob.glob(os.path.join(train_dir, "events.out.tfevents.*"))) == 2
