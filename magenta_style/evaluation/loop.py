"""The held-out evaluation: content photos, style batches, per-style losses, `evaluate`."""
import hashlib
import os

import keras
import numpy as np
import tensorflow as tf

from magenta_style import defaults, image_io
from magenta_style.data.pipelines import SkippedRecords, content_dataset, style_dataset
from magenta_style.errors import MagentaStyleError
from magenta_style.evaluation import plots
from magenta_style.evaluation.reports import (
    FORMAT_VERSION,
    METADATA_COLUMNS,
    METRICS_FILE,
    PER_STYLE_FILE,
    _text,
    check_outputs_free,
    compare,
    statistics,
    versus_identity,
    write_metrics,
    write_per_style_csv,
    write_summaries,
)
from magenta_style.nets import losses, vgg
from magenta_style.progress import Progress

SETS = ("unobserved", "observed")


class EvaluationError(MagentaStyleError, ValueError):
    """An evaluation that cannot run as asked; str() is one readable line."""


def _digest_update(digest, array):
    digest.update(np.ascontiguousarray(array, np.float32).tobytes())


def load_content_images(source, num_images, image_size):
    """The first `num_images` usable content photos of `source`, in the pipeline's
    deterministic evaluation order.

    Returns (float32 [N, S, S, 3] in [0, 1], sha256 hex of their pixels).
    """
    dataset = content_dataset(source, batch_size=min(num_images, defaults.EVAL_BATCH_SIZE),
                              image_size=image_size, training=False)
    images, count = [], 0
    for batch in dataset:
        images.append(batch["image"].numpy())
        count += len(images[-1])
        if count >= num_images:
            break
    if count < num_images:
        raise EvaluationError(f"{source}: only {count} usable content images, "
                              f"--num_content_images asks for {num_images}")
    images = np.concatenate(images)[:num_images]
    digest = hashlib.sha256()
    _digest_update(digest, images)
    return images, digest.hexdigest()


def _style_batches(sources, batch_size, image_size, skipped=None):
    return style_dataset(sources, batch_size=batch_size, image_size=image_size,
                         training=False, skipped=skipped)


def count_styles(sources, num_styles, image_size, batch_size=defaults.EVAL_BATCH_SIZE):
    """Usable styles in `sources`, counted up to `num_styles` (decodes them once)."""
    count = 0
    for batch in _style_batches(sources, batch_size, image_size, SkippedRecords()):
        count += int(batch["label"].shape[0])
        if count >= num_styles:
            return num_styles
    return count


def resolve_style_counts(style_sources, num_styles, image_size, allow_fewer):
    """{set: number of styles to evaluate}; fewer than `num_styles` is an error unless allowed."""
    counts = {}
    for name, sources in style_sources.items():
        counts[name] = count_styles(sources, num_styles, image_size)
        if counts[name] == 0:
            raise EvaluationError(f"{name} styles {', '.join(sources)}: no usable style images")
        if counts[name] < num_styles and not allow_fewer:
            raise EvaluationError(
                f"{name} styles {', '.join(sources)}: only {counts[name]} usable styles, "
                f"--num_evaluation_styles asks for {num_styles} (pass --allow_fewer to "
                "evaluate those)")
    return counts


