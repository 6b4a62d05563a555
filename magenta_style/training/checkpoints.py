"""Checkpoints of a training run: saving, restoring, and checks that a train_dir fits the model.

Storage faults never lose the last good checkpoint: a write that fails (disk
full, file size limit, permission) removes what it half wrote and raises
CheckpointWriteError naming the checkpoint that is still the latest (TF's
CheckpointManager updates its state file only after the files are complete);
an unreadable newest checkpoint (truncated, checksum mismatch, missing file)
is reported and the one before restored; none readable is CheckpointError,
never a silent fresh start (the lookup is weights/run_dir.py's, shared with a train_dir
loaded as a model).
"""
import glob
import os
import shutil
import tempfile

import tensorflow as tf

from magenta_style.errors import MagentaStyleError, UsageError, write_failure_reason
from magenta_style.nets import stylizer
from magenta_style.weights import run_dir
from magenta_style.weights.run_dir import read_train_config


class CheckpointError(MagentaStyleError):
    """No checkpoint of a train_dir can be read (none is silently skipped)."""


class CheckpointWriteError(MagentaStyleError):
    """A checkpoint could not be written; the previous one is still the latest."""


class Checkpointer:
    """Chief: CheckpointManager in train_dir. Other workers: same save calls (they may
    hold collective ops) into a temporary directory that is deleted right after.

    A failed write (disk full, file size limit, permission) raises
    CheckpointWriteError naming the checkpoint that is still the latest; an
    unreadable newest checkpoint is reported and the one before restored.
    """

    def __init__(self, objects, train_dir, step, chief, max_to_keep):
        self.objects, self.chief, self.train_dir = objects, chief, train_dir
        self.checkpoint = tf.train.Checkpoint(**objects)
        self.manager = tf.train.CheckpointManager(self.checkpoint, train_dir,
                                                  max_to_keep=max_to_keep,
                                                  step_counter=step) if chief else None
        self.step = step
        self.last_good = None  # (path, step) of the newest checkpoint known to be whole

    def _restore(self, path):
        """Restores `path`; returns None, or why it cannot be read (a corrupt checkpoint)."""
        try:
            saved = {name.split("/")[0] for name, _ in tf.train.list_variables(path)}
        except (tf.errors.OpError, IndexError, ValueError) as error:
            return run_dir.first_line(error)[:200]
        objects = {key: value for key, value in self.objects.items() if key in saved}
        try:
            tf.train.Checkpoint(**objects).restore(path).assert_existing_objects_matched()
        except (AssertionError, tf.errors.OpError, IndexError, ValueError) as error:
            problem = run_dir.checkpoint_read_problem(path)
            if problem:
                return problem
            reason = run_dir.first_line(error)[:300]
            hint = (" (did the data flags change? add --nosave_input_state)"
                    if "data" in objects else "")
            raise UsageError(f"{path}: cannot resume this run from it{hint}: {reason}") from None
        return None

    def restore_latest(self, train_dir, note=print):
        """Restores the newest readable checkpoint of train_dir; returns its path or None.

        Objects the checkpoint lacks (e.g. the input position of a multi-worker
        run) start fresh; everything else must match. An unreadable newer
        checkpoint is reported through `note`; if none can be read,
        CheckpointError (never a silent fresh start).
        """
        path, problems = run_dir.restore_newest(train_dir, self._restore)
        if path is None:
            if problems:
                raise CheckpointError(f"{train_dir}: no readable checkpoint "
                                      f"({run_dir.listed_problems(problems)}): move them away "
                                      "to start from scratch")
            return None
        self.last_good = (path, int(self.step.numpy()))
        if problems:
            note(run_dir.unreadable_warning(
                problems, f"resuming from {path} (step {self.last_good[1]})"))
        return path

    def save(self):
        if self.chief:
            try:
                path = self.manager.save(checkpoint_number=self.step)
            except (tf.errors.OpError, OSError) as error:
                self._failed_write(error)
            self.last_good = (path, int(self.step.numpy()))
            return path
        scratch = tempfile.mkdtemp(prefix="magenta_style_worker_ckpt_")
        try:
            self.checkpoint.write(os.path.join(scratch, "ckpt"))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return None

    def _failed_write(self, error):
        prefix = os.path.join(self.train_dir, f"ckpt-{int(self.step.numpy())}")
        # What the failed write left: its temporary folder and any part of its files.
        shutil.rmtree(prefix + "_temp", ignore_errors=True)
        for path in glob.glob(glob.escape(prefix) + ".*"):
            try:
                os.remove(path)
            except OSError:
                pass
        latest = (f"{self.last_good[0]} (step {self.last_good[1]})" if self.last_good
                  else "none (nothing was saved yet)")
        raise CheckpointWriteError(
            f"{prefix}: could not write the checkpoint ({write_failure_reason(error)}); the latest "
            f"checkpoint is still {latest}: fix that, then run the same command to "
            "resume") from None

    @property
    def latest(self):
        return self.last_good[0] if self.chief and self.last_good else None


def check_train_dir(train_dir, model):
    """Refuses a train_dir holding a run of another model type or alpha (never mixes runs)."""
    existing = read_train_config(train_dir)
    if existing is None:
        return
    wanted = (stylizer.model_type_of(model), model.alpha)
    if (existing.get("model_type"), existing.get("alpha")) != wanted:
        raise UsageError(f"--train_dir={train_dir} holds a {existing.get('model_type')} run with "
                         f"alpha {existing.get('alpha')}; this run is {wanted[0]} with alpha "
                         f"{wanted[1]}: use another --train_dir")
