"""Training the Stylizer: strategy, models, the compiled step, checkpoints, summaries, the loop.

`train(config)` runs a whole (resumable) training run from a validated
`train_config.TrainConfig`; its pieces are importable for tests and tools:

  make_strategy(name)                       -> tf.distribute.Strategy
  build_models(config)                      -> Models(model, loss_network, teacher, ...)
  make_optimizer(learning_rate, mixed)      -> Keras Adam (in a LossScaleOptimizer if mixed)
  stylization_losses(...), distillation_losses(...)
  make_train_step(...)                      -> tf.function(batch) -> (loss dict, stylized)

Batches are dicts of float32 NHWC images in [0, 1]: `content` [B, S, S, 3],
`style` [B, R, R, 3] and optionally `style_original` (un-augmented).

Global batch semantics: `batch_size` is the global batch. Each of the R
replicas gets batch_size / R images, computes the reference loss (a mean over
its images) and scales it by 1 / R, so the summed gradient equals the gradient
of the mean loss over the global batch, whatever R is.
"""
import collections
import math
import os
import json
import shutil
import tempfile

import keras
import tensorflow as tf
from absl import logging

from magenta_style import data, defaults, losses, slim_backbones, stylizer, vgg, weights
from magenta_style.progress import Progress
from magenta_style.train_config import RANDOM

MEAN, SUM = tf.distribute.ReduceOp.MEAN, tf.distribute.ReduceOp.SUM


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or inf; the run stopped without saving that state."""


# ----------------------------------------------------------------------------
# Strategy.

def make_strategy(name="default", tpu=""):
    """'default' | 'mirrored' (all GPUs, else all logical CPUs) | 'multi_worker' (TF_CONFIG) | 'tpu'."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = [d.name for d in tf.config.list_logical_devices("GPU")] or \
            [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
        except (ValueError, tf.errors.OpError) as error:
            message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise ValueError(f"--strategy=tpu: no TPU found ({message})") from None
        return tf.distribute.TPUStrategy(resolver)
    raise ValueError(f"unknown strategy {name!r}")


def is_chief(strategy):
    """True where checkpoints and summaries are written (task 'chief', or worker 0 without one)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type or isinstance(
            resolver, tf.distribute.cluster_resolver.TPUClusterResolver):
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "chief" or (not has_chief and resolver.task_type == "worker"
                                             and resolver.task_id == 0)


def num_workers(strategy):
    """Machines taking part: chief + workers of the cluster (1 without a cluster)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None:
        return 1
    spec = resolver.cluster_spec().as_dict()
    return max(1, len(spec.get("chief", [])) + len(spec.get("worker", [])))


# ----------------------------------------------------------------------------
# Models.

Models = collections.namedtuple("Models", "model loss_network teacher frozen_head")


def _warn_random(what):
    banner = "!" * 78
    message = (f"{what}=random: training with UNTRAINED weights; the model will not learn useful "
               "styles. Use this only for tests.")
    logging.warning("\n%s\n%s\n%s", banner, message, banner)


def build_predictor_stylizer(model_type, alpha, predictor_weights):
    """build_stylizer with any --predictor_weights: imagenet | Keras file | slim checkpoint | random."""
    if predictor_weights == RANDOM:
        _warn_random("--predictor_weights")
    slim = predictor_weights != RANDOM and weights.checkpoint_prefix(predictor_weights) is not None
    model = stylizer.build_stylizer(model_type, alpha=alpha,
                                    predictor_weights=None if slim else predictor_weights)
    if slim:
        slim_backbones.load_slim_backbone_checkpoint(model, predictor_weights)
    return model


def copy_weights(source, target, what):
    """target.set_weights(source's) with a one-line error when the architectures differ."""
    source_shapes = [tuple(w.shape) for w in source.weights]
    target_shapes = [tuple(w.shape) for w in target.weights]
    if source_shapes != target_shapes:
        raise ValueError(f"{what}: architecture differs ({len(source_shapes)} vs "
                         f"{len(target_shapes)} weights, or other shapes)")
    target.set_weights(source.get_weights())


