"""Evaluation results on disk: statistics, metrics.json, per_style.csv, fingerprints, TensorBoard summaries."""
import csv
import hashlib
import json
import os

import keras
import numpy as np
import tensorflow as tf

from magenta_style import image_io
from magenta_style.data import records
from magenta_style.errors import OutputExistsError
from magenta_style.evaluation import plots

METRICS_FILE = "metrics.json"


PER_STYLE_FILE = "per_style.csv"


OUTPUT_FILES = (METRICS_FILE, PER_STYLE_FILE, plots.LOSS_DISTRIBUTIONS_FILE,
                plots.STYLIZED_GRID_FILE, plots.STYLE_EMBEDDING_FILE)


METADATA_COLUMNS = ("label",) + records.STYLE_METADATA_KEYS
# The identity (content returned unchanged) is every figure's floor: its losses get this
# prefix in per_style.csv; the model is compared with it on these keys.
IDENTITY_PREFIX = "identity/"
VERSUS_IDENTITY_KEYS = ("total_style_loss", "total_loss")


FORMAT_VERSION = 1


def weights_fingerprint(variables):
    """sha256 hex of the values of `variables`, in order (names differ between loaders)."""
    digest = hashlib.sha256()
    for variable in variables:
        value = np.asarray(keras.ops.convert_to_numpy(variable))
        digest.update(str(value.shape).encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    return digest.hexdigest()


def _text(value):
    value = value.numpy()
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else int(value)


def statistics(values):
    """float array [N] -> {count, mean, median, p10, p90} as Python numbers."""
    values = np.asarray(values, np.float64)
    return {"count": int(values.size), "mean": float(np.mean(values)),
            "median": float(np.median(values)), "p10": float(np.percentile(values, 10)),
            "p90": float(np.percentile(values, 90))}


def compare(unobserved, observed):
    """Ratios unobserved / observed of each key's mean and median (1 = generalizes fully)."""
    def ratio(a, b):
        return float(a / b) if b != 0 else None
    return {key: {"mean_ratio": ratio(unobserved[key]["mean"], observed[key]["mean"]),
                  "median_ratio": ratio(unobserved[key]["median"], observed[key]["median"])}
            for key in unobserved if key in observed}


# A model "beats" the identity only by more than float32 rounding: the identity's terms come
# from the content's VGG features computed in another batch, which can move them by ~1e-7.
BEATS_IDENTITY_MARGIN = 1e-5


def beats_identity(model_loss, identity_loss):
    """model_loss < identity_loss by more than BEATS_IDENTITY_MARGIN (relative), elementwise."""
    return np.asarray(model_loss) < np.asarray(identity_loss) * (1 - BEATS_IDENTITY_MARGIN)


def versus_identity(model_losses, identity_losses, keys=VERSUS_IDENTITY_KEYS):
    """Per key: the share of styles where the model's loss beats the identity's
    (`beats_identity`), and the median over styles of model / identity (1 = no better than
    returning the content)."""
    result = {}
    for key in keys:
        model, identity = np.asarray(model_losses[key]), np.asarray(identity_losses[key])
        median = float(np.median(model / identity)) if np.all(identity > 0) else None
        result[key] = {"share_below": float(np.mean(beats_identity(model, identity))),
                       "median_ratio": median}
    return result


def check_outputs_free(eval_dir, overwrite):
    """Refuses (FileExistsError) an eval_dir holding an evaluation's outputs unless overwrite."""
    existing = [name for name in OUTPUT_FILES if tf.io.gfile.exists(os.path.join(eval_dir, name))]
    if existing and not overwrite:
        raise OutputExistsError(f"{eval_dir}: already holds {', '.join(existing)} "
                              "(pass --overwrite to replace them)")


def write_metrics(path, metrics):
    """JSON with sorted keys; floats as repr, so equal results give equal bytes."""
    with image_io.atomic_path(path, overwrite=True) as temporary:
        with open(temporary, "w", encoding="utf-8") as stream:
            json.dump(metrics, stream, indent=2, sort_keys=True, allow_nan=True)
            stream.write("\n")


def write_per_style_csv(path, results):
    """One row per style: set, index, metadata, every loss term, the same terms of the
    identity (`identity/<key>`), and whether the model's style loss beats the identity's
    (`beats_identity`, 0/1). Floats as repr."""
    keys = list(next(iter(results.values()))["losses"])
    with image_io.atomic_path(path, overwrite=True) as temporary:
        with open(temporary, "w", newline="", encoding="utf-8") as stream:
            writer = csv.writer(stream)
            writer.writerow(["set", "index", *METADATA_COLUMNS, *keys,
                             *(IDENTITY_PREFIX + key for key in keys), "beats_identity"])
            for name, result in results.items():
                model, identity = result["losses"], result["identity_losses"]
                for index, row in enumerate(result["metadata"]):
                    beats = beats_identity(model["total_style_loss"][index],
                                           identity["total_style_loss"][index])
                    writer.writerow([name, index, *(row[key] for key in METADATA_COLUMNS),
                                     *(repr(float(model[key][index])) for key in keys),
                                     *(repr(float(identity[key][index])) for key in keys),
                                     int(beats)])


def write_summaries(eval_dir, results, step, grid):
    """TensorBoard: per set and key the mean as a scalar and the per-style histogram; the grid."""
    writer = tf.summary.create_file_writer(eval_dir)
    with writer.as_default(step=step):
        for name, result in results.items():
            for key, values in result["losses"].items():
                tf.summary.scalar(f"{name}/{key}", float(np.mean(values)))
                tf.summary.histogram(f"{name}/{key}", values)
        if grid is not None:
            tf.summary.image("stylized_grid", grid[None])
    writer.close()
