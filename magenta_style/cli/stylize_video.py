r"""Stylizes a video with the style of a painting: `magenta-stylize-video` /
`python -m magenta_style.cli.stylize_video`.

  magenta-stylize-video --input_video=clip.mov --output_video=clip_styled.mp4 \
      --style_images_paths=painting.jpg

Reads whatever FFmpeg reads; writes H.264 MP4 at the source's frame rate with its
audio (copied, or AAC where MP4 does not take the codec), upright (rotation metadata
applied), at full resolution unless --image_size says otherwise. Flicker is removed
by flow-guided blending (--stabilization=flow, see inference/video.py). Style flags
are magenta-stylize's; several style images are blended with --style_blend_weights.
"""
import os
import sys
import time

from absl import flags

from magenta_style import defaults
from magenta_style.cli import runner
from magenta_style.cli.stylize_files import expand_paths, load_prepared, parse_weights
from magenta_style.errors import OutputExistsError, UsageError

FLAGS = flags.FLAGS
flags.DEFINE_string("input_video", None, "The video to stylize (any file FFmpeg reads).")
flags.DEFINE_string("output_video", None, "Where the stylized MP4 (H.264) is written.")
flags.DEFINE_string("style_images_paths", None,
                    "Style image(s): paths or globs, comma-separated; several need "
                    "--style_blend_weights.")
flags.DEFINE_string("style_blend_weights", None,
                    "Blend the style images into one style with these weights, e.g. '[0.7,0.3]'.")
flags.DEFINE_string("interpolation_weights", None,
                    "Style strength, one identity interpolation weight: 0 keeps the video's own "
                    "style (of its first frame), 1 is the full style (default).")
flags.DEFINE_boolean("preserve_colors", False, "Keep the video's colours (luminance transfer).")
flags.DEFINE_string("model", defaults.STYLIZE_MODEL,
                    "pretrained:mobile, a .keras file, a train_dir, a Magenta TF1 checkpoint, "
                    "or a released ONNX/TFLite pair (see magenta-stylize --model).")
flags.DEFINE_integer("image_size", defaults.VIDEO_IMAGE_SIZE,
                     "Shorter side of the stylized frames in pixels; 0 keeps the video's size.")
flags.DEFINE_integer("style_image_size", defaults.STYLE_IMAGE_SIZE,
                     "Shorter side of style images in pixels.")
flags.DEFINE_boolean("style_square_crop", False, "Central square crop of style images.")
flags.DEFINE_enum("stabilization", defaults.VIDEO_STABILIZATION, ["flow", "none"],
                  "flow: blend with the previous output warped by optical flow (steady); "
                  "none: every frame stylized on its own (flickers).")
flags.DEFINE_float("stabilization_strength", defaults.VIDEO_STABILIZATION_STRENGTH,
                   "Weight of the previous output where the motion is reliable, in [0, 1).")
flags.DEFINE_integer("batch_size", defaults.VIDEO_BATCH_SIZE,
                     "Frames read and post-processed together (each is stylized on its own).")
flags.DEFINE_boolean("overwrite", False, "Replace an existing output video.")
flags.DEFINE_enum("engine", defaults.STYLIZE_ENGINE, list(defaults.STYLIZE_ENGINES),
                  "What runs the model: litert, tf or auto (see magenta-stylize --engine).")


def _strength():
    if not FLAGS.interpolation_weights:
        return 1.0
    weights = parse_weights(FLAGS.interpolation_weights, "interpolation_weights")
    if len(weights) != 1:
        raise UsageError(f"--interpolation_weights: a video takes one strength, got {len(weights)}")
    return weights[0]


def _style_bottleneck(engine):
    """The style: one image's bottleneck [1, 100], or the blend of several."""
    from magenta_style.inference.engines import blend_bottlenecks

    paths = expand_paths(FLAGS.style_images_paths, "style_images_paths")
    blend = (parse_weights(FLAGS.style_blend_weights, "style_blend_weights")
             if FLAGS.style_blend_weights else None)
    if blend is None and len(paths) > 1:
        raise UsageError(f"--style_images_paths names {len(paths)} images: give "
                         "--style_blend_weights to blend them into one style")
    if blend is not None and len(blend) != len(paths):
        raise UsageError(f"--style_blend_weights has {len(blend)} weights for {len(paths)} "
                         "style images")
    bottlenecks = [engine.style_bottleneck(load_prepared(
        path, FLAGS.style_image_size, FLAGS.style_square_crop)) for path in paths]
    return bottlenecks[0] if blend is None else blend_bottlenecks(bottlenecks, blend)


def _frame_pixels(info):
    """Pixels of one frame as stylized (--image_size resizes the shorter side)."""
    if not FLAGS.image_size:
        return info.width * info.height
    scale = FLAGS.image_size / min(info.width, info.height)
    return round(info.width * scale) * round(info.height * scale)


def main(argv):
    if len(argv) > 1:
        raise UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    from magenta_style.inference import video_io
    from magenta_style.inference.engines import load_engine
    from magenta_style.inference.video import stylize_video_file

    for name in ("input_video", "output_video", "style_images_paths"):
        if not getattr(FLAGS, name):
            raise UsageError(f"--{name} is required")
    if FLAGS.image_size < 0 or FLAGS.style_image_size <= 0 or FLAGS.batch_size <= 0:
        raise UsageError("--image_size must be >= 0, --style_image_size and --batch_size > 0")
    if not 0.0 <= FLAGS.stabilization_strength < 1.0:
        raise UsageError("--stabilization_strength must be in [0, 1)")
    strength = _strength()
    # Bad input and an existing output are reported before the model is loaded.
    info = video_io.probe(FLAGS.input_video)
    if os.path.exists(FLAGS.output_video) and not FLAGS.overwrite:
        raise OutputExistsError(f"{FLAGS.output_video}: already exists (use --overwrite to "
                                "replace it)")
    start = time.perf_counter()
    with runner.quiet_native_notices():
        engine = load_engine(FLAGS.model, FLAGS.engine, tile_size=0,
                             work_pixels=info.frames * _frame_pixels(info),
                             log=lambda line: print(line, flush=True))
    print(f"model {FLAGS.model} loaded in {time.perf_counter() - start:.1f} s "
          f"(engine {engine.name})", flush=True)
    stylize_video_file(engine, FLAGS.input_video, FLAGS.output_video, _style_bottleneck(engine),
                       overwrite=FLAGS.overwrite, stream=sys.stdout, interpolation_weight=strength,
                       style_image_size=FLAGS.style_image_size, image_size=FLAGS.image_size,
                       batch_size=FLAGS.batch_size, stabilization=FLAGS.stabilization,
                       stabilization_strength=FLAGS.stabilization_strength,
                       preserve_colors=FLAGS.preserve_colors)
    return 0


def run():
    """Console-script entry point (`magenta-stylize-video`)."""
    runner.run(main)


if __name__ == "__main__":
    run()
