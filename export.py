"""Exports a model as a TF Hub compatible SavedModel and Magenta-compatible TFLite pairs, verified.

  python export.py --checkpoint=pretrained:mobile --output_dir=/tmp/exported
  python export.py --checkpoint=/train_dir --output_dir=out --formats=saved_model,tflite_int8 \
      --representative_content_images='/photos/*.jpg' \
      --representative_style_images='/data/records/pbn_eval1024-*.tfrecord'

Writes saved_model/, style_predict_<variant>.tflite + style_transfer_<variant>.tflite per
TFLite format, verification.txt and verification.png. Every artifact is loaded back and
compared with the Keras model; the output folder appears only if all meet their tolerance.
"""
import os
import sys

from absl import flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from magenta_style import defaults
from magenta_style.cli import runner
from magenta_style.errors import OutputExistsError, UsageError
from magenta_style.export.pipeline import export, parse_formats
from magenta_style.weights import load_model

flags.DEFINE_string("checkpoint", None, "Model to export: pretrained:mobile, a .keras file, a "
                    "train_dir, a Magenta TF1 checkpoint, or a released TFLite / ONNX pair.")
flags.DEFINE_string("output_dir", None, "Folder to create (must not exist unless --overwrite).")
flags.DEFINE_list("formats", list(defaults.EXPORT_FORMATS),
                  f"Comma list of {', '.join(defaults.EXPORT_FORMATS)}.")
flags.DEFINE_integer("style_image_size", defaults.STYLE_IMAGE_SIZE,
                     "Style image size S of the TFLite predict input [1, S, S, 3].")
flags.DEFINE_integer("content_image_size", defaults.EXPORT_CONTENT_IMAGE_SIZE,
                     "Content size C of the TFLite transfer input [1, C, C, 3]; 0 = resizable.",
                     lower_bound=0)
flags.DEFINE_string("representative_style_images", None,
                    "int8 calibration styles: comma list of image globs, Magenta style "
                    "TFRecords, image folders or tfds:NAME (default: built-in photo crops).")
flags.DEFINE_string("representative_content_images", None,
                    "int8 calibration content: comma list of image globs, ImageNet TFRecords, "
                    "image folders or tfds:NAME (default: built-in photo crops).")
flags.DEFINE_integer("num_calibration_images", defaults.NUM_CALIBRATION_IMAGES,
                     "int8 calibration images of each kind.", lower_bound=1)
flags.DEFINE_integer("num_threads", defaults.EXPORT_NUM_THREADS,
                     "TFLite interpreter threads for the verification latency.", lower_bound=1)
flags.DEFINE_boolean("overwrite", False, "Replace an existing --output_dir.")
flags.mark_flags_as_required(["checkpoint", "output_dir"])
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    formats = parse_formats(FLAGS.formats)
    output_dir = os.path.abspath(FLAGS.output_dir)
    runner.check_output_dir(output_dir, "output_dir")
    if os.path.exists(output_dir) and not FLAGS.overwrite:
        # Checked before loading the model: fail fast.
        raise OutputExistsError(f"{output_dir}: already exists (use --overwrite to replace it)")
    model = load_model(FLAGS.checkpoint)
    # ExportError (a format outside its tolerance) is a RuntimeError: one line, exit 1.
    export(
        model, output_dir, formats, style_image_size=FLAGS.style_image_size,
        content_image_size=FLAGS.content_image_size,
        representative_style_images=FLAGS.representative_style_images,
        representative_content_images=FLAGS.representative_content_images,
        num_calibration_images=FLAGS.num_calibration_images, overwrite=FLAGS.overwrite,
        num_threads=FLAGS.num_threads)
    print(f"exported {', '.join(formats)} to {output_dir}")


if __name__ == "__main__":
    runner.run(main)
