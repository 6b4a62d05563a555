"""Stylizing video: frames in batches with one style, stabilized over time.

    frames = (np.asarray(picture) for picture in my_frames)        # uint8 [H, W, 3]
    for stylized in stylize_video(engine, frames, style_bottleneck):  # uint8 [H, W, 3]
        ...

`stylize_video` takes any iterator of RGB frames and yields stylized frames;
`stylize_video_file` runs it from one video file into an H.264 MP4 with the source's
audio (see video_io). The style is computed once: bottleneck -> style parameters,
then only the transfer network runs per batch of frames.

Stabilization ('flow', the default) removes the flicker of per-frame stylization
(the network is not shift-invariant: a one-pixel pan changes its texture). Each
stylized frame is blended with the previous output warped along the optical flow
between the two content frames (OpenCV's DIS flow); the blend weight is
`stabilization_strength` where the warped previous content matches the current one
and falls to 0 where it does not (occlusions, cuts, new content), so moving and
new regions keep their own stylization. Smoothing each conditional instance norm's
statistics over frames was measured too and does not help: the statistics hardly
change between frames; the flicker is local texture (BENCHMARKS.md).
"""
import sys
import time

import numpy as np

from magenta_style import defaults, image_io
from magenta_style.progress import Progress

STABILIZATIONS = ("flow", "none")


