"""Wall time of the held-out evaluation (1024 styles) for the mobile and full models.

  python benchmarks/evaluate_speed.py                  # 32 styles, 256 px, extrapolated to 1024
  python benchmarks/evaluate_speed.py --num_styles=1024 --model_types=mobile

Times `evaluate` end to end on generated records (random weights:
the speed is the same as with trained ones), then, warm, the seconds per style
of our loop (content VGG features once, Grams once per style) against a naive
peer in the same run: `losses.total_loss` per (style batch, content image),
which runs VGG on content, style and stylized images every time. The two alternate
within each round; min and median per style, ratios from the same rounds.
"""
import os
import sys
import tempfile
import time

from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.timing import conditions, interleaved_times, min_median  # noqa: E402
from magenta_style import defaults
from magenta_style.cli import runner

flags.DEFINE_list("model_types", ["mobile", "full"], "Models to time.")
flags.DEFINE_integer("num_styles", 32, "Styles evaluated end to end.", lower_bound=1)
flags.DEFINE_integer("num_peer_styles", 8, "Styles timed (warm) for ours and the naive peer.",
                     lower_bound=1)
flags.DEFINE_integer("rounds", 3, "Warm timing rounds, each timing ours then the naive peer.",
                     lower_bound=1)
flags.DEFINE_integer("num_content_images", defaults.EVAL_NUM_CONTENT_IMAGES, "Content images.")
flags.DEFINE_integer("image_size", defaults.IMAGE_SIZE, "Crop size.")
flags.DEFINE_integer("batch_size", defaults.EVAL_BATCH_SIZE, "Styles per batch.")
flags.DEFINE_integer("target_styles", defaults.NUM_EVALUATION_STYLES, "Extrapolate to this many.")
FLAGS = flags.FLAGS


def naive_loop(model, loss_network, content_images, sources):
    """The straightforward loop (VGG of all three images per pair); returns a timed callable."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from magenta_style.evaluation.loop import _style_batches
    from magenta_style.nets import losses

    @tf.function
    def pair(content, style):
        stylized = model.stylize(content, model.bottleneck(style))
        return losses.total_loss(content, style, stylized, loss_network,
                                 defaults.EVAL_CONTENT_WEIGHTS, defaults.EVAL_STYLE_WEIGHTS,
                                 defaults.EVAL_TOTAL_VARIATION_WEIGHT)[1]

    batch = next(iter(_style_batches(  # pylint: disable=protected-access
        sources, FLAGS.num_peer_styles, FLAGS.image_size)))["image"]
    contents = [tf.repeat(content[None], len(batch), axis=0) for content in content_images]
    pair(contents[0], batch)  # trace

    def run():
        for content in contents:
            pair(content, batch)
    return run


def main(argv):
    del argv
    import keras  # pylint: disable=import-outside-toplevel

    from magenta_style.evaluation.loop import (
        LossEvaluator,
        evaluate,
        evaluate_styles,
        load_content_images,
    )
    from magenta_style.evaluation.models import from_stylizer
    from magenta_style.nets import stylizer, vgg
    from tests.helpers import fake_data  # pylint: disable=import-outside-toplevel

    work = tempfile.mkdtemp(prefix="evaluate_speed_")
    size = FLAGS.image_size + 44  # records larger than the crop, as real ones are
    sources = [fake_data.write_style_tfrecord(os.path.join(work, "styles.tfrecord"),
                                              max(FLAGS.num_styles, FLAGS.num_peer_styles), size)]
    content_dir = os.path.dirname(fake_data.write_imagenet_shards(
        os.path.join(work, "imagenet"), 1, FLAGS.num_content_images, size,
        split="validation")[0])
    keras.utils.set_random_seed(0)
    loss_network = vgg.build_vgg16()
    print(f"{FLAGS.image_size} px, {FLAGS.num_content_images} content images, batch "
          f"{FLAGS.batch_size}; warm: {FLAGS.num_peer_styles} styles, {FLAGS.rounds} interleaved "
          f"rounds (ours, naive peer)\nbefore: {conditions()}", flush=True)
    for model_type in FLAGS.model_types:
        model = from_stylizer(stylizer.build_stylizer(model_type, build_size=64))
        start = time.perf_counter()
        evaluate(model, loss_network, content_dir, {"unobserved": sources},
                            os.path.join(work, f"eval_{model_type}"), num_styles=FLAGS.num_styles,
                            num_content_images=FLAGS.num_content_images,
                            batch_size=FLAGS.batch_size, image_size=FLAGS.image_size)
        wall = time.perf_counter() - start

        content_images, _ = load_content_images(
            content_dir, FLAGS.num_content_images, FLAGS.image_size)
        evaluator = LossEvaluator(loss_network, content_images)
        ours_loop = lambda: evaluate_styles(  # noqa: E731
            model, evaluator, content_images, sources, FLAGS.num_peer_styles, FLAGS.image_size,
            FLAGS.num_peer_styles, progress_name="warm")
        ours_loop()  # trace at this batch size
        naive = naive_loop(model, loss_network, content_images, sources)
        (ours_min, ours), (naive_min, naive) = (
            min_median([seconds / FLAGS.num_peer_styles for seconds in spent])
            for spent in interleaved_times((ours_loop, naive), FLAGS.rounds))
        overhead = max(wall - FLAGS.num_styles * ours, 0.0)
        # From the warm (median) rate plus the one-off costs, and from the end-to-end rate.
        low, high = sorted((overhead + FLAGS.target_styles * ours,
                            FLAGS.target_styles * wall / FLAGS.num_styles))
        print(f"{model_type}: end to end {FLAGS.num_styles} styles {wall:.1f} s; "
              f"{FLAGS.target_styles} styles ~ {low / 60:.1f}-{high / 60:.1f} min\n"
              f"  warm s/style: ours min {ours_min:.3f} median {ours:.3f}; naive peer min "
              f"{naive_min:.3f} median {naive:.3f}; naive / ours {naive_min / ours_min:.2f}x "
              f"(min), {naive / ours:.2f}x (median)", flush=True)
    print(f"after: {conditions()}")


if __name__ == "__main__":
    runner.run(main)