def build_models(config):
    """Stylizer (trainable), frozen VGG-16 and, for --distill_from, the frozen teacher.

    Call inside `strategy.scope()`. With distillation, when the teacher's alpha
    equals the student's, the head + transfer network are copied from the
    teacher and frozen (only the MobileNetV2 predictor learns, as Magenta's
    distill_mobilenet); otherwise they train with the stylization loss too.
    """
    if config.vgg_weights == RANDOM:
        _warn_random("--vgg_weights")
    loss_network = vgg.build_vgg16(None if config.vgg_weights == RANDOM else config.vgg_weights)
    model = build_predictor_stylizer(config.model_type, config.alpha, config.predictor_weights)
    teacher, frozen_head = None, False
    if config.distill_from:
        teacher = weights.load_model(config.distill_from)
        teacher.trainable = False
        if teacher.bottleneck_dim != model.bottleneck_dim:
            raise ValueError(f"--distill_from={config.distill_from}: bottleneck of "
                             f"{teacher.bottleneck_dim} values, the student has {model.bottleneck_dim}")
        if math.isclose(teacher.alpha, model.alpha):
            copy_weights(teacher.style_params_head, model.style_params_head, "--distill_from head")
            copy_weights(teacher.transfer_network, model.transfer_network,
                         "--distill_from transfer network")
            model.style_params_head.trainable = False
            model.transfer_network.trainable = False
            frozen_head = True
    return Models(model, loss_network, teacher, frozen_head)


def initialize_from(model, spec):
    """Copies all weights of `weights.load_model(spec)` (same model type and alpha) into `model`."""
    source = weights.load_model(spec)
    if (stylizer.model_type_of(source), source.alpha) != (stylizer.model_type_of(model), model.alpha):
        raise ValueError(f"--init_from={spec}: a {stylizer.model_type_of(source)} model with alpha "
                         f"{source.alpha}, this run trains {stylizer.model_type_of(model)} "
                         f"with alpha {model.alpha}")
    copy_weights(source, model, f"--init_from={spec}")


def make_optimizer(learning_rate=defaults.LEARNING_RATE, mixed_precision=False):
    """Adam (beta1 0.9, beta2 0.999); wrapped in a dynamic LossScaleOptimizer for float16."""
    optimizer = keras.optimizers.Adam(learning_rate, beta_1=defaults.ADAM_BETA_1,
                                      beta_2=defaults.ADAM_BETA_2)
    if mixed_precision:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


# ----------------------------------------------------------------------------
# Losses of one replica batch.

def _float32_endpoints(loss_network, images):
    # Gram matrices overflow float16; losses are always computed in float32.
    return {name: tf.cast(value, tf.float32) for name, value in loss_network(images).items()}


def stylization_losses(model, loss_network, content, style, content_weights, style_weights,
                       total_variation_weight, bottleneck=None):
    """Reference loss of stylizing `content` with `style` (training mode).

    bottleneck: optional precomputed style bottleneck [B, 100] (else the
    model's own predictor runs on `style`).
    Returns (total scalar, dict with the reference keys, stylized [B, S, S, 3] float32).
    """
    if bottleneck is None:
        bottleneck = model.style_bottleneck(style, training=True)
    stylized = tf.cast(model.stylize(content, bottleneck, training=True), tf.float32)
    total, terms = losses.combine_losses(
        _float32_endpoints(loss_network, content), _float32_endpoints(loss_network, style),
        _float32_endpoints(loss_network, stylized), stylized, content_weights, style_weights,
        total_variation_weight)
    return total, terms, stylized


def distillation_losses(student, teacher, loss_network, content, style, content_weights,
                        style_weights, total_variation_weight, bottleneck_weight, frozen_head):
    """Student predictor regresses the teacher's bottleneck (SPEC 1.3).

    bottleneck_loss = mean over batch and the 100 values of (student - teacher)^2.
    With a frozen (copied) head the total is bottleneck_weight * bottleneck_loss;
    otherwise the stylization loss of the student's own output is added.
    Returns (total, dict, stylized [B, S, S, 3] float32).
    """
    target = tf.stop_gradient(tf.cast(teacher.style_bottleneck(style, training=False), tf.float32))
    predicted = tf.cast(student.style_bottleneck(style, training=True), tf.float32)
    bottleneck_loss = tf.reduce_mean(tf.square(predicted - target))
    weighted = bottleneck_weight * bottleneck_loss
    if frozen_head:
        stylized = tf.cast(student.stylize(content, predicted, training=False), tf.float32)
        terms = {}
        total = weighted
    else:
        stylization_total, terms, stylized = stylization_losses(
            student, loss_network, content, style, content_weights, style_weights,
            total_variation_weight, bottleneck=predicted)
        terms = {f"stylization/{key}": value for key, value in terms.items()}
        total = weighted + stylization_total
    terms.update({"total_loss": total, "bottleneck_loss": bottleneck_loss,
                  "weighted_bottleneck_loss": weighted})
    return total, terms, stylized


