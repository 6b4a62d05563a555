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
from absl import flags

from magenta_style import defaults
from magenta_style.cli import common_flags, runner
from magenta_style.errors import UsageError

FLAGS = flags.FLAGS
flags.DEFINE_string("content_images_paths", None,
                    "Content images: paths or globs, comma-separated.")
flags.DEFINE_string("output_dir", None, "Where stylized images are written.")
flags.DEFINE_integer("image_size", defaults.STYLIZE_IMAGE_SIZE,
                     "Shorter side of content images in pixels; 0 keeps each image's own size.",
                     lower_bound=0)
flags.DEFINE_boolean("content_square_crop", False, "Central square crop of content images.")
flags.DEFINE_enum("output_format", defaults.STYLIZE_OUTPUT_FORMAT, ["png", "jpg"],
                  "Format of the stylized images.")
flags.DEFINE_boolean("grid", False, "Also write stylized_grid.png, a contact sheet of all outputs.")
flags.DEFINE_boolean("overwrite", False, "Replace existing output files.")
common_flags.define_style_flags()
common_flags.define_engine_flags()


def main(argv):
    if len(argv) > 1:
        raise UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    from magenta_style.inference.image_files import stylize_images

    if not FLAGS.output_dir:
        raise UsageError("--output_dir is required")
    runner.check_output_dir(FLAGS.output_dir, "output_dir")
    contents = common_flags.expand_paths(FLAGS.content_images_paths, "content_images_paths")
    styles = common_flags.style_paths()
    interpolation = common_flags.interpolation_weights()
    blend = common_flags.blend_weights(len(styles))
    engine = common_flags.load_engine()
    written, failures = stylize_images(
        engine, contents, styles, FLAGS.output_dir, image_size=FLAGS.image_size,
        style_image_size=FLAGS.style_image_size, content_square_crop=FLAGS.content_square_crop,
        style_square_crop=FLAGS.style_square_crop, interpolation_weights=interpolation,
        style_blend_weights=blend, preserve_colors=FLAGS.preserve_colors,
        output_format=FLAGS.output_format, overwrite=FLAGS.overwrite, grid=FLAGS.grid)
    print(f"wrote {len(written)} files to {FLAGS.output_dir}" +
          (f"; {failures} failed" if failures else ""))
    return 1 if failures else 0


def run():
    """Console-script entry point (`magenta-stylize`)."""
    runner.run(main)


if __name__ == "__main__":
    run()
