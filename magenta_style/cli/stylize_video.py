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

from absl import flags

from magenta_style import defaults
from magenta_style.cli import common_flags, runner
from magenta_style.errors import OutputExistsError, UsageError

FLAGS = flags.FLAGS
flags.DEFINE_string("input_video", None, "The video to stylize (any file FFmpeg reads).")
flags.DEFINE_string("output_video", None, "Where the stylized MP4 (H.264) is written.")
flags.DEFINE_integer("image_size", defaults.VIDEO_IMAGE_SIZE,
                     "Shorter side of the stylized frames in pixels; 0 keeps the video's size.",
                     lower_bound=0)
flags.DEFINE_enum("stabilization", defaults.VIDEO_STABILIZATION, ["flow", "none"],
                  "flow: blend with the previous output warped by optical flow (steady); "
                  "none: every frame stylized on its own (flickers).")
flags.DEFINE_float("stabilization_strength", defaults.VIDEO_STABILIZATION_STRENGTH,
                   "Weight of the previous output where the motion is reliable, in [0, 1).")
flags.DEFINE_integer("batch_size", defaults.VIDEO_BATCH_SIZE,
                     "Frames read and post-processed together (each is stylized on its own).",
                     lower_bound=1)
flags.DEFINE_boolean("overwrite", False, "Replace an existing output video.")
common_flags.define_style_flags(one_strength=True)
common_flags.define_engine_flags(tiling=False)


def _style_bottleneck(engine, paths, blend):
    """The style: one image's bottleneck [1, 100], or the blend of several."""
    from magenta_style.image_io import load_prepared
    from magenta_style.inference.pictures import style_of

    bottlenecks = [engine.style_bottleneck(load_prepared(
        path, FLAGS.style_image_size, FLAGS.style_square_crop)) for path in paths]
    return style_of(bottlenecks, blend)


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
    from magenta_style.inference.video import stylize_video_file

    for name in ("input_video", "output_video", "style_images_paths"):
        if not getattr(FLAGS, name):
            raise UsageError(f"--{name} is required")
    if not 0.0 <= FLAGS.stabilization_strength < 1.0:
        raise UsageError("--stabilization_strength must be in [0, 1)")
    strength, = common_flags.interpolation_weights(one=True)
    styles = common_flags.style_paths()
    blend = common_flags.blend_weights(len(styles), required=True)
    # Bad input and an existing output are reported before the model is loaded.
    info = video_io.probe(FLAGS.input_video)
    if os.path.exists(FLAGS.output_video) and not FLAGS.overwrite:
        raise OutputExistsError(f"{FLAGS.output_video}: already exists (use --overwrite to "
                                "replace it)")
    engine = common_flags.load_engine(work_pixels=info.frames * _frame_pixels(info), tile_size=0)
    stylize_video_file(engine, FLAGS.input_video, FLAGS.output_video, _style_bottleneck(engine, styles, blend),
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