# ----------------------------------------------------------------------------
# The compiled training step.

def make_train_step(strategy, models, optimizer, step, content_weights, style_weights,
                    total_variation_weight, clip_gradient_norm=defaults.CLIP_GRADIENT_NORM,
                    distill_bottleneck_weight=defaults.DISTILL_BOTTLENECK_WEIGHT,
                    jit_compile=False):
    """Returns `train_step(batch) -> (loss dict (global means), stylized per replica)`.

    One call: forward, gradients of the trainable Stylizer variables (VGG and
    teacher frozen; BatchNorm in training mode), optional global-norm clipping
    over the all-reduced gradient, Adam update, step += 1.
    `batch` is a (distributed) dict with `content` and `style`.
    """
    model = models.model
    trainable = model.trainable_variables
    mixed = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    replicas = strategy.num_replicas_in_sync
    # Clipping needs the global gradient; Keras all-reduces inside apply, so
    # reduce here first and hand it 1/R of the result (which it sums back).
    reduce_here = clip_gradient_norm > 0 or (mixed and replicas > 1)

    def forward_backward(batch):
        with tf.GradientTape() as tape:
            if models.teacher is not None:
                total, terms, stylized = distillation_losses(
                    model, models.teacher, models.loss_network, batch["content"], batch["style"],
                    content_weights, style_weights, total_variation_weight,
                    distill_bottleneck_weight, models.frozen_head)
            else:
                total, terms, stylized = stylization_losses(
                    model, models.loss_network, batch["content"], batch["style"],
                    content_weights, style_weights, total_variation_weight)
            scaled = total / replicas
            if mixed:
                scaled = optimizer.scale_loss(scaled)
        return tape.gradient(scaled, trainable), terms, stylized

    if jit_compile:
        forward_backward = tf.function(forward_backward, jit_compile=True)

    def replica_step(batch):
        grads, terms, stylized = forward_backward(batch)
        if reduce_here:
            grads = tf.distribute.get_replica_context().all_reduce(SUM, grads)
            if clip_gradient_norm > 0:
                # Loss scaling multiplies the gradient norm by the scale.
                clip_norm = clip_gradient_norm * (optimizer.dynamic_scale if mixed else 1.0)
                grads, _ = tf.clip_by_global_norm(grads, clip_norm)
            grads = [g / replicas for g in grads]
        optimizer.apply_gradients(zip(grads, trainable))
        return terms, stylized

    @tf.function(reduce_retracing=True)
    def train_step(batch):
        terms, stylized = strategy.run(replica_step, args=(batch,))
        terms = {key: strategy.reduce(MEAN, value, axis=None) for key, value in terms.items()}
        step.assign_add(1)
        return terms, stylized

    return train_step


# ----------------------------------------------------------------------------
# Input.

