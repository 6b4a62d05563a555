"""TensorBoard scalars and images of a training run, and its console line."""
import tensorflow as tf

from magenta_style import defaults

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