class LossEvaluator:
    """Reference loss terms of stylized images against fixed content images.

    The VGG features of the content images are computed once here; Gram
    matrices once per style batch (`style_grams`); `pair_terms` then needs one
    VGG pass per stylized batch; `identity_terms` gives the same terms for the content
    returned unchanged (no VGG pass). Only the endpoints the weights use are built.
    """

    def __init__(self, loss_network, content_images, content_weights=None, style_weights=None,
                 total_variation_weight=defaults.EVAL_TOTAL_VARIATION_WEIGHT):
        """loss_network: `nets.vgg.build_vgg(...)` (weights default to its evaluation
        weights); content_images: float32 [C, S, S, 3] in [0, 1]."""
        network = vgg.network_of(loss_network)
        default_content, default_style = losses.default_layer_weights(network, "eval")
        self.content_weights = losses.validate_layer_weights(
            content_weights or default_content, "content", network)
        self.style_weights = losses.validate_layer_weights(
            style_weights or default_style, "style", network)
        self.total_variation_weight = float(total_variation_weight)
        used = sorted(set(self.content_weights) | set(self.style_weights))
        self.network = keras.Model(loss_network.inputs,
                                   {name: loss_network.output[name] for name in used})
        self.content_images = tf.convert_to_tensor(content_images, tf.float32)
        features = self.network(self.content_images)
        # One dict of [1, h, w, c] tensors per content image (every layer used).
        self.content_features = [{name: value[i:i + 1] for name, value in features.items()}
                                 for i in range(len(content_images))]
        self.content_endpoints = [{name: features[name] for name in self.content_weights}
                                  for features in self.content_features]
        self._grams = tf.function(self._style_grams, autograph=False)
        self._terms = tf.function(self._pair_terms, autograph=False)
        self._identity = tf.function(self._identity_terms, autograph=False)

    def _style_grams(self, style_images):
        features = self.network(style_images)
        return {name: losses.gram_matrix(features[name]) for name in self.style_weights}

    def style_grams(self, style_images):
        """[B, H, W, 3] -> {style layer: Gram [B, c, c]}."""
        return self._grams(tf.convert_to_tensor(style_images, tf.float32))

    def _terms_per_style(self, features, images, content_endpoints, grams):
        """Reference terms per style i of `grams`; features / images hold B images or one."""
        rows = []
        for i in range(next(iter(grams.values())).shape[0]):  # static batch: per-style terms
            j = min(i, images.shape[0] - 1)
            _, terms = losses.combine_losses(
                content_endpoints, None, {name: value[j:j + 1] for name, value in features.items()},
                images[j:j + 1], self.content_weights, self.style_weights,
                self.total_variation_weight,
                style_grams={name: gram[i:i + 1] for name, gram in grams.items()})
            rows.append(terms)
        return {key: tf.stack([row[key] for row in rows]) for key in rows[0]}

    def _pair_terms(self, stylized, content_endpoints, grams):
        return self._terms_per_style(self.network(stylized), stylized, content_endpoints, grams)

    def _identity_terms(self, content_image, content_features, content_endpoints, grams):
        return self._terms_per_style(content_features, content_image, content_endpoints, grams)

    def pair_terms(self, stylized, content_index, grams):
        """Loss terms of stylized [B, S, S, 3] vs content image `content_index` and the
        B styles' Grams -> {reference key: float32 [B]}."""
        return self._terms(tf.convert_to_tensor(stylized, tf.float32),
                           self.content_endpoints[content_index], grams)

    def identity_terms(self, content_index, grams):
        """The same terms for the identity: content image `content_index` returned unchanged,
        against each of the B styles' Grams -> {reference key: float32 [B]}. No VGG pass:
        the content's features are known."""
        return self._identity(self.content_images[content_index:content_index + 1],
                              self.content_features[content_index],
                              self.content_endpoints[content_index], grams)


