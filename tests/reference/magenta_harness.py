"""Runs Magenta's own arbitrary image stylization graph code and writes reference arrays.

Run by the reference virtual environment's python (`make reference-env`: TF 2.x, tf_slim,
tf_keras, magenta==2.1.4 and tf-models-research-object-detection without dependencies), never
by ours: this file imports nothing of magenta_style.

    .venv-magenta/bin/python tests/reference/magenta_harness.py JOB.json OUTPUT.npz

JOB.json:
  {"weights": {"full": "full.npz", "mobile": "mobile.npz"},   # {TF1 variable name: array}
   "inputs": "inputs.npz",                                    # named image arrays
   "tasks": [{"name": ..., "kind": "stylize" | "train" | "evaluate" | "adam" | "defaults", ...}]}

Tasks (keys of OUTPUT.npz are "<task name>/..."):
  stylize  {model, pairs: [[content key, style key], ...]}: Magenta's inference graph
           (build_model / build_mobilenet_model, not trainable, not training) on [1, H, W, 3]
           placeholders -> "stylized/<i>" (Magenta's own output size) and "bottleneck/<i>".
  train    {model, content, style, content_weights, style_weights, total_variation_weight}:
           the graph of arbitrary_image_stylization_train.py (trainable, is_training) ->
           "stylized", "loss/<key>" (its loss dict), "grad/<variable>" for every variable its train op
           optimizes (tf.trainable_variables(), as slim.learning.create_train_op), and
           "moving/<variable>": the BatchNorm moving statistics after one run of its update ops.
  evaluate {content, style, batch_size, content_weights, style_weights, total_variation_weight}:
           the loss graph of arbitrary_image_stylization_evaluate.py (full model, not
           trainable, not training) over the batches in order -> "batch<k>/loss/<key>" and
           "mean/<key>" (its tf.metrics.mean aggregation).
  adam     {initial, gradients: [keys], learning_rate}: tf.train.AdamOptimizer (Magenta's
           optimizer, its default epsilon) applied to the given gradients in order -> "value".
  defaults {}: Magenta's default loss weights, learning rate and Adam epsilon, read from its
           sources -> "json" (a JSON string).
  export_hub {model: "full"}: the weights saved as a TF1 checkpoint (tf.train.Saver), then
           Magenta's own export_hub.py main() on it, unchanged: the TF Hub SavedModel of
           `magenta/arbitrary-image-stylization-v1-256/2` -> "saved_model_tar" (a tar of the
           folder's contents, as Kaggle serves it, as uint8 bytes).

Every variable of a built graph must be given in the weights file, except VGG-16's fc6..fc8
(Magenta builds VGG-16 up to fc8, unused by the losses): those are left at their initializer.
"""
import ast
import io
import json
import os
import sys
import tarfile
import tempfile
import time
import types

import numpy as np

# --------------------------------------------------------------------------
# Shims: what it takes for Magenta 2.1.4's TF1 graph code to import under TF 2.x.

SITE_PACKAGES = next(p for p in sys.path if p.endswith("site-packages")
                     and os.path.isdir(os.path.join(p, "magenta")))

# 1. magenta/__init__.py imports the whole music stack (note_seq, pretty_midi, ...), none of
#    which the stylization models use: a bare package module lets its subpackages import alone.
_magenta = types.ModuleType("magenta")
_magenta.__path__ = [os.path.join(SITE_PACKAGES, "magenta")]
sys.modules["magenta"] = _magenta

import tensorflow.compat.v1 as tf  # noqa: E402  (after the shims it depends on)

# 2. tf_slim's batch_norm uses tensorflow.python.layers.normalization, which TF 2.21 loads lazily
#    from `tf_keras.legacy_tf_layers.normalization`; tf_keras 2.21 keeps those legacy layers
#    under tf_keras.src only. Make them importable under the name TF asks for.
import tf_keras.src.legacy_tf_layers as _legacy_layers  # noqa: E402
import tf_keras.src.legacy_tf_layers.normalization as _legacy_normalization  # noqa: E402

sys.modules.setdefault("tf_keras.legacy_tf_layers", _legacy_layers)
sys.modules.setdefault("tf_keras.legacy_tf_layers.normalization", _legacy_normalization)

# 3. build_mobilenet_model imports `nets.mobilenet` from tensorflow/models' research/slim, which
#    is not on PyPI by itself; tf-models-research-object-detection ships that package as
#    object_detection.nets. Import it under the top-level name Magenta's code uses.
import object_detection.nets as _slim_nets  # noqa: E402

sys.modules.setdefault("nets", _slim_nets)

tf.disable_v2_behavior()

import tf_slim as slim  # noqa: E402
from magenta.models.arbitrary_image_stylization import (  # noqa: E402
    arbitrary_image_stylization_build_mobilenet_model as build_mobilenet_model)
from magenta.models.arbitrary_image_stylization import (  # noqa: E402
    arbitrary_image_stylization_build_model as build_model)

