"""Stopping a training run cleanly on SIGTERM / SIGINT: save at the current step, then exit.

`StopSignals()` (a context manager) turns SIGTERM and SIGINT into a flag; the
first signal only sets it, and puts the previous handlers back so that a
second one stops the process at once as usual. `StepGuard` runs the training
step and acts on the flag between steps:

* one worker (default / mirrored / TPU strategies): after the step in
  progress, `save()` writes a checkpoint at that step and `TrainingInterrupted`
  ends the run;
* several workers (MultiWorkerMirroredStrategy): TensorFlow's
  `tf.distribute.experimental.PreemptionCheckpointHandler` watches the same
  flag (its `termination_watcher_fn`), agrees through the coordination service
  on the step at which every worker stops, calls `save()` on every worker at
  that step (our Checkpointer: the chief writes train_dir), then its exit_fn
  raises `TrainingInterrupted` on every worker.

Exit status of an interrupted run: 128 + the signal number (143 for SIGTERM,
130 for SIGINT; 143 on the workers told to stop by a preempted peer), after
the checkpoint is written. The same command resumes from it.
"""
import shutil
import signal
import tempfile
import threading

import tensorflow as tf

from magenta_style.errors import MagentaStyleError

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class TrainingInterrupted(MagentaStyleError):
    """The run stopped on a signal after saving; `exit_code` = 128 + the signal number."""

    def __init__(self, message, signum=signal.SIGTERM):
        super().__init__(message)
        self.signum = signum
        self.exit_code = 128 + int(signum)


class StopSignals:
    """SIGTERM / SIGINT -> `received` (the signal number) instead of ending the process.

    Handlers can only be installed from the main thread; elsewhere this is a
    no-op and signals keep their usual effect.
    """

    def __init__(self, signals=SIGNALS):
        self.signals, self.received, self._previous = tuple(signals), None, {}

    def _handle(self, signum, frame):
        del frame
        self.received = signum
        self._restore()  # a second signal acts as usual (Ctrl-C twice: stop now)

    def _restore(self):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = {signum: signal.signal(signum, self._handle)
                              for signum in self.signals}
        return self

    def __exit__(self, *exc_info):
        self._restore()


class StepGuard:
    """Runs `train_step(batch)` and stops between steps when a stop signal arrived.

    save(): writes a checkpoint at the current step on this worker, returns its
    path (or None on a non-chief worker). multi_worker: use TF's
    PreemptionCheckpointHandler to agree on the step across workers (needs the
    strategy's cluster_resolver).
    """

    def __init__(self, stop, save, step, strategy=None, multi_worker=False):
        self.stop, self.save, self.step = stop, save, step
        self.handler, self._scratch = None, None
        if multi_worker:
            self._scratch = tempfile.mkdtemp(prefix="magenta_style_preemption_")
            # The handler restores from and writes into its manager: give it an
            # empty scratch one; train_dir is restored and written by `save`.
            manager = tf.train.CheckpointManager(tf.train.Checkpoint(), self._scratch,
                                                 max_to_keep=1)
            config = tf.distribute.experimental.TerminationConfig(
                termination_watcher_fn=lambda: self.stop.received is not None,
                exit_fn=self._exit, save_fn=self.save, grace_period=0)
            self.handler = tf.distribute.experimental.PreemptionCheckpointHandler(
                strategy.cluster_resolver, manager, termination_config=config)

    def _exit(self):
        signum = self.stop.received or signal.SIGTERM
        by = "this worker" if self.stop.received else "a peer worker"
        raise TrainingInterrupted(
            f"stopped by {signal.Signals(signum).name} ({by}) at step {int(self.step.numpy())} "
            "after saving; run the same command to resume", signum)

    def run(self, train_step, batch):
        if self.handler is not None:
            return self.handler.run(train_step, batch)
        return train_step(batch)

    def after_step(self, saved_path=None):
        """One worker: on a stop signal, save (unless `saved_path` holds this step) and stop."""
        if self.handler is not None or self.stop.received is None:
            return
        path = saved_path or self.save()
        signum = self.stop.received
        raise TrainingInterrupted(
            f"stopped by {signal.Signals(signum).name} at step {int(self.step.numpy())}: saved "
            f"{path}; run the same command to resume", signum)

    def close(self):
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
