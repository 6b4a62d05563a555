"""`make demo`: stylizes scikit-image's sample photos with a few styles at full resolution.

Contents and styles are real pictures shipped inside the installed
scikit-image package (see samples.py). Writes into --output_dir:
  <content>_stylized_<style>_0.png   every content x style, full resolution
  stylized_grid.png                  contact sheet of the above
  interpolation/ + interpolation_strip.png   identity interpolation w = 0 .. 1
  blend/ + blend_grid.png            one style blended from two
The demo regenerates its own output folder (--overwrite defaults to true).
"""
import os

from absl import flags

from magenta_style import image_io
from magenta_style.cli import common_flags, runner, samples

FLAGS = flags.FLAGS
flags.DEFINE_string("output_dir", "demo_output", "Where the demo writes its PNGs.")
flags.DEFINE_boolean("overwrite", True, "Replace the outputs of an earlier demo run.")
common_flags.define_engine_flags()

INTERPOLATION_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
BLEND_WEIGHTS = (0.5, 0.5)


def _strip(paths):
    return image_io.image_grid([[image_io.load_image(p) for p in paths]])


def main(argv):
    del argv
    from magenta_style.inference.image_files import stylize_images

    runner.check_output_dir(FLAGS.output_dir, "output_dir")
    contents = [samples.sample_path(name) for name in samples.CONTENTS]
    styles = [samples.sample_path(name) for name in samples.STYLES]
    engine = common_flags.load_engine()
    out = FLAGS.output_dir
    common = {"overwrite": FLAGS.overwrite, "image_size": 0}  # full resolution
    _, failures = stylize_images(engine, contents, styles, out, grid=True, **common)

    chelsea = [p for p in contents if "chelsea" in p]
    written, failed = stylize_images(engine, chelsea, styles[1:2],
                                     os.path.join(out, "interpolation"),
                                     interpolation_weights=INTERPOLATION_WEIGHTS, **common)
    failures += failed
    strip = os.path.join(out, "interpolation_strip.png")
    image_io.save_image(_strip(chelsea + written), strip, overwrite=FLAGS.overwrite)

    coffee = [p for p in contents if "coffee" in p]
    written, failed = stylize_images(engine, coffee, styles[:2], os.path.join(out, "blend"),
                                     style_blend_weights=BLEND_WEIGHTS, **common)
    failures += failed
    blend = os.path.join(out, "blend_grid.png")
    image_io.save_image(_strip(coffee + written), blend, overwrite=FLAGS.overwrite)
    print(f"demo written to {out}/: stylized_grid.png, interpolation_strip.png, blend_grid.png")
    return 1 if failures else 0


def run():
    """Console-script entry point (`magenta-stylize-demo`)."""
    runner.run(main)


if __name__ == "__main__":
    run()
