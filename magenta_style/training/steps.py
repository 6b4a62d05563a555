"""Loss functions and the (distributed) train / distillation step."""
import keras
import tensorflow as tf

from magenta_style import defaults
from magenta_style.nets import losses
from magenta_style.nets.layers import wide_dtype
from magenta_style.training.optimizer import FusedAdam, make_optimizer

MEAN, SUM = tf.distribute.ReduceOp.MEAN, tf.distribute.ReduceOp.SUM
_TINY = 1e-30  # the loss that loss scaling divides by never reaches 0


def _wide(value):
    return tf.cast(value, wide_dtype(value.dtype))


def _wide_endpoints(loss_network, images):
    # Gram matrices overflow float16; losses are computed in float32 (float64 under a
    # float64 policy).
    return {name: _wide(value) for name, value in loss_network(images).items()}


def stylization_losses(model, loss_network, content, style, content_weights, style_weights,
                       total_variation_weight, bottleneck=None):
    """Reference loss of stylizing `content` with `style` (training mode).

    bottleneck: optional precomputed style bottleneck [B, 100] (else the
    model's own predictor runs on `style`).
    Returns (total scalar, dict with the reference keys, stylized [B, S, S, 3] float32).
    """
    if bottleneck is None:
        bottleneck = model.style_bottleneck(style, training=True)
    stylized = _wide(model.stylize(content, bottleneck, training=True))
    total, terms = losses.combine_losses(
        _wide_endpoints(loss_network, content), _wide_endpoints(loss_network, style),
        _wide_endpoints(loss_network, stylized), stylized, content_weights, style_weights,
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


def make_train_step(strategy, models, optimizer, step, content_weights, style_weights,
                    total_variation_weight, clip_gradient_norm=defaults.CLIP_GRADIENT_NORM,
                    distill_bottleneck_weight=defaults.DISTILL_BOTTLENECK_WEIGHT,
                    jit_compile=False):
    """Returns `train_step(batch) -> (loss dict (global means), stylized per replica)`.

    One call: forward, gradients of the trainable Stylizer variables (VGG and
    teacher frozen; BatchNorm in training mode), optional global-norm clipping
    over the all-reduced gradient, Adam update, step += 1.
    `batch` is a (distributed) dict with `content` and `style`.
    jit_compile: on one device the whole call is one XLA program, traced once
    per input shape (`train_step.experimental_get_tracing_count()` counts them).
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
                # Loss scaling relative to the loss: float16 sees the gradients of
                # scale * total / total, whatever the size of the loss (the reference's
                # weights make it ~1e2 with a random VGG, ~1e7 with ImageNet's, and it falls
                # as training goes), so the dynamic scale starts right and rarely moves.
                size = tf.stop_gradient(tf.maximum(total, _TINY))
                scaled = optimizer.scale_loss(scaled / size)
        grads = tape.gradient(scaled, trainable)
        if mixed:
            # float32 now: scale * gradient, what LossScaleOptimizer unscales.
            grads = [None if g is None else g * size for g in grads]
        return grads, terms, stylized

    tpu = isinstance(strategy, tf.distribute.TPUStrategy)
    # XLA. One device: the whole step (forward, VGG losses, gradients, Adam, BatchNorm
    # statistics, step counter) is one program with no host round trip, traced and
    # compiled once per input shape (style size buckets keep those few). TPUStrategy
    # XLA-compiles the replica step itself. Several GPU / CPU replicas: forward and
    # backward only; the all-reduce and Adam run outside XLA.
    whole_step = jit_compile and _single_device(strategy)
    if jit_compile and not (whole_step or tpu):
        forward_backward = tf.function(forward_backward, jit_compile=True, autograph=False)

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

    def train_step(batch):
        terms, stylized = strategy.run(replica_step, args=(batch,))
        terms = {key: strategy.reduce(MEAN, value, axis=None) for key, value in terms.items()}
        step.assign_add(1)
        return terms, stylized

    if whole_step:
        return tf.function(train_step, jit_compile=True, autograph=False)
    # Compiled programs need static shapes: one trace per shape (TPU); else one for all.
    return tf.function(train_step, reduce_retracing=not tpu, autograph=False)


def _single_device(strategy):
    """The default strategy or OneDeviceStrategy: nothing cross-replica to keep out of XLA."""
    return isinstance(strategy, tf.distribute.OneDeviceStrategy) or (
        not tf.distribute.has_strategy() and strategy is tf.distribute.get_strategy())


def one_device_step(config, seed=0, adam=FusedAdam, dtype_policy=None):
    """`config`'s models, optimizer, step counter and train step on one device, outside train().

    For tools and tests that drive the step themselves (benchmarks, XLA checks).
    Built under `dtype_policy` (default config.dtype_policy; "float64" gives a reference
    computation), restored afterwards; random init from `seed`.
    adam: the Adam class (make_optimizer's). Returns (models, optimizer, step variable,
    train_step).
    """
    from magenta_style.training.models import build_models  # pylint: disable=import-outside-toplevel
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(dtype_policy or config.dtype_policy)
    try:
        keras.utils.set_random_seed(seed)
        models = build_models(config)
        optimizer = make_optimizer(config.learning_rate, config.loss_scaling, config.adam_epsilon,
                                   adam)
        optimizer.build(models.model.trainable_variables)
        step = tf.Variable(0, dtype=tf.int64)
        train_step = make_train_step(
            tf.distribute.get_strategy(), models, optimizer, step, config.content_weights,
            config.style_weights, config.total_variation_weight, config.clip_gradient_norm,
            config.distill_bottleneck_weight, config.jit_compile)
    finally:
        keras.config.set_dtype_policy(previous)
    return models, optimizer, step, train_step
