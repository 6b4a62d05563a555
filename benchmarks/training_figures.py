r"""Before/after grids and loss curves of a training run (README, "Proof that training learns").

  python benchmarks/training_figures.py --train_dir=/tmp/runs/ihc --steps=100,400 \
      --style_images=/tmp/samples/styles/ihc.png \
      --content_images=/tmp/samples/content_eval/coffee.png,/tmp/samples/content_eval/astronaut.png \
      --output_prefix=docs/train_ihc

Writes <prefix>_grid.png: one row per (content, style) pair: content, style, then the model
at each of --steps (and --before, a model spec such as pretrained:mobile, first); and
<prefix>_losses.png: the run's total style and content loss against the step (its
TensorBoard scalars). Images are --image_size pixels (content central crop, style resize).
"""
import os
import sys

import numpy as np
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from magenta_style.cli import runner  # noqa: E402  pylint: disable=wrong-import-position

flags.DEFINE_string("train_dir", None, "train.py's --train_dir.")
flags.DEFINE_list("steps", [], "Checkpoint steps shown (default: the latest).")
flags.DEFINE_string("before", None, "Model spec shown first (e.g. pretrained:mobile).")
flags.DEFINE_list("style_images", None, "Style image files.")
flags.DEFINE_list("content_images", None, "Content image files.")
flags.DEFINE_integer("image_size", 128, "Side of every image in the grid.")
flags.DEFINE_boolean("antialias_style", True, "Resize style images with antialiasing; "
                     "--noantialias_style: plain bilinear, as train.py without style "
                     "augmentation (a single-style model from scratch knows only that image).")
flags.DEFINE_list("curves", ["total_style_loss", "total_content_loss"], "Scalars plotted.")
flags.DEFINE_string("output_prefix", None, "Output path prefix.")
flags.mark_flags_as_required(["train_dir", "style_images", "content_images", "output_prefix"])
FLAGS = flags.FLAGS


def read_scalars(train_dir, names):
    """{name: (steps, values)} from the TensorBoard event files of a train_dir."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    series = {name: {} for name in names}
    for path in sorted(tf.io.gfile.glob(os.path.join(train_dir, "events.out.tfevents.*"))):
        for record in tf.data.TFRecordDataset(path):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                if value.tag in series:
                    series[value.tag][event.step] = float(tf.make_ndarray(value.tensor))
    return {name: (np.array(sorted(points)), np.array([points[s] for s in sorted(points)]))
            for name, points in series.items()}


def plot_curves(path, series, title):
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use("Agg")
    from matplotlib import pyplot  # pylint: disable=import-outside-toplevel
    figure, axes = pyplot.subplots(1, len(series), figsize=(4 * len(series), 3), dpi=80)
    for axis, (name, (steps, values)) in zip(np.atleast_1d(axes), series.items()):
        axis.plot(steps, values, lw=1)
        axis.set_title(name, fontsize=9)
        axis.set_xlabel("step", fontsize=8)
        axis.set_yscale("log")
        axis.tick_params(labelsize=7)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)


def load_square(path, size, crop, antialias=True):
    """[1, size, size, 3] in [0, 1]; antialias=False: exactly as train.py resizes a style
    image without augmentation (data.image_ops.preprocess_style_image, no crop)."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from magenta_style import image_io  # pylint: disable=import-outside-toplevel
    from magenta_style.data.image_ops import preprocess_style_image  # pylint: disable=import-outside-toplevel
    image = image_io.load_image(path)
    if not antialias and not crop:
        return preprocess_style_image(tf.constant(image), size, center_crop=False).numpy()[None]
    if crop:
        side = min(image.shape[:2])
        top, left = (image.shape[0] - side) // 2, (image.shape[1] - side) // 2
        image = image[top:top + side, left:left + side]
    return tf.image.resize(image[None], [size, size], antialias=antialias).numpy()


def main(argv):
    del argv
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from magenta_style import image_io  # pylint: disable=import-outside-toplevel
    from magenta_style.weights import load_model  # pylint: disable=import-outside-toplevel
    from magenta_style.weights.run_dir import load_train_dir  # pylint: disable=import-outside-toplevel
    size = FLAGS.image_size
    models = [load_model(FLAGS.before)] if FLAGS.before else []
    for step in FLAGS.steps or [None]:
        checkpoint = None if step is None else os.path.join(FLAGS.train_dir, f"ckpt-{step}")
        models.append(load_train_dir(FLAGS.train_dir, checkpoint))
    styles = [load_square(path, size, crop=False, antialias=FLAGS.antialias_style)
              for path in FLAGS.style_images]
    contents = [load_square(path, size, crop=True) for path in FLAGS.content_images]
    rows = []
    for style in styles:
        bottlenecks = [model.style_bottleneck(tf.constant(style)) for model in models]
        for content in contents:
            rows.append([content[0], style[0]] + [
                model.stylize(tf.constant(content), bottleneck).numpy()[0]
                for model, bottleneck in zip(models, bottlenecks)])
    os.makedirs(os.path.dirname(os.path.abspath(FLAGS.output_prefix)), exist_ok=True)
    grid_path = FLAGS.output_prefix + "_grid.png"
    image_io.save_image(image_io.image_grid(rows), grid_path, overwrite=True)
    curves_path = FLAGS.output_prefix + "_losses.png"
    plot_curves(curves_path, read_scalars(FLAGS.train_dir, FLAGS.curves),
                os.path.basename(os.path.normpath(FLAGS.train_dir)))
    print(f"wrote {grid_path} ({os.path.getsize(grid_path) // 1024} KB), {curves_path}")


if __name__ == "__main__":
    runner.run(main)