class FlowStabilizer:
    """Blends each stylized frame with the previous output, warped by optical flow.

    Args:
      strength: weight of the warped previous output where the motion is reliable
        (0 = per-frame stylization; higher is steadier but smears fast-changing texture).
      tolerance: RMS colour difference (in [0, 1] units) between the current content and
        the warped previous content at which the weight has fallen to 1/e of `strength`.
      flow_size: longer side at which the flow is computed (the flow is scaled up to the
        frame); 0 computes it at the frame's own size.
    Call it with the content and stylized frames in order (float32 [H, W, 3] in [0, 1]);
    `reset()` starts a new clip.
    """

    def __init__(self, strength=defaults.VIDEO_STABILIZATION_STRENGTH,
                 tolerance=defaults.VIDEO_STABILIZATION_TOLERANCE,
                 flow_size=defaults.VIDEO_FLOW_SIZE):
        if not 0.0 <= strength < 1.0:
            raise ValueError(f"stabilization strength must be in [0, 1), got {strength}")
        if tolerance <= 0:
            raise ValueError(f"stabilization tolerance must be > 0, got {tolerance}")
        import cv2  # a dependency of the package; imported late as video is optional work

        self.cv2 = cv2
        self.strength, self.tolerance, self.flow_size = float(strength), float(tolerance), flow_size
        self.flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        self.reset()

    def reset(self):
        self.previous = None  # (grey content at flow size, content, output) of the last frame

    def _grey(self, content):
        cv2 = self.cv2
        grey = cv2.cvtColor(image_io.to_uint8(content), cv2.COLOR_RGB2GRAY)
        height, width = grey.shape
        scale = self.flow_size / max(height, width) if self.flow_size else 1.0
        if scale < 1.0:
            grey = cv2.resize(grey, (max(8, round(width * scale)), max(8, round(height * scale))),
                              interpolation=cv2.INTER_AREA)
        return grey

    def _backward_map(self, grey, previous_grey, height, width):
        """Per pixel of the current frame, where it was in the previous one: float32 [H, W, 2]."""
        cv2 = self.cv2
        flow = self.flow.calc(grey, previous_grey, None)  # grey(p) ~ previous_grey(p + flow)
        if flow.shape[:2] != (height, width):
            sx, sy = width / flow.shape[1], height / flow.shape[0]
            flow = cv2.resize(flow, (width, height), interpolation=cv2.INTER_LINEAR)
            flow[..., 0] *= sx
            flow[..., 1] *= sy
        grid = np.stack(np.meshgrid(np.arange(width, dtype=np.float32),
                                    np.arange(height, dtype=np.float32)), -1)
        return grid + flow

    def __call__(self, content, stylized):
        content = np.asarray(content, np.float32)
        stylized = np.asarray(stylized, np.float32)
        grey = self._grey(content)
        previous, self.previous = self.previous, None
        if previous is None or previous[1].shape != content.shape or self.strength == 0:
            self.previous = (grey, content, stylized)
            return stylized
        cv2 = self.cv2
        height, width = content.shape[:2]
        where = self._backward_map(grey, previous[0], height, width)
        mx, my = where[..., 0], where[..., 1]

        def warp(image):
            return cv2.remap(image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

        mismatch = np.mean((warp(previous[1]) - content) ** 2, axis=-1)  # [H, W]
        inside = (mx >= 0) & (mx <= width - 1) & (my >= 0) & (my <= height - 1)
        weight = (self.strength * np.exp(-mismatch / self.tolerance ** 2) * inside)[..., None]
        output = weight * warp(previous[2]) + (1.0 - weight) * stylized
        self.previous = (grey, content, output)
        return output


def _batches(frames, batch_size):
    batch = []
    for frame in frames:
        batch.append(frame)
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def _as_float(frame):
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[-1] != 3:
        raise ValueError(f"expected RGB frames [H, W, 3], got shape {frame.shape}")
    return frame.astype(np.float32) / 255.0 if frame.dtype == np.uint8 else frame.astype(np.float32)


def stylize_video(engine, frames, style_bottleneck, *, interpolation_weight=1.0,
                  style_image_size=defaults.STYLE_IMAGE_SIZE, image_size=0,
                  batch_size=defaults.VIDEO_BATCH_SIZE, stabilization=defaults.VIDEO_STABILIZATION,
                  stabilization_strength=defaults.VIDEO_STABILIZATION_STRENGTH,
                  preserve_colors=False):
    """Stylizes a stream of frames with one style; yields uint8 [h, w, 3] frames in order.

    Args:
      engine: an inference/engine.Engine (engines.load_engine).
      frames: iterator of RGB frames [H, W, 3], uint8 or float in [0, 1], all one size.
      style_bottleneck: [1, 100] (engine.style_bottleneck of a style image, or a blend).
      interpolation_weight: identity interpolation (SPEC 6): 1 = the full style, 0 = the
        first frame's own style (its bottleneck is computed once, like the style's).
      style_image_size: shorter side of the first frame when it is used as a style.
      image_size: shorter side frames are resized to before stylizing; 0 keeps their size.
      batch_size: frames read and post-processed together; each is stylized on its own by
        the engine (the TF one: inference/fast.py's graph, 1.2-1.4x faster than the Keras
        network on batches of 4 at 360p-720p, BENCHMARKS.md "Video"); frames are never tiled.
      stabilization: 'flow' (see FlowStabilizer) or 'none' (per-frame stylization).
      stabilization_strength: FlowStabilizer's strength.
      preserve_colors: keep each frame's colours (luminance transfer).
    """
    from magenta_style.inference import pictures, resize

    if stabilization not in STABILIZATIONS:
        raise ValueError(f"unknown stabilization {stabilization!r}; expected one of "
                         f"{', '.join(STABILIZATIONS)}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    stabilizer = FlowStabilizer(stabilization_strength) if stabilization == "flow" else None
    style = np.asarray(style_bottleneck, np.float32).reshape(1, -1)
    identity = []  # the first frame's own style, computed once per clip

    def first_frame_identity(frame):
        if not identity:
            identity.append(engine.identity_bottleneck(frame, style_image_size))
        return identity[0]

    for batch in _batches(frames, batch_size):
        content = [resize.shorter_side_lanczos(_as_float(frame), image_size) for frame in batch]
        for content_frame in content:
            frame = pictures.stylize_picture(
                engine, content_frame, style, strength=interpolation_weight,
                preserve_colors=preserve_colors, tile_size=0,
                identity=lambda f=content_frame: first_frame_identity(f))
            if stabilizer is not None:
                frame = stabilizer(content_frame, frame)
            yield image_io.to_uint8(frame)


def stylize_video_file(engine, input_path, output_path, style_bottleneck, *, overwrite=False,
                       stream=None, on_frame=None, **options):
    """Stylizes a video file into an H.264 MP4 with the source's audio (video_io.transcode).

    `options` are stylize_video's. Progress lines (frames/s, ETA) go to `stream`
    (default stdout); on_frame(done, total), if given, is called after each frame (total is
    the container's count, an estimate). Returns video_io.WriteSummary; raises video_io.VideoError for
    bad input and errors.OutputExistsError for an existing output without `overwrite`.
    """
    from magenta_style.inference import video_io

    stream = stream or sys.stdout
    state = {}  # the input's VideoInfo and the Progress, once probed

    def start(info):
        rotated = f", rotated {info.rotation} degrees" if info.rotation else ""
        audio = f", audio {info.audio_codec}" if info.audio_codec else ", no audio"
        print(f"{info.path}: {info.width}x{info.height}, {float(info.frame_rate):.3f} frames/s, "
              f"~{info.frames} frames{rotated}{audio}", file=stream, flush=True)
        state["info"] = info
        state["progress"] = Progress(max(info.frames, 1), "frames", name="stylize-video",
                                     interval=defaults.PROGRESS_INTERVAL_S, stream=stream)

    def process(frames):
        progress = state["progress"]
        for index, frame in enumerate(stylize_video(engine, frames, style_bottleneck, **options)):
            progress.total = max(progress.total, index + 1)  # the count may be an estimate
            progress.update(index + 1)
            if on_frame is not None:
                on_frame(index + 1, progress.total)
            yield frame

    began = time.perf_counter()
    summary = video_io.transcode(input_path, output_path, process, overwrite=overwrite,
                                 on_start=start)
    state["progress"].total = summary.frames
    state["progress"].update(summary.frames, final=True)
    announced = state["info"].frames
    if summary.frames < announced - 1:  # counts estimated from the duration may be 1 off
        print(f"warning: {input_path}: decoded {summary.frames} frames, its container announced "
              f"{announced} (damaged input?)", file=stream, flush=True)
    padded = (f" (padded from {summary.source_width}x{summary.source_height}: H.264 needs even "
              "sizes)" if summary.padded else "")
    print(f"wrote {output_path}: {summary.frames} frames {summary.width}x{summary.height}{padded}, "
          f"audio {summary.audio}, in {time.perf_counter() - began:.1f} s", file=stream, flush=True)
    return summary
