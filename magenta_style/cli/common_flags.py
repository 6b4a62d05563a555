"""The flags the stylize commands share, declared once: the model and what runs it, the style
and how strongly it is applied, and reading them back.

Entry scripts call `define_engine_flags()` / `define_style_flags()` at import (their flags
are then theirs: cli/runner.py lists them in the script's --help) and read the values through
the functions below, which raise UsageError for bad values.
"""
import glob
import os
import time

from absl import flags

from magenta_style import defaults, gallery
from magenta_style.cli import runner
from magenta_style.errors import UsageError

FLAGS = flags.FLAGS
MODEL_HELP = ("pretrained:mobile (Magenta's released mobile model), pretrained:full (its full "
              "model, downloaded once; best quality), a .keras file, a train_dir, a Magenta TF1 "
              "checkpoint or its arbitrary_style_transfer.tar.gz, a TF Hub SavedModel, or a "
              "released ONNX/TFLite pair ('predict.onnx,transfer.onnx' or their folder).")


def define_engine_flags(tiling=True):
    """--model, --engine, --precision and (with `tiling`) --tile_size."""
    flags.DEFINE_string("model", defaults.STYLIZE_MODEL, MODEL_HELP)
    flags.DEFINE_enum("engine", defaults.STYLIZE_ENGINE, list(defaults.STYLIZE_ENGINES),
                      "What runs the model: litert (float32 TFLite files built from the model "
                      "once and cached, run by LiteRT; no TensorFlow start-up), tf "
                      "(TensorFlow), or auto (litert; TensorFlow for tiled images, bfloat16, "
                      "and large jobs on CPUs where it is faster). Equal to float32 rounding.")
    flags.DEFINE_enum("precision", defaults.STYLIZE_PRECISION, list(defaults.STYLIZE_PRECISIONS),
                      "Precision of the transfer network: float32 (exact) or bfloat16 "
                      "(activations and convolutions; ~2x faster on CPUs with AMX, ~50 dB PSNR "
                      "from float32; runs on TensorFlow).")
    if tiling:
        flags.DEFINE_integer("tile_size", defaults.STYLIZE_TILE_SIZE,
                             "Content images with more than 4 x tile_size^2 pixels are stylized "
                             "in tiles of that side, in bounded memory and with the same result "
                             "(whole-image instance-norm statistics); smaller tiles use less "
                             "memory. 0 never tiles.", lower_bound=0)


def define_style_flags(one_strength=False):
    """The style images, their size and crop, blend weights, strength and colours.
    one_strength: --interpolation_weights takes one weight (a video)."""
    flags.DEFINE_string("style_images_paths", None,
                        "Style images: paths, globs or gallery:NAME (the shipped styles: "
                        f"{', '.join(gallery.CREDITS)}), comma-separated.")
    flags.DEFINE_integer("style_image_size", defaults.STYLE_IMAGE_SIZE,
                         "Shorter side of style images in pixels.", lower_bound=1)
    flags.DEFINE_boolean("style_square_crop", False, "Central square crop of style images.")
    flags.DEFINE_string("style_blend_weights", None,
                        "Blend all style images into one style with these weights, e.g. "
                        "'[0.7,0.3]'.")
    flags.DEFINE_string("interpolation_weights", None,
                        "Style strength (identity interpolation): "
                        + ("one weight" if one_strength else "weights, e.g. '[0.0,0.5,1.0]',")
                        + " in [0, 1]: 0 keeps the content's own style, 1 is the full style "
                        "(default: [1.0]).")
    flags.DEFINE_boolean("preserve_colors", False,
                         "Keep the content's colours (luminance transfer).")


def expand_paths(spec, what):
    """'a.jpg,dir/*.png,gallery:gravel' -> sorted, de-duplicated paths. A pattern matching
    nothing is kept as is when it has no wildcard (so the missing file is reported), else is
    an error; 'gallery:NAME' is the gallery's style of that name (magenta_style.gallery)."""
    paths = []
    for pattern in (p.strip() for p in (spec or "").split(",")):
        if not pattern:
            continue
        if pattern.startswith(gallery.PREFIX):
            if gallery.resolve(pattern) not in paths:
                paths.append(gallery.resolve(pattern))
            continue
        matches = sorted(glob.glob(os.path.expanduser(pattern)))
        if not matches and glob.has_magic(pattern):
            raise UsageError(f"--{what}: {pattern} matches no files")
        for path in matches or [pattern]:
            if path not in paths:
                paths.append(path)
    if not paths:
        raise UsageError(f"--{what} is required")
    return paths


def parse_weights(text, what):
    """'[0.0, 0.5, 1]' -> [0.0, 0.5, 1.0]."""
    try:
        values = [float(v) for v in text.strip().strip("[]").split(",") if v.strip()]
    except ValueError:
        raise UsageError(f"--{what}: expected numbers like [0.0,0.5,1.0], got {text!r}") from None
    if not values:
        raise UsageError(f"--{what}: no weights in {text!r}")
    return values


def style_paths():
    """--style_images_paths expanded (expand_paths)."""
    return expand_paths(FLAGS.style_images_paths, "style_images_paths")


def interpolation_weights(one=False):
    """--interpolation_weights as floats (default [1.0]); `one`: exactly one is allowed."""
    if not FLAGS.interpolation_weights:
        return list(defaults.INTERPOLATION_WEIGHTS)
    weights = parse_weights(FLAGS.interpolation_weights, "interpolation_weights")
    if one and len(weights) != 1:
        raise UsageError(f"--interpolation_weights: one strength is taken here, got "
                         f"{len(weights)}")
    return weights


def blend_weights(num_styles, required=False):
    """--style_blend_weights as floats, or None; UsageError unless there is one per style
    (`required`: several styles need them)."""
    if not FLAGS.style_blend_weights:
        if required and num_styles > 1:
            raise UsageError(f"--style_images_paths names {num_styles} images: give "
                             "--style_blend_weights to blend them into one style")
        return None
    weights = parse_weights(FLAGS.style_blend_weights, "style_blend_weights")
    if len(weights) != num_styles:
        raise UsageError(f"--style_blend_weights has {len(weights)} weights for {num_styles} "
                         "style images")
    return weights


def load_engine(work_pixels=None, tile_size=None):
    """The engine --model, --engine and --precision name (inference/engines.load_engine),
    with a line saying how long it took; tile_size: instead of --tile_size's."""
    from magenta_style.inference.engines import load_engine as load

    if tile_size is None:
        tile_size = FLAGS.tile_size if "tile_size" in FLAGS else defaults.STYLIZE_TILE_SIZE
    start = time.perf_counter()
    with runner.quiet_native_notices():
        engine = load(FLAGS.model, FLAGS.engine, FLAGS.precision, tile_size,
                      work_pixels=work_pixels, log=lambda line: print(line, flush=True))
    print(f"model {FLAGS.model} loaded in {time.perf_counter() - start:.1f} s "
          f"(engine {engine.name})", flush=True)
    return engine
