"""What evaluation runs: `EvalModel` and its adapters from Stylizers, SavedModels and model specs."""
import os

import tensorflow as tf

from magenta_style import defaults
from magenta_style.evaluation.loop import EvaluationError
from magenta_style.evaluation.reports import weights_fingerprint
from magenta_style.fingerprints import tree_digest
from magenta_style.weights import load_model
from magenta_style.weights.hub import is_exported_by_us, is_saved_model
from magenta_style.weights.run_dir import checkpoint_step, is_train_dir, load_train_dir_checkpoint



class EvalModel:
    """A stylization model reduced to the two functions evaluation needs.

    bottleneck_fn: style images float32 [B, H, W, 3] in [0, 1] -> style
      embedding [B, ...] (flattened to [B, D] for the embedding figure).
    stylize_fn: (content [B, H, W, 3] in [0, 1], embedding [B, ...]) ->
      stylized [B, H, W, 3] in [0, 1].
    identity: JSON-able dict naming the model in metrics.json.
    """

    def __init__(self, bottleneck_fn, stylize_fn, identity):
        self.bottleneck = bottleneck_fn
        self.stylize = stylize_fn
        self.identity = dict(identity)


def from_stylizer(model, identity=None):
    """EvalModel of a `stylizer.Stylizer`; identity gets its type, alpha and weights hash."""
    from magenta_style.inference.fast_predictor import fast_style_bottleneck
    from magenta_style.nets import stylizer as stylizer_lib
    return EvalModel(
        fast_style_bottleneck(model),
        tf.function(lambda content, bottleneck: model.stylize(content, bottleneck),
                    autograph=False),
        {"kind": "stylizer", "model_type": stylizer_lib.model_type_of(model),
         "alpha": model.alpha, "weights_sha256": weights_fingerprint(model.weights),
         **(identity or {})})


def _signature(loaded, name, path):
    if name not in loaded.signatures:
        raise EvaluationError(f"{path}: SavedModel has no '{name}' signature "
                              f"(has: {', '.join(sorted(loaded.signatures)) or 'none'}); "
                              "export it with export.py")
    return loaded.signatures[name]


def _single_output(outputs, preferred):
    """A signature's result dict -> its `preferred` tensor, or its only one."""
    if preferred in outputs:
        return outputs[preferred]
    if len(outputs) == 1:
        return next(iter(outputs.values()))
    raise EvaluationError(f"signature outputs {sorted(outputs)} lack {preferred!r}")


def from_saved_model(path):
    """EvalModel of an exported SavedModel with signatures `predict_style` and `transfer`.

    predict_style: style_image -> style_bottleneck; transfer: (content_image,
    style_bottleneck) -> stylized_image (export.py's contract).
    """
    loaded = tf.saved_model.load(path)
    predict = _signature(loaded, "predict_style", path)
    transfer = _signature(loaded, "transfer", path)
    style_input = next(iter(predict.structured_input_signature[1]))
    transfer_inputs = list(transfer.structured_input_signature[1])
    content_input = next((name for name in transfer_inputs if "content" in name), None)
    bottleneck_input = next((name for name in transfer_inputs if name != content_input), None)
    if len(transfer_inputs) != 2 or content_input is None:
        raise EvaluationError(f"{path}: 'transfer' signature takes {transfer_inputs}, expected "
                              "content_image and style_bottleneck")

    def bottleneck_fn(style):
        return _single_output(predict(**{style_input: style}), "style_bottleneck")

    def stylize_fn(content, bottleneck):
        outputs = transfer(**{content_input: content, bottleneck_input: bottleneck})
        return _single_output(outputs, "stylized_image")
    return EvalModel(bottleneck_fn, stylize_fn,
                     {"kind": "saved_model", "files_sha256": tree_digest(path, gfile=True)})




def _saved_model_dir(spec):
    """The SavedModel directory of `spec` (itself, or export.py's `<output_dir>/saved_model`)."""
    for directory in (spec, os.path.join(spec, defaults.SAVED_MODEL_DIR)):
        if is_saved_model(directory):
            return directory
    return None


def load_eval_model(spec):
    """EvalModel from a --checkpoint spec: export.py's SavedModel directory (or an export.py
    output directory holding one), run as it is, or anything `weights.load_model` reads
    (.keras, train_dir, Magenta checkpoints and TF Hub SavedModel, the released weights)."""
    spec = os.fspath(spec)
    saved_model = _saved_model_dir(spec)
    if saved_model and is_exported_by_us(saved_model):  # else Magenta's TF Hub one: load_model
        model = from_saved_model(saved_model)
        model.identity["spec"] = spec
        return model
    identity = {"spec": spec}
    if is_train_dir(spec):
        # The checkpoint actually loaded: a damaged newest one is skipped (with a warning).
        model, checkpoint = load_train_dir_checkpoint(spec)
        identity.update(checkpoint=os.path.basename(checkpoint), step=checkpoint_step(checkpoint))
        return from_stylizer(model, identity)
    return from_stylizer(load_model(saved_model or spec), identity)
