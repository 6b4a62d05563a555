"""Evaluation figures (PNG): loss distributions, a stylized grid, the style embedding.

matplotlib with the Agg backend (no display needed); every file is written
atomically through image_io.atomic_path.
"""
import collections

import numpy as np

from magenta_style import defaults, image_io

LOSS_DISTRIBUTIONS_FILE = "loss_distributions.png"
STYLIZED_GRID_FILE = defaults.STYLIZED_GRID_FILE
STYLE_EMBEDDING_FILE = "style_embedding.png"
DISTRIBUTION_KEYS = ("total_content_loss", "total_style_loss")
# Metadata used to colour the embedding, most telling first (DTD category, PBN style, ...).
COLOUR_KEYS = ("category", "style", "genre", "artist", "source")
SET_MARKERS = {"unobserved": "o", "observed": "^"}
OTHER = "other"


def _pyplot():
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
    return plt


def _save(figure, path):
    plt = _pyplot()
    with image_io.atomic_path(path, overwrite=True) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
    plt.close(figure)
    return path


def stylized_grid(content_images, style_images, stylized):
    """Grid: top row the styles, first column the content images, cells stylized.

    Args:
      content_images: float [C, S, S, 3] in [0, 1].
      style_images: list of K [S, S, 3].
      stylized: list of K arrays [C, S, S, 3] (style k applied to every content).
    Returns:
      float32 [H, W, 3] in [0, 1].
    """
    rows = [[None, *style_images]]
    for c, content in enumerate(content_images):
        rows.append([content, *(images[c] for images in stylized)])
    return image_io.image_grid(rows)


def _bins(values, count=30):
    """Log-spaced bins for positive losses (they span decades), linear otherwise."""
    low, high = float(np.min(values)), float(np.max(values))
    if low > 0 and high > low:
        return np.geomspace(low, high, count + 1), "log"
    if high <= low:
        return np.linspace(low - 0.5, high + 0.5, count + 1), "linear"
    return np.linspace(low, high, count + 1), "linear"


def loss_distributions(path, per_set_losses, keys=DISTRIBUTION_KEYS):
    """Histograms of per-style losses, observed vs unobserved (the paper's figure).

    per_set_losses: {set name: {loss key: float [N]}}. One panel per key.
    """
    plt = _pyplot()
    figure, axes = plt.subplots(1, len(keys), figsize=(5.5 * len(keys), 4), squeeze=False)
    for axis, key in zip(axes[0], keys):
        everything = np.concatenate([losses[key] for losses in per_set_losses.values()])
        bins, scale = _bins(everything)
        for name, losses in per_set_losses.items():
            values = np.asarray(losses[key])
            axis.hist(values, bins=bins, alpha=0.55, density=True,
                      label=f"{name} ({len(values)}, median {np.median(values):.3g})")
        axis.set_xscale(scale)
        axis.set_xlabel(key)
        axis.set_ylabel("density of styles")
        axis.legend(fontsize=8)
    figure.suptitle("Per-style losses over the fixed content images")
    figure.tight_layout()
    return _save(figure, path)


def pca_2d(points):
    """[N, D] -> [N, 2] projection on the two main principal axes (sign fixed, deterministic)."""
    points = np.asarray(points, np.float64)
    centered = points - points.mean(axis=0)
    if len(points) < 2:
        return np.zeros((len(points), 2))
    _, _, axes = np.linalg.svd(centered, full_matrices=False)
    axes = axes[:2]
    # SVD's sign is arbitrary: make each axis' largest loading positive.
    signs = np.sign(axes[np.arange(len(axes)), np.argmax(np.abs(axes), axis=1)])
    projected = centered @ (axes * signs[:, None]).T
    if projected.shape[1] < 2:
        projected = np.pad(projected, ((0, 0), (0, 2 - projected.shape[1])))
    return projected


def colour_groups(metadata, max_groups=defaults.EVAL_EMBEDDING_MAX_GROUPS):
    """Chooses the metadata key that best groups styles; returns (key, group name per style).

    The first of COLOUR_KEYS with at least 2 distinct non-empty values; the
    largest max_groups - 1 groups keep their name, the rest become "other".
    (None, [""]*N) when no key groups the styles.
    """
    for key in COLOUR_KEYS:
        values = [str(row.get(key, "")) for row in metadata]
        counts = collections.Counter(value for value in values if value)
        if len(counts) >= 2:
            top = {name for name, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
                   [:max_groups - 1]} if len(counts) > max_groups else set(counts)
            return key, [value if value in top else OTHER for value in values]
    return None, [""] * len(metadata)


def style_embedding(path, bottlenecks, metadata):
    """Scatter of the style embeddings projected to 2-D by PCA.

    bottlenecks: {set name: float [N, D]}; metadata: {set name: N dicts}.
    Colour: metadata group (see colour_groups); marker: set.
    """
    plt = _pyplot()
    names = list(bottlenecks)
    points = pca_2d(np.concatenate([bottlenecks[name] for name in names]))
    rows = [row for name in names for row in metadata[name]]
    sets = [name for name in names for _ in metadata[name]]
    key, groups = colour_groups(rows)
    palette = plt.get_cmap("tab10")
    group_names = sorted(set(groups), key=lambda group: (group == OTHER, group))
    figure, axis = plt.subplots(figsize=(7, 6))
    for g, group in enumerate(group_names):
        for name in names:
            chosen = [i for i in range(len(groups)) if groups[i] == group and sets[i] == name]
            if not chosen:
                continue
            label = ", ".join(part for part in (group, name if len(names) > 1 else "") if part)
            axis.scatter(points[chosen, 0], points[chosen, 1], s=18, alpha=0.75,
                         marker=SET_MARKERS.get(name, "o"),
                         color="lightgray" if group == OTHER else palette(g % 10),
                         label=label or name)
    axis.set_xlabel("principal component 1")
    axis.set_ylabel("principal component 2")
    axis.set_title(f"Style embeddings (PCA of {np.shape(points)[0]} bottlenecks)"
                   + (f", colour: {key}" if key else ""))
    axis.legend(fontsize=7, loc="best", markerscale=1.2)
    figure.tight_layout()
    return _save(figure, path)
