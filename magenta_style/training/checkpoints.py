"""Checkpoints of a training run: saving, restoring, and checks that a train_dir fits the model."""
import os
import shutil
import tempfile

import tensorflow as tf

from magenta_style.errors import UsageError
from magenta_style.nets import stylizer
from magenta_style.weights.run_dir import read_train_config


class Checkpointer:
    """Chief: CheckpointManager in train_dir. Other workers: same save calls (they may
    hold collective ops) into a temporary directory that is deleted right after."""

    def __init__(self, objects, train_dir, step, chief, max_to_keep):
        self.objects, self.chief = objects, chief
        self.checkpoint = tf.train.Checkpoint(**objects)
        self.manager = tf.train.CheckpointManager(self.checkpoint, train_dir,
                                                  max_to_keep=max_to_keep,
                                                  step_counter=step) if chief else None
        self.step = step

    def restore_latest(self, train_dir):
        """Restores the newest checkpoint of train_dir; returns its path or None.

        Objects the checkpoint lacks (e.g. the input position of a multi-worker
        run) start fresh; everything else must match.
        """
        path = tf.train.latest_checkpoint(train_dir)
        if not path:
            return None
        saved = {name.split("/")[0] for name, _ in tf.train.list_variables(path)}
        objects = {key: value for key, value in self.objects.items() if key in saved}
        try:
            tf.train.Checkpoint(**objects).restore(path).assert_existing_objects_matched()
        except (AssertionError, tf.errors.OpError) as error:
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
            hint = (" (did the data flags change? add --nosave_input_state)"
                    if "data" in objects else "")
            raise UsageError(f"{path}: cannot resume this run from it{hint}: {reason}") from None
        return path

    def save(self):
        if self.chief:
            return self.manager.save(checkpoint_number=self.step)
        scratch = tempfile.mkdtemp(prefix="magenta_style_worker_ckpt_")
        try:
            self.checkpoint.write(os.path.join(scratch, "ckpt"))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return None

    @property
    def latest(self):
        return self.manager.latest_checkpoint if self.chief else None


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
