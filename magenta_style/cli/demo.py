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
import sys
import time

from absl import app, flags

from magenta_style import defaults, image_io
from magenta_style.cli import runner, samples

FLAGS = flags.FLAGS
flags.DEFINE_string("output_dir", "demo_output", "Where the demo writes its PNGs.")
flags.DEFINE_string("model", defaults.STYLIZE_MODEL, "Model to stylize with (see magenta-stylize --model).")
flags.DEFINE_boolean("overwrite", True, "Replace the outputs of an earlier demo run.")

INTERPOLATION_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
BLEND_WEIGHTS = (0.5, 0.5)


def _strip(paths):
    return image_io.image_grid([[image_io.load_image(p) for p in paths]])


def main(argv):
    del argv
    from magenta_style.cli import stylize_files
    from magenta_style.errors import ModelSpecError, UsageError
    from magenta_style.weights import load_model

    try:
        runner.check_output_dir(FLAGS.output_dir, "output_dir")
        contents = [samples.sample_path(name) for name in samples.CONTENTS]
        styles = [samples.sample_path(name) for name in samples.STYLES]
        start = time.perf_counter()
        model = load_model(FLAGS.model)
        print(f"model {FLAGS.model} loaded in {time.perf_counter() - start:.1f} s")
        out = FLAGS.output_dir
        common = {"overwrite": FLAGS.overwrite, "image_size": 0}  # full resolution
        _, failures = stylize_files.stylize_images(model, contents, styles, out, grid=True, **common)

        chelsea = [p for p in contents if "chelsea" in p]
        written, failed = stylize_files.stylize_images(
            model, chelsea, styles[1:2], os.path.join(out, "interpolation"),
            interpolation_weights=INTERPOLATION_WEIGHTS, **common)
        failures += failed
        strip = os.path.join(out, "interpolation_strip.png")
        image_io.save_image(_strip(chelsea + written), strip, overwrite=FLAGS.overwrite)

        coffee = [p for p in contents if "coffee" in p]
        written, failed = stylize_files.stylize_images(
            model, coffee, styles[:2], os.path.join(out, "blend"),
            style_blend_weights=BLEND_WEIGHTS, **common)
        failures += failed
        blend = os.path.join(out, "blend_grid.png")
        image_io.save_image(_strip(coffee + written), blend, overwrite=FLAGS.overwrite)
    except (ModelSpecError, UsageError, OSError) as error:
        print(f"error: {runner.describe_error(error)}", file=sys.stderr)
        return 1
    print(f"demo written to {out}/: stylized_grid.png, interpolation_strip.png, blend_grid.png")
    return 1 if failures else 0


def run():
    app.run(main)


if __name__ == "__main__":
    run()
