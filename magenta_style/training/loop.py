"""The training loop: data feed, steps, summaries and checkpoints.

A run owns its train_dir (run_lock) and stops cleanly on SIGTERM / SIGINT (preemption).
"""
import contextlib
import math

import keras
import tensorflow as tf
from absl import logging

from magenta_style.data.graph import plain_graph
from magenta_style.data.pipelines import SkippedRecords, content_dataset, style_dataset
from magenta_style.errors import DataError, MagentaStyleError, UsageError
from magenta_style.nets import stylizer
from magenta_style.progress import Progress
from magenta_style.training import preemption, run_lock
from magenta_style.training.checkpoints import Checkpointer, check_train_dir
from magenta_style.training.models import build_models, initialize_from
from magenta_style.training.optimizer import make_optimizer
from magenta_style.training.steps import make_train_step
from magenta_style.training.strategies import is_chief, make_strategy, num_workers
from magenta_style.training.summaries import (
    _loss_text,
    write_image_summaries,
    write_scalar_summaries,
)
from magenta_style.weights.run_dir import write_train_config


class NonFiniteLossError(MagentaStyleError, RuntimeError):
    """The loss became NaN or inf; the run stopped without saving that state."""


def make_dataset_fn(config, skipped):
    """input_context -> per-replica batches {content, style[, style_original]} from data.py."""
    def dataset_fn(input_context):
        seed = config.seed
        content = content_dataset(
            config.imagenet_data_dir, batch_size=config.batch_size, image_size=config.image_size,
            training=True, seed=seed, input_context=input_context, skipped=skipped)
        style = style_dataset(
            list(config.style_dataset_file), batch_size=config.batch_size,
            image_size=config.image_size, training=True,
            augment_style_images=config.augment_style_images,
            random_style_image_size=config.random_style_image_size,
            center_crop=config.center_crop, seed=None if seed is None else seed + 1,
            input_context=input_context, num_styles=config.num_train_styles, skipped=skipped,
            size_buckets=config.resolved_style_size_buckets)

        def images_only(content_batch, style_batch):
            # Labels and metadata strings stay on the host.
            batch = {"content": content_batch["image"], "style": style_batch["image"]}
            if "image_original" in style_batch:
                batch["style_original"] = style_batch["image_original"]
            return batch
        options = tf.data.Options()
        # The skipped-record counter is a variable updated by the pipeline:
        # checkpoint the iterator without it (the counter is saved on its own).
        options.experimental_external_state_policy = tf.data.experimental.ExternalStatePolicy.IGNORE
        return tf.data.Dataset.zip((content, style)).map(plain_graph(images_only)).with_options(options)
    return dataset_fn


class InputFeed:
    """Batches for `train_step`, per replica.

    One worker (default / mirrored): one plain tf.data iterator of global
    batches, split across the local replicas; that iterator can be stored in
    checkpoints (`trackable`). Several workers or TPU: tf.distribute's own
    distributed dataset (per-worker sharding), not checkpointable.
    """

    def __init__(self, strategy, dataset_fn, global_batch):
        replicas = strategy.num_replicas_in_sync
        if global_batch % replicas:
            raise UsageError(f"--batch_size={global_batch} is not divisible by the {replicas} "
                             "replicas (it is the global batch, split evenly)")
        self.strategy, self.replicas = strategy, replicas
        self.local = num_workers(strategy) == 1 and not isinstance(
            strategy, tf.distribute.TPUStrategy)
        if self.local:
            self.iterator = iter(dataset_fn(tf.distribute.InputContext()))
        else:
            self.iterator = iter(strategy.distribute_datasets_from_function(dataset_fn))

    @property
    def trackable(self):
        return self.iterator if self.local else None

    def next(self):
        try:
            batch = next(self.iterator)
        except StopIteration:
            raise DataError("the training input ran out of records (a source that does not "
                            "repeat?)") from None
        if not self.local or self.replicas == 1:
            return batch
        return self.strategy.experimental_distribute_values_from_function(
            lambda context: {key: tf.split(value, self.replicas)[context.replica_id_in_sync_group]
                             for key, value in batch.items()})


def train(config, dataset_fn=None, print_fn=print):
    """Trains (or resumes) a run described by a validated TrainConfig; returns the Stylizer.

    dataset_fn: optional `input_context -> tf.data.Dataset` of per-replica
    batches {content, style[, style_original]}; default: data.py from config.
    Resumes from the newest checkpoint in config.train_dir and stops at exactly
    config.train_steps. Raises NonFiniteLossError (nothing saved) on NaN/inf.
    """
    strategy = make_strategy(config.strategy, config.tpu)
    chief = is_chief(strategy)
    previous_policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(config.dtype_policy)
    try:
        if config.seed is not None:
            keras.utils.set_random_seed(config.seed)
        # Only the chief writes to train_dir; the other workers never take its lock.
        lock = (run_lock.TrainDirLock(config.train_dir, note=print_fn,
                                     allow_unlocked=config.allow_unlocked_train_dir)
                if chief else None)
        with lock or contextlib.nullcontext(), preemption.StopSignals() as stop:
            return _train(config, strategy, chief, dataset_fn, print_fn, stop)
    finally:
        keras.config.set_dtype_policy(previous_policy)


