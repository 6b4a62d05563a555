r"""Stylizes photos with the style of paintings: `magenta-stylize` / `python -m magenta_style.cli.stylize`.

  magenta-stylize --content_images_paths='photos/*.jpg' \
      --style_images_paths='paintings/*.jpg' --output_dir=out

Writes `<content>_stylized_<style>_<i>.<ext>` per content, style (or blend)
and interpolation weight i, as Magenta's `arbitrary_image_stylization_with_weights`
does, plus `stylized_grid.png` with --grid. Flags keep Magenta's names.
A bad input file is reported with its path and skipped; the exit status is 1
if anything failed. --engine=auto (the default) runs the model's cached LiteRT files
(inference/engines.py): TensorFlow loads only to build them once, or for tiled photos.
"""
import sys
import time

from absl import app, flags

from magenta_style import defaults
from magenta_style.cli import runner
from magenta_style.cli.stylize_files import expand_paths, parse_weights, stylize_images
from magenta_style.errors import MagentaStyleError, UsageError

FLAGS = flags.FLAGS
flags.DEFINE_string("content_images_paths", None,
                    "Content images: paths or globs, comma-separated.")
flags.DEFINE_string("style_images_paths", None, "Style images: paths or globs, comma-separated.")
flags.DEFINE_string("output_dir", None, "Where stylized images are written.")
flags.DEFINE_string("model", defaults.STYLIZE_MODEL,
                    "pretrained:mobile, pretrained:full (Magenta's full model, downloaded once; "
                    "best quality), a .keras file, a train_dir, a Magenta TF1 checkpoint or its "
                    "arbitrary_style_transfer.tar.gz, or a released ONNX/TFLite pair "
                    "('predict.onnx,transfer.onnx' or their folder).")
flags.DEFINE_integer("image_size", defaults.STYLIZE_IMAGE_SIZE,
                     "Shorter side of content images in pixels; 0 keeps each image's own size.")
flags.DEFINE_integer("style_image_size", defaults.STYLE_IMAGE_SIZE,
                     "Shorter side of style images in pixels.")
flags.DEFINE_boolean("content_square_crop", False, "Central square crop of content images.")
flags.DEFINE_boolean("style_square_crop", False, "Central square crop of style images.")
flags.DEFINE_string("interpolation_weights", None,
                    "Identity interpolation weights, e.g. '[0.0,0.5,1.0]': 0 keeps the content's "
                    "own style, 1 is the full style (default: [1.0]).")
flags.DEFINE_string("style_blend_weights", None,
                    "Blend all style images into one style with these weights, e.g. '[0.7,0.3]'.")
flags.DEFINE_boolean("preserve_colors", False, "Keep the content's colours (luminance transfer).")
flags.DEFINE_enum("output_format", defaults.STYLIZE_OUTPUT_FORMAT, ["png", "jpg"],
                  "Format of the stylized images.")
flags.DEFINE_boolean("grid", False, "Also write stylized_grid.png, a contact sheet of all outputs.")
flags.DEFINE_boolean("overwrite", False, "Replace existing output files.")
flags.DEFINE_integer("tile_size", defaults.STYLIZE_TILE_SIZE,
                     "Content images with more than 4 x tile_size^2 pixels are stylized in tiles "
                     "of that side, in bounded memory and with the same result (whole-image "
                     "instance-norm statistics); smaller tiles use less memory. 0 never tiles.",
                     lower_bound=0)
flags.DEFINE_enum("precision", defaults.STYLIZE_PRECISION, list(defaults.STYLIZE_PRECISIONS),
                  "Precision of the transfer network: float32 (exact) or bfloat16 "
                  "(activations and convolutions; ~2x faster on CPUs with AMX, ~50 dB PSNR "
                  "from float32; runs on TensorFlow).")
flags.DEFINE_enum("engine", defaults.STYLIZE_ENGINE, list(defaults.STYLIZE_ENGINES),
                  "What runs the model: litert (float32 TFLite files built from the model once "
                  "and cached, run by LiteRT; no TensorFlow start-up), tf (TensorFlow), or auto "
                  "(litert, TensorFlow for tiled images and bfloat16). Both equal to float32 "
                  "rounding.")


def main(argv):
    if len(argv) > 1:
        print(f"error: unexpected arguments: {' '.join(argv[1:])}", file=sys.stderr)
        return 2
    from magenta_style.inference.engines import load_engine

    try:
        if not FLAGS.output_dir:
            raise UsageError("--output_dir is required")
        runner.check_output_dir(FLAGS.output_dir, "output_dir")
        if FLAGS.image_size < 0 or FLAGS.style_image_size <= 0:
            raise UsageError("--image_size must be >= 0 and --style_image_size > 0")
        contents = expand_paths(FLAGS.content_images_paths, "content_images_paths")
        styles = expand_paths(FLAGS.style_images_paths, "style_images_paths")
        interpolation = (parse_weights(FLAGS.interpolation_weights, "interpolation_weights")
                         if FLAGS.interpolation_weights else list(defaults.INTERPOLATION_WEIGHTS))
        blend = (parse_weights(FLAGS.style_blend_weights, "style_blend_weights")
                 if FLAGS.style_blend_weights else None)
        if blend is not None and len(blend) != len(styles):
            raise UsageError(f"--style_blend_weights has {len(blend)} weights for {len(styles)} "
                             "style images")
        start = time.perf_counter()
        with runner.quiet_native_notices():
            engine = load_engine(FLAGS.model, FLAGS.engine, FLAGS.precision, FLAGS.tile_size,
                                 log=lambda line: print(line, flush=True))
        print(f"model {FLAGS.model} loaded in {time.perf_counter() - start:.1f} s "
              f"(engine {engine.name})", flush=True)
        written, failures = stylize_images(
            engine, contents, styles, FLAGS.output_dir, image_size=FLAGS.image_size,
            style_image_size=FLAGS.style_image_size, content_square_crop=FLAGS.content_square_crop,
            style_square_crop=FLAGS.style_square_crop, interpolation_weights=interpolation,
            style_blend_weights=blend, preserve_colors=FLAGS.preserve_colors,
            output_format=FLAGS.output_format, overwrite=FLAGS.overwrite, grid=FLAGS.grid,
            tile_size=FLAGS.tile_size)
    except (MagentaStyleError, OSError) as error:
        print(f"error: {runner.describe_error(error)}", file=sys.stderr)
        return 1
    print(f"wrote {len(written)} files to {FLAGS.output_dir}" +
          (f"; {failures} failed" if failures else ""))
    return 1 if failures else 0


def run():
    """Console-script entry point (`magenta-stylize`)."""
    app.run(main)


if __name__ == "__main__":
    run()