def evaluate_styles(model, evaluator, content_images, sources, num_styles, image_size,
                    batch_size=defaults.EVAL_BATCH_SIZE, keep_styles=(), progress_name="styles"):
    """Per-style loss terms of the first `num_styles` styles of `sources`.

    Each style stylizes every content image; its terms are the means over them.
    Returns a dict: losses {key: float64 [N]}, identity_losses (the same for the content
    returned unchanged), bottlenecks float32 [N, D],
    metadata [N dicts of METADATA_COLUMNS], images_sha256 (the style pixels),
    kept {style index: (style image [S, S, 3], stylized [C, S, S, 3])} for the
    indices in keep_styles.
    """
    keep_styles = set(keep_styles)
    skipped = SkippedRecords()
    progress = Progress(num_styles, "styles", name=progress_name,
                        interval=defaults.PROGRESS_INTERVAL_S)
    digest = hashlib.sha256()
    sums, identity_sums, bottlenecks, metadata, kept = {}, {}, [], [], {}
    done = 0
    for batch in _style_batches(sources, batch_size, image_size, skipped):
        size = min(int(batch["label"].shape[0]), num_styles - done)
        style = batch["image"][:size]
        _digest_update(digest, style.numpy())
        bottleneck = model.bottleneck(style)
        bottlenecks.append(np.reshape(bottleneck.numpy(), [size, -1]))
        grams = evaluator.style_grams(style)
        batch_sums, identity_batch_sums = {}, {}
        keep = [i for i in range(size) if done + i in keep_styles]
        stylized_kept = {i: [] for i in keep}
        for index, content in enumerate(content_images):
            stylized = model.stylize(tf.repeat(content[None], size, axis=0), bottleneck)
            if tuple(stylized.shape[1:3]) != tuple(content.shape[:2]):
                raise EvaluationError(f"the model returned {tuple(stylized.shape[1:3])} images "
                                      f"for {tuple(content.shape[:2])} content; evaluate at its "
                                      "content size (--image_size)")
            for key, value in evaluator.pair_terms(stylized, index, grams).items():
                batch_sums[key] = batch_sums.get(key, 0.0) + value.numpy().astype(np.float64)
            for key, value in evaluator.identity_terms(index, grams).items():
                identity_batch_sums[key] = (identity_batch_sums.get(key, 0.0)
                                            + value.numpy().astype(np.float64))
            for i in keep:
                stylized_kept[i].append(stylized[i].numpy())
        for totals, batch_totals in ((sums, batch_sums), (identity_sums, identity_batch_sums)):
            for key, value in batch_totals.items():
                totals.setdefault(key, []).append(value / len(content_images))
        for i in keep:
            kept[done + i] = (style[i].numpy(), np.stack(stylized_kept[i]))
        for i in range(size):
            metadata.append({key: _text(batch[key][i]) for key in METADATA_COLUMNS})
        done += size
        progress.update(done, f"{skipped.result()} skipped records", final=done >= num_styles)
        if done >= num_styles:
            break
    return {"losses": {key: np.concatenate(parts) for key, parts in sums.items()},
            "identity_losses": {key: np.concatenate(parts) for key, parts in identity_sums.items()},
            "bottlenecks": np.concatenate(bottlenecks), "metadata": metadata,
            "images_sha256": digest.hexdigest(), "kept": kept}


def grid_style_indices(num_styles, seed, count=defaults.EVAL_GRID_STYLES):
    """Sorted style indices shown in stylized_grid.png, drawn with `seed`."""
    rng = np.random.default_rng(seed)
    return sorted(int(i) for i in rng.choice(num_styles, min(count, num_styles), replace=False))


