"""The models a training run needs: the student, an optional distillation teacher, the loss network."""
import collections
import math

import keras
from absl import logging

from magenta_style.defaults import IMAGENET, RANDOM
from magenta_style.errors import UsageError
from magenta_style.nets import stylizer
from magenta_style.weights import imagenet, load_model
from magenta_style.weights import slim
from magenta_style.weights.run_dir import checkpoint_prefix
from magenta_style.weights.vgg import load_vgg

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
    if predictor_weights == IMAGENET:  # fetched by us: retried, checked, one-line errors
        predictor_weights = imagenet.imagenet_weights_file(stylizer.MODEL_TYPES[model_type][0])
    from_slim = predictor_weights != RANDOM and checkpoint_prefix(predictor_weights) is not None
    try:
        model = stylizer.build_stylizer(model_type, alpha=alpha,
                                        predictor_weights=None if from_slim else predictor_weights)
    except (ValueError, OSError) as error:
        if from_slim or predictor_weights in (None, RANDOM):
            raise
        raise imagenet.keras_weights_error(predictor_weights,
                                           stylizer.MODEL_TYPES[model_type][0], error) from None
    if from_slim:
        slim.load_slim_backbone_checkpoint(model, predictor_weights)
    return model


def copy_weights(source, target, what):
    """target.set_weights(source's) with a one-line error when the architectures differ."""
    source_shapes = [tuple(w.shape) for w in source.weights]
    target_shapes = [tuple(w.shape) for w in target.weights]
    if source_shapes != target_shapes:
        raise UsageError(f"{what}: architecture differs ({len(source_shapes)} vs "
                         f"{len(target_shapes)} weights, or other shapes)")
    target.set_weights(source.get_weights())


def _batch_norm_layers(model):
    """Every BatchNormalization layer of `model`, nested ones included."""
    return [layer for layer in model._flatten_layers(include_self=False, recursive=True)  # pylint: disable=protected-access
            if isinstance(layer, keras.layers.BatchNormalization)]


def freeze_batch_norm(model):
    """Every BatchNormalization layer of `model` (nested ones too) runs in inference mode,
    on its moving statistics, and stops learning: for fine-tuning a trained model.
    Returns how many layers were frozen."""
    norms = _batch_norm_layers(model)
    for layer in norms:
        layer.trainable = False  # Keras 3: a non-trainable BatchNormalization uses moving stats
    return len(norms)


def set_batch_norm_momentum(model, momentum):
    """Every BatchNormalization layer of `model` (nested ones too) updates its moving statistics
    with this momentum. The reference's 0.999 / 0.9997 take thousands of steps to forget their
    initial mean 0, variance 1: a short run from scratch otherwise stylizes well in training mode
    (batch statistics) and outputs flat colour in inference mode. Returns how many layers."""
    norms = _batch_norm_layers(model)
    for layer in norms:
        layer.momentum = float(momentum)
    return len(norms)


def build_models(config):
    """Stylizer (trainable), the frozen loss network (--loss_network) and, for --distill_from, the frozen teacher.

    Call inside `strategy.scope()`. With distillation, when the teacher's alpha
    equals the student's, the head + transfer network are copied from the
    teacher and frozen (only the MobileNetV2 predictor learns, as Magenta's
    distill_mobilenet); otherwise they train with the stylization loss too.
    """
    if config.vgg_weights == RANDOM:
        _warn_random("--vgg_weights")
    loss_network = load_vgg(config.loss_network, config.vgg_weights)
    model = build_predictor_stylizer(config.model_type, config.alpha, config.predictor_weights)
    if config.freeze_batch_norm:
        freeze_batch_norm(model)
    if config.batch_norm_momentum is not None:
        set_batch_norm_momentum(model, config.batch_norm_momentum)
    teacher, frozen_head = None, False
    if config.distill_from:
        teacher = load_model(config.distill_from)
        teacher.trainable = False
        if teacher.bottleneck_dim != model.bottleneck_dim:
            raise UsageError(f"--distill_from={config.distill_from}: bottleneck of "
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
    """Copies all weights of `load_model(spec)` (same model type and alpha) into `model`."""
    source = load_model(spec)
    if (stylizer.model_type_of(source), source.alpha) != (stylizer.model_type_of(model), model.alpha):
        raise UsageError(f"--init_from={spec}: a {stylizer.model_type_of(source)} model with alpha "
                         f"{source.alpha}, this run trains {stylizer.model_type_of(model)} "
                         f"with alpha {model.alpha}")
    copy_weights(source, model, f"--init_from={spec}")
