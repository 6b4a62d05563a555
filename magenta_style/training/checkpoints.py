"""Checkpoints of a training run: saving, restoring, and checks that a train_dir fits the model.

Storage faults never lose the last good checkpoint: a write that fails (disk
full, file size limit, permission) removes what it half wrote and raises
CheckpointWriteError naming the checkpoint that is still the latest (TF's
CheckpointManager updates its state file only after the files are complete);
an unreadable newest checkpoint (truncated, checksum mismatch, missing file)
is reported and the one before restored; none readable is CheckpointError,
never a silent fresh start.
"""
import glob
import os
import re
import shutil
import tempfile

import tensorflow as tf
from google.protobuf import text_format

from magenta_style.errors import MagentaStyleError, UsageError, write_failure_reason
from magenta_style.nets import stylizer
from magenta_style.weights.run_dir import read_train_config


class CheckpointError(MagentaStyleError):
    """No checkpoint of a train_dir can be read (none is silently skipped)."""


class CheckpointWriteError(MagentaStyleError):
    """A checkpoint could not be written; the previous one is still the latest."""


def _first_line(error):
    text = str(getattr(error, "message", None) or error).strip()
    return (text.splitlines() or [type(error).__name__])[0]


def _checkpoint_number(path):
    match = re.search(r"-(\d+)$", path)
    return int(match.group(1)) if match else -1


def checkpoint_candidates(train_dir):
    """Checkpoint prefixes of train_dir, newest first: those the state file lists and any
    complete-looking ckpt-N.index beside them."""
    paths = set(tf.io.gfile.glob(os.path.join(train_dir, "ckpt-*.index")))
    paths = {path[:-len(".index")] for path in paths}
    try:
        state = tf.train.get_checkpoint_state(train_dir)
    except (tf.errors.OpError, ValueError, text_format.ParseError):
        state = None
    if state is not None:
        paths.update(os.path.join(train_dir, os.path.basename(p))
                     for p in state.all_model_checkpoint_paths)
    return sorted(paths, key=_checkpoint_number, reverse=True)


def checkpoint_read_problem(path):
    """None if every tensor of the checkpoint reads back (checksums included), else why."""
    try:
        reader = tf.train.load_checkpoint(path)
        for name in reader.get_variable_to_dtype_map():
            reader.get_tensor(name)
    except (tf.errors.OpError, IndexError, ValueError) as error:
        return _first_line(error)[:200]
    return None


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
            return _first_line(error)[:200]
        objects = {key: value for key, value in self.objects.items() if key in saved}
        try:
            tf.train.Checkpoint(**objects).restore(path).assert_existing_objects_matched()
        except (AssertionError, tf.errors.OpError, IndexError, ValueError) as error:
            problem = checkpoint_read_problem(path)
            if problem:
                return problem
            reason = _first_line(error)[:300]
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
        problems = []
        for path in checkpoint_candidates(train_dir):
            problem = self._restore(path)
            if problem is None:
                self.last_good = (path, int(self.step.numpy()))
                if problems:
                    note(f"warning: {problems[0][0]} is unreadable ({problems[0][1]}); resuming "
                         f"from {path} (step {self.last_good[1]}) instead")
                return path
            problems.append((path, problem))
        if problems:
            listed = "; ".join(f"{os.path.basename(path)}: {problem}" for path, problem in problems)
            raise CheckpointError(f"{train_dir}: no readable checkpoint ({listed}): move them "
                                  "away to start from scratch")
        return None

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