def _train(config, strategy, chief, dataset_fn, print_fn, stop):
    skipped = SkippedRecords()
    dataset_fn = dataset_fn or make_dataset_fn(config, skipped)
    with strategy.scope():
        models = build_models(config)
        model = models.model
        check_train_dir(config.train_dir, model)
        optimizer = make_optimizer(config.learning_rate, config.loss_scaling,
                                   config.adam_epsilon)
        optimizer.build(model.trainable_variables)
        step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
    feed = InputFeed(strategy, dataset_fn, config.batch_size)
    objects = {"model": model, "optimizer": optimizer, "step": step,
               "skipped_records": skipped.variable}
    # Iterator state makes a resumed run see the data it would have seen; only
    # one worker's pipeline can be restored from the chief's checkpoint.
    if config.save_input_state and feed.trackable is not None:
        objects["data"] = feed.trackable
    checkpointer = Checkpointer(objects, config.train_dir, step, chief,
                                config.max_checkpoints_to_keep)
    restored = checkpointer.restore_latest(config.train_dir, note=print_fn)
    if restored:
        print_fn(f"resuming from {restored} at step {int(step.numpy())}")
    elif config.init_from:
        initialize_from(model, config.init_from)
        print_fn(f"initialized from {config.init_from}")
    if chief:
        write_train_config(config.train_dir, model)
    print_fn(f"training {stylizer.model_type_of(model)} (alpha {model.alpha:g}) with "
             f"{type(strategy).__name__} on {strategy.num_replicas_in_sync} replica(s) in "
             f"{num_workers(strategy)} worker(s), global batch {config.batch_size}")
    train_step = make_train_step(
        strategy, models, optimizer, step, config.content_weights, config.style_weights,
        config.total_variation_weight, config.clip_gradient_norm,
        config.distill_bottleneck_weight, config.jit_compile)
    writer = (tf.summary.create_file_writer(config.train_dir) if chief
              else tf.summary.create_noop_writer())
    current = int(step.numpy())
    if current >= config.train_steps:
        print_fn(f"{config.train_dir} is already at step {current} >= --train_steps="
                 f"{config.train_steps}; nothing to do")
        return model
    progress = Progress(config.train_steps, "steps", name="train", log=print_fn)
    progress.restart(current)
    timing = False  # the rate window starts after the first step (it traces and compiles)
    learning_rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    guard = preemption.StepGuard(
        stop, checkpointer.save, step, strategy,
        multi_worker=isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        and num_workers(strategy) > 1)
    with writer.as_default(), contextlib.closing(guard):
        while current < config.train_steps:
            batch = feed.next()
            terms, stylized = guard.run(train_step, batch)
            total = float(terms["total_loss"])  # waits for the step; also the NaN check
            current += 1
            if not math.isfinite(total):
                raise NonFiniteLossError(
                    f"non-finite total_loss ({total}) at step {current}: stopped without saving; "
                    f"last good checkpoint: {checkpointer.latest or 'none'} (try a lower "
                    "--learning_rate or --clip_gradient_norm)")
            if not timing:
                progress.restart(current)
                timing = True
            last = current == config.train_steps
            summary = current % config.summary_interval_steps == 0 or last
            if summary or current % config.log_interval_steps == 0:
                progress.done = current
                steps_per_second = progress.rate()  # since the last line
                images_per_second = steps_per_second * config.batch_size
                progress.update(current, _loss_text(terms), f"{images_per_second:.1f} images/s",
                                final=True)
                progress.restart()
                if summary:
                    write_scalar_summaries(
                        current, terms, learning_rate, steps_per_second, images_per_second,
                        skipped.result(),
                        float(optimizer.dynamic_scale.numpy()) if config.loss_scaling else None)
                    write_image_summaries(current, strategy, batch, stylized)
                    writer.flush()
            path = None
            if current % config.save_interval_steps == 0 or last:
                path = checkpointer.save()
                if path:
                    logging.info("saved %s", path)
            if not last:
                guard.after_step(path)  # on SIGTERM / SIGINT: save here (if not just saved), stop
    print_fn(f"done: step {current}, checkpoint {checkpointer.latest or '(written by the chief)'}")
    return model