MAGENTA_DIR = os.path.join(SITE_PACKAGES, "magenta", "models", "arbitrary_image_stylization")
UNFED_PREFIXES = ("vgg_16/fc6/", "vgg_16/fc7/", "vgg_16/fc8/")


# --------------------------------------------------------------------------
# Graphs.

def _build(model, content, style, training, adds_losses, loss_weights=None):
    """Magenta's model graph; returns (stylized, total_loss, loss_dict, bottleneck)."""
    loss_weights = loss_weights or {}
    if model == "full":
        return build_model.build_model(
            content, style, trainable=training, is_training=training,
            inception_end_point="Mixed_6e", style_prediction_bottleneck=100,
            adds_losses=adds_losses, **loss_weights)
    if model == "mobile":
        return build_mobilenet_model.build_mobilenet_model(
            content, style, mobilenet_trainable=training, style_params_trainable=training,
            transformer_trainable=training, mobilenet_end_point="layer_19",
            transformer_alpha=0.25, style_prediction_bottleneck=100,
            adds_losses=adds_losses, **loss_weights)
    raise ValueError(f"unknown model {model!r}")


def _loss_weights(task):
    return {"content_weights": task["content_weights"], "style_weights": task["style_weights"],
            "total_variation_weight": task["total_variation_weight"]}


def _session_with_weights(weights):
    """A session of the default graph with every variable set from `weights` (by TF1 name)."""
    missing, unfed, assigns, feed = [], [], [], {}
    for variable in tf.global_variables():
        name = variable.op.name
        if name not in weights:
            (unfed if name.startswith(UNFED_PREFIXES) else missing).append(variable)
            continue
        value = weights[name]
        shape = variable.shape.as_list()
        if value.size != np.prod(shape):
            raise ValueError(f"{name}: {list(value.shape)} given, the graph has {shape}")
        placeholder = tf.placeholder(tf.float32, shape)
        assigns.append(tf.assign(variable, placeholder))
        feed[placeholder] = value.reshape(shape).astype(np.float32)
    if missing:
        names = [variable.op.name for variable in missing]
        raise ValueError(f"no value given for {len(names)} graph variables, e.g. {names[:5]}")
    session = tf.Session()
    session.run(tf.variables_initializer(unfed))
    session.run(assigns, feed)  # one run: ops added per variable after the first run are slow
    return session


def run_stylize(task, weights, inputs):
    out = {}
    with tf.Graph().as_default():
        content = tf.placeholder(tf.float32, [1, None, None, 3])
        style = tf.placeholder(tf.float32, [1, None, None, 3])
        stylized, _, _, bottleneck = _build(task["model"], content, style, False, False)
        with _session_with_weights(weights[task["model"]]) as session:
            for index, (content_key, style_key) in enumerate(task["pairs"]):
                image, vector = session.run([stylized, bottleneck], {
                    content: inputs[content_key][None], style: inputs[style_key][None]})
                out[f"stylized/{index}"] = image[0]
                out[f"bottleneck/{index}"] = vector.reshape(-1)
    return out


def run_train(task, weights, inputs):
    out = {}
    with tf.Graph().as_default():
        content = tf.constant(inputs[task["content"]])
        style = tf.constant(inputs[task["style"]])
        stylized, total_loss, loss_dict, _ = _build(task["model"], content, style, True, True,
                                                    _loss_weights(task))
        variables = tf.trainable_variables()  # what create_train_op optimizes by default
        gradients = tf.gradients(total_loss, variables)
        update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        moving = [v for v in tf.global_variables() if "moving_" in v.op.name]
        with _session_with_weights(weights[task["model"]]) as session:
            losses, grads, images = session.run([loss_dict, gradients, stylized])
            session.run(update_ops)
            moved = session.run(moving)
        out["stylized"] = images
        out.update({f"loss/{key}": np.float64(value) for key, value in losses.items()})
        for variable, gradient in zip(variables, grads):
            out[f"grad/{variable.op.name}"] = gradient
        for variable, value in zip(moving, moved):
            out[f"moving/{variable.op.name}"] = value
    return out


def run_evaluate(task, weights, inputs):
    """arbitrary_image_stylization_evaluate.py's loss graph and metric means, batch by batch."""
    out = {}
    content_all, style_all = inputs[task["content"]], inputs[task["style"]]
    batch = task["batch_size"]
    with tf.Graph().as_default():
        content = tf.placeholder(tf.float32, [batch, *content_all.shape[1:]])
        style = tf.placeholder(tf.float32, [batch, *style_all.shape[1:]])
        _, _, loss_dict, _ = build_model.build_model(
            content, style, trainable=False, is_training=False, reuse=None,
            inception_end_point="Mixed_6e", style_prediction_bottleneck=100, adds_losses=True,
            **_loss_weights(task))
        metrics = {key: tf.metrics.mean(value) for key, value in loss_dict.items()}
        names_values, names_updates = slim.metrics.aggregate_metric_map(metrics)
        with _session_with_weights(weights["full"]) as session:
            session.run(tf.local_variables_initializer())
            for k, start in enumerate(range(0, len(content_all), batch)):
                feed = {content: content_all[start:start + batch],
                        style: style_all[start:start + batch]}
                losses, _ = session.run([loss_dict, list(names_updates.values())], feed)
                out.update({f"batch{k}/loss/{key}": np.float64(v) for key, v in losses.items()})
            means = session.run(names_values)
        out.update({f"mean/{key}": np.float64(value) for key, value in means.items()})
    return out