def evaluate(model, loss_network, content_source, style_sources, eval_dir,
             num_styles=defaults.NUM_EVALUATION_STYLES, allow_fewer=False,
             num_content_images=defaults.EVAL_NUM_CONTENT_IMAGES,
             batch_size=defaults.EVAL_BATCH_SIZE, image_size=defaults.IMAGE_SIZE,
             content_weights=None, style_weights=None,
             total_variation_weight=defaults.EVAL_TOTAL_VARIATION_WEIGHT,
             seed=defaults.EVAL_SEED, settings=None, overwrite=False):
    """Evaluates `model` on held-out (and optionally observed) styles; writes eval_dir.

    Args:
      model: an EvalModel (see `load_eval_model`, `from_stylizer`).
      loss_network: `weights.vgg.load_vgg(...)` (VGG-16 or VGG-19).
      content_source: content photos (as `content_dataset`); the first
        `num_content_images` are used for every style.
      style_sources: {"unobserved": [sources], "observed": [sources]} (observed
        optional), as `style_dataset`; the first `num_styles` of each.
      settings: JSON-able dict recorded in metrics.json (e.g. the flags).
    Returns:
      the metrics dict written to metrics.json.
    Raises:
      EvaluationError: too few styles (unless allow_fewer) or content images.
      FileExistsError: eval_dir holds outputs and not overwrite.
    """
    unknown = set(style_sources) - set(SETS)
    if unknown or "unobserved" not in style_sources:
        raise ValueError(f"style_sources needs 'unobserved' and optionally 'observed', "
                         f"got {sorted(style_sources)}")
    style_sources = {name: list(style_sources[name]) for name in SETS if style_sources.get(name)}
    smallest = defaults.MIN_STYLE_IMAGE_SIZE.get(model.identity.get("model_type"), 1)
    if image_size < smallest:
        raise EvaluationError(f"--image_size={image_size}: the {model.identity['model_type']} "
                              f"model's style predictor needs at least {smallest} px")
    check_outputs_free(eval_dir, overwrite)
    counts = resolve_style_counts(style_sources, num_styles, image_size, allow_fewer)
    content_images, content_sha256 = load_content_images(content_source, num_content_images,
                                                         image_size)
    evaluator = LossEvaluator(loss_network, content_images, content_weights, style_weights,
                              total_variation_weight)
    grid_styles = grid_style_indices(counts["unobserved"], seed)
    results = {}
    for name, sources in style_sources.items():
        results[name] = evaluate_styles(
            model, evaluator, content_images, sources, counts[name], image_size, batch_size,
            keep_styles=grid_styles if name == "unobserved" else (),
            progress_name=f"evaluate {name}")

    tf.io.gfile.makedirs(eval_dir)
    kept = results["unobserved"]["kept"]
    grid = plots.stylized_grid(content_images[:defaults.EVAL_GRID_CONTENT_IMAGES],
                               [kept[i][0] for i in grid_styles],
                               [kept[i][1][:defaults.EVAL_GRID_CONTENT_IMAGES]
                                for i in grid_styles])
    image_io.save_image(grid, os.path.join(eval_dir, plots.STYLIZED_GRID_FILE), overwrite=True)
    per_set_losses = {name: result["losses"] for name, result in results.items()}
    plots.loss_distributions(os.path.join(eval_dir, plots.LOSS_DISTRIBUTIONS_FILE),
                             per_set_losses)
    plots.style_embedding(os.path.join(eval_dir, plots.STYLE_EMBEDDING_FILE),
                          {name: result["bottlenecks"] for name, result in results.items()},
                          {name: result["metadata"] for name, result in results.items()})
    write_per_style_csv(os.path.join(eval_dir, PER_STYLE_FILE), results)
    write_summaries(eval_dir, results, model.identity.get("step", 0), grid)

    loss_stats = {name: {key: statistics(values) for key, values in result["losses"].items()}
                  for name, result in results.items()}
    metrics = {
        "format_version": FORMAT_VERSION,
        "model": model.identity,
        "data": {
            "content": {"source": content_source, "num_images": len(content_images),
                        "images_sha256": content_sha256},
            **{name: {"sources": style_sources[name], "requested_styles": num_styles,
                      "num_styles": counts[name], "images_sha256": results[name]["images_sha256"]}
               for name in results},
        },
        "settings": {"num_evaluation_styles": num_styles, "allow_fewer": bool(allow_fewer),
                     "num_content_images": num_content_images, "batch_size": batch_size,
                     "image_size": image_size, "content_weights": evaluator.content_weights,
                     "style_weights": evaluator.style_weights,
                     "total_variation_weight": evaluator.total_variation_weight, "seed": seed,
                     **(settings or {})},
        "losses": loss_stats,
        # The same losses for the content returned unchanged (every figure's floor), and
        # how the model compares with it.
        "identity": {name: {key: statistics(values) for key, values in
                            result["identity_losses"].items()} for name, result in results.items()},
        "versus_identity": {name: versus_identity(result["losses"], result["identity_losses"])
                            for name, result in results.items()},
    }
    if "observed" in loss_stats:
        metrics["comparison"] = {"unobserved_over_observed": compare(loss_stats["unobserved"],
                                                                     loss_stats["observed"])}
    write_metrics(os.path.join(eval_dir, METRICS_FILE), metrics)  # last: marks a complete run
    return metrics