def make_dataset_fn(config, skipped):
    """input_context -> per-replica batches {content, style[, style_original]} from data.py."""
    def dataset_fn(input_context):
        seed = config.seed
        content = data.content_dataset(
            config.imagenet_data_dir, batch_size=config.batch_size, image_size=config.image_size,
            training=True, seed=seed, input_context=input_context, skipped=skipped)
        style = data.style_dataset(
            list(config.style_dataset_file), batch_size=config.batch_size,
            image_size=config.image_size, training=True,
            augment_style_images=config.augment_style_images,
            random_style_image_size=config.random_style_image_size,
            center_crop=config.center_crop, seed=None if seed is None else seed + 1,
            input_context=input_context, num_styles=config.num_train_styles, skipped=skipped)

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
        return tf.data.Dataset.zip((content, style)).map(images_only).with_options(options)
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
            raise ValueError(f"--batch_size={global_batch} is not divisible by the {replicas} "
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
        batch = next(self.iterator)
        if not self.local or self.replicas == 1:
            return batch
        return self.strategy.experimental_distribute_values_from_function(
            lambda context: {key: tf.split(value, self.replicas)[context.replica_id_in_sync_group]
                             for key, value in batch.items()})


# ----------------------------------------------------------------------------
# Observability.

_SHOWN_LOSSES = ("total_loss", "total_content_loss", "total_style_loss",
                 "weighted_total_variation_loss", "bottleneck_loss")


def _loss_text(terms):
    """The main loss terms as `key=value` for the console line."""
    return " ".join(f"{key}={float(terms[key]):.4g}" for key in _SHOWN_LOSSES if key in terms)


def write_scalar_summaries(step, terms, learning_rate, steps_per_second, images_per_second,
                           skipped_records, loss_scale=None):
    """Every loss term under its reference key, plus learning_rate, rates and skipped records."""
    for key, value in terms.items():
        tf.summary.scalar(key, value, step=step)
    tf.summary.scalar("learning_rate", learning_rate, step=step)
    tf.summary.scalar("steps_per_second", steps_per_second, step=step)
    tf.summary.scalar("images_per_second", images_per_second, step=step)
    tf.summary.scalar("skipped_records", skipped_records, step=step)
    if loss_scale is not None:
        tf.summary.scalar("loss_scale", loss_scale, step=step)


def write_image_summaries(step, strategy, batch, stylized, max_outputs=defaults.NUM_SUMMARY_IMAGES):
    """content, style, style_original (if augmented) and stylized of the first replica."""
    first = lambda value: strategy.experimental_local_results(value)[0]  # noqa: E731
    images = {"content": batch["content"], "style": batch["style"], "stylized": stylized}
    if "style_original" in batch:
        images["style_original"] = batch["style_original"]
    for name, value in images.items():
        tf.summary.image(name, tf.clip_by_value(tf.cast(first(value), tf.float32), 0.0, 1.0),
                         step=step, max_outputs=max_outputs)


# ----------------------------------------------------------------------------
# Checkpoints.

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
            raise ValueError(f"{path}: cannot resume this run from it{hint}: {reason}") from None
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
    path = os.path.join(train_dir, weights.TRAIN_CONFIG_FILE)
    if not tf.io.gfile.exists(path):
        return
    with tf.io.gfile.GFile(path) as f:
        existing = json.load(f)
    wanted = (stylizer.model_type_of(model), model.alpha)
    if (existing.get("model_type"), existing.get("alpha")) != wanted:
        raise ValueError(f"--train_dir={train_dir} holds a {existing.get('model_type')} run with "
                         f"alpha {existing.get('alpha')}; this run is {wanted[0]} with alpha "
                         f"{wanted[1]}: use another --train_dir")


# ----------------------------------------------------------------------------
# The loop.

def _policy_for(config, strategy):
    if not config.mixed_precision:
        return "float32"
    return "mixed_bfloat16" if isinstance(strategy, tf.distribute.TPUStrategy) else "mixed_float16"


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
    keras.config.set_dtype_policy(_policy_for(config, strategy))
    try:
        if config.seed is not None:
            keras.utils.set_random_seed(config.seed)
        return _train(config, strategy, chief, dataset_fn, print_fn)
    finally:
        keras.config.set_dtype_policy(previous_policy)


def _train(config, strategy, chief, dataset_fn, print_fn):
    skipped = data.SkippedRecords()
    dataset_fn = dataset_fn or make_dataset_fn(config, skipped)
    with strategy.scope():
        models = build_models(config)
        model = models.model
        check_train_dir(config.train_dir, model)
        optimizer = make_optimizer(config.learning_rate, config.mixed_precision)
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
    restored = checkpointer.restore_latest(config.train_dir)
    if restored:
        print_fn(f"resuming from {restored} at step {int(step.numpy())}")
    elif config.init_from:
        initialize_from(model, config.init_from)
        print_fn(f"initialized from {config.init_from}")
    if chief:
        weights.write_train_config(config.train_dir, model)
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
    with writer.as_default():
        while current < config.train_steps:
            batch = feed.next()
            terms, stylized = train_step(batch)
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
                        float(optimizer.dynamic_scale.numpy()) if config.mixed_precision else None)
                    write_image_summaries(current, strategy, batch, stylized)
                    writer.flush()
            if current % config.save_interval_steps == 0 or last:
                path = checkpointer.save()
                if path:
                    logging.info("saved %s", path)
    print_fn(f"done: step {current}, checkpoint {checkpointer.latest or '(written by the chief)'}")
    return model