def run_adam(task, weights, inputs):
    del weights
    with tf.Graph().as_default():
        variable = tf.Variable(inputs[task["initial"]])
        gradient = tf.placeholder(tf.float32, variable.shape)
        step = tf.train.AdamOptimizer(task["learning_rate"]).apply_gradients([(gradient, variable)])
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            for key in task["gradients"]:
                session.run(step, {gradient: inputs[key]})
            return {"value": session.run(variable)}


def _flag_defaults(path):
    """{flag name: default} of the flags.DEFINE_* calls and the DEFAULT_* constants of a script."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    constants, found = {}, {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                constants[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr.startswith("DEFINE_") and len(node.args) >= 2):
            name = ast.literal_eval(node.args[0])
            default = node.args[1]
            value = (constants.get(default.id) if isinstance(default, ast.Name)
                     else ast.literal_eval(default))
            if name in ("content_weights", "style_weights") and isinstance(value, str):
                value = ast.literal_eval(value)
            found[name] = value
    return found


def run_defaults(task, weights, inputs):
    del task, weights, inputs
    keys = ("content_weights", "style_weights", "total_variation_weight", "learning_rate",
            "clip_gradient_norm", "batch_size", "image_size", "num_evaluation_styles")
    result = {}
    for script in ("train", "evaluate", "train_mobile", "distill_mobilenet"):
        flags = _flag_defaults(os.path.join(MAGENTA_DIR, f"arbitrary_image_stylization_{script}.py"))
        result[script] = {key: flags[key] for key in keys if key in flags}
    result["adam_epsilon"] = tf.train.AdamOptimizer(1.0)._epsilon  # pylint: disable=protected-access
    result["adam_beta1"] = tf.train.AdamOptimizer(1.0)._beta1  # pylint: disable=protected-access
    result["adam_beta2"] = tf.train.AdamOptimizer(1.0)._beta2  # pylint: disable=protected-access
    return {"json": np.array(json.dumps(result))}


def run_export_hub(task, weights, inputs):
    del inputs
    if task["model"] != "full":
        raise ValueError("export_hub.py builds the full model only")
    # Imported here: it defines absl flags (--checkpoint, --export_path), set below as its
    # command line would. It needs no tensorflow_hub: TF's own SavedModel of a wrapped function.
    from magenta.models.arbitrary_image_stylization import export_hub  # pylint: disable=import-outside-toplevel
    with tempfile.TemporaryDirectory(prefix="magenta_export_hub_") as directory:
        checkpoint = os.path.join(directory, "checkpoint", "model.ckpt")
        with tf.Graph().as_default():
            content = tf.placeholder(tf.float32, [1, None, None, 3])
            style = tf.placeholder(tf.float32, [1, None, None, 3])
            _build("full", content, style, False, False)
            with _session_with_weights(weights["full"]) as session:
                tf.train.Saver().save(session, checkpoint)
        export_path = os.path.join(directory, "hub")
        export_hub.FLAGS(["export_hub", f"--checkpoint={checkpoint}",
                          f"--export_path={export_path}"])
        with tf.Graph().as_default():
            export_hub.main()
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
            for name in sorted(os.listdir(export_path)):
                tar.add(os.path.join(export_path, name), arcname=name)
    return {"saved_model_tar": np.frombuffer(buffer.getvalue(), np.uint8)}


TASKS = {"stylize": run_stylize, "train": run_train, "evaluate": run_evaluate,
         "adam": run_adam, "defaults": run_defaults, "export_hub": run_export_hub}


def main(argv):
    if len(argv) != 3:
        sys.exit(f"usage: {argv[0]} JOB.json OUTPUT.npz")
    job_path, output_path = argv[1], argv[2]
    base = os.path.dirname(os.path.abspath(job_path))
    with open(job_path, encoding="utf-8") as f:
        job = json.load(f)

    def load(name):
        with np.load(os.path.join(base, name)) as arrays:
            return {key: arrays[key] for key in arrays.files}

    weights = {model: load(path) for model, path in job.get("weights", {}).items()}
    inputs = load(job["inputs"]) if job.get("inputs") else {}
    out = {}
    for task in job["tasks"]:
        start = time.perf_counter()
        for key, value in TASKS[task["kind"]](task, weights, inputs).items():
            out[f"{task['name']}/{key}"] = value
        print(f"{task['name']}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    temporary = output_path + ".tmp.npz"
    np.savez(temporary, **out)
    os.replace(temporary, output_path)


if __name__ == "__main__":
    main(sys.argv)
