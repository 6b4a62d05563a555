"""Real video clips for the video tests and benchmark, made with PyAV from scikit-image photos.

A pan and a zoom over a still photo: the true motion between frames is known, so the
temporal warping error of a stylized clip needs no flow network (`warping_error`).
`write_clip` encodes frames (plus a sine tone) with FFmpeg's encoders; `read_clip`
decodes a file back into frames and audio facts.
"""
import dataclasses
import fractions

import numpy as np

from tests.helpers.images import photo


def astronaut():
    """skimage.data.astronaut() as float32 [512, 512, 3] in [0, 1]."""
    return photo(512, 512, "astronaut").astype(np.float32) / 255.0


def _bilinear(image, ys, xs):
    """image [H, W, C] sampled at float coordinates (clamped to the image)."""
    height, width = image.shape[:2]
    ys, xs = np.clip(ys, 0, height - 1), np.clip(xs, 0, width - 1)
    y0 = np.minimum(np.floor(ys).astype(int), height - 2)
    x0 = np.minimum(np.floor(xs).astype(int), width - 2)
    fy, fx = (ys - y0)[..., None], (xs - x0)[..., None]
    return (image[y0, x0] * (1 - fy) * (1 - fx) + image[y0 + 1, x0] * fy * (1 - fx)
            + image[y0, x0 + 1] * (1 - fy) * fx + image[y0 + 1, x0 + 1] * fy * fx)


@dataclasses.dataclass(frozen=True)
class Pan:
    """Frame t is the window of `size` (H, W) at column `left + t * step` of the photo."""
    size: tuple
    frames: int
    step: int = 3
    top: int = 100
    left: int = 20

    def render(self, photo):
        height, width = self.size
        return np.stack([photo[self.top:self.top + height,
                               self.left + t * self.step:self.left + t * self.step + width]
                         for t in range(self.frames)])

    def warp_previous(self, previous, t):
        """(previous frame moved to where frame t sees it, valid mask [H, W])."""
        height, width = previous.shape[:2]
        warped = np.zeros_like(previous)
        warped[:, :width - self.step] = previous[:, self.step:]
        valid = np.zeros((height, width), bool)
        valid[:, :width - self.step] = True
        return warped, valid


@dataclasses.dataclass(frozen=True)
class Zoom:
    """Frame t shows the photo around `center` magnified by `rate ** t` (window `span` x frame)."""
    size: tuple
    frames: int
    rate: float = 1.015
    center: tuple = (220.0, 256.0)
    span: float = 1.6
    border: int = 4  # pixels at the edge left out of the error (resampling at the border)

    def zoom(self, t):
        return self.rate ** t

    def render(self, photo):
        height, width = self.size
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        return np.stack([_bilinear(photo, self.center[0] + (yy - height / 2) * self.span / self.zoom(t),
                                   self.center[1] + (xx - width / 2) * self.span / self.zoom(t))
                         for t in range(self.frames)]).astype(np.float32)

    def warp_previous(self, previous, t):
        height, width = previous.shape[:2]
        ratio = self.zoom(t - 1) / self.zoom(t)
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        warped = _bilinear(previous, height / 2 + (yy - height / 2) * ratio,
                           width / 2 + (xx - width / 2) * ratio)
        valid = np.zeros((height, width), bool)
        valid[self.border:height - self.border, self.border:width - self.border] = True
        return warped, valid


def warping_error(frames, motion):
    """Temporal warping error: mean over t >= 1 of the mean squared difference between
    frame t and frame t - 1 moved by the known motion, over valid pixels (floats in [0, 1])."""
    frames = [np.asarray(f, np.float32) / (255.0 if np.asarray(f).dtype == np.uint8 else 1.0)
              for f in frames]
    errors = []
    for t in range(1, len(frames)):
        warped, valid = motion.warp_previous(frames[t - 1], t)
        errors.append(float(np.mean((frames[t] - warped)[valid] ** 2)))
    return float(np.mean(errors))


def sine_tone(seconds, sample_rate=44100, frequency=440.0):
    """int16 [1, N] mono sine tone at half amplitude."""
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    return (0.5 * 32767 * np.sin(2 * np.pi * frequency * t)).astype(np.int16)[None]


def write_clip(path, frames, rate=24, audio_codec="aac", sample_rate=44100, video_codec="libx264",
               rotation=0, container_format=None, pixel_format="yuv420p"):
    """Encodes uint8/float frames [T, H, W, 3] (stored as given) at `rate` frames/s, with a
    sine tone as long as the clip in `audio_codec` (None: no audio). `rotation`: display
    rotation in degrees counter-clockwise written into the stream's display matrix
    (odd frame sizes need a codec/pixel format that takes them, e.g. ffv1 in .mkv)."""
    import av

    frames = np.asarray(frames)
    if frames.dtype != np.uint8:
        frames = np.clip(frames * 255.0 + 0.5, 0, 255).astype(np.uint8)
    rate = fractions.Fraction(rate)
    with av.open(str(path), "w", format=container_format) as output:
        video = output.add_stream(video_codec, rate=rate)
        video.height, video.width = frames.shape[1:3]
        video.pix_fmt = pixel_format
        if rotation:
            video.set_display_rotation(rotation)
        audio = None
        if audio_codec:
            audio = output.add_stream(audio_codec, rate=sample_rate, layout="mono")
        for index, frame in enumerate(frames):
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
            picture.pts = index
            output.mux(video.encode(picture))
        output.mux(video.encode(None))
        if audio is not None:
            tone = sine_tone(len(frames) / rate, sample_rate)
            chunk = 1024
            for start in range(0, tone.shape[1], chunk):
                samples = av.AudioFrame.from_ndarray(np.ascontiguousarray(tone[:, start:start + chunk]),
                                                     format="s16", layout="mono")
                samples.sample_rate, samples.pts = sample_rate, start
                output.mux(audio.encode(samples))
            output.mux(audio.encode(None))
    return path


@dataclasses.dataclass(frozen=True)
class Clip:
    frames: np.ndarray  # uint8 [T, H, W, 3], upright
    rate: fractions.Fraction
    video_codec: str
    audio_codec: str | None
    sample_rate: int
    audio_samples: int  # decoded samples per channel
    audio_packets: list  # bytes of each audio packet (for checking a copy)


def read_clip(path):
    """Decodes every video frame (display rotation applied) and the first audio stream."""
    import av

    from magenta_style.inference.video_io import upright_rgb

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = np.stack([upright_rgb(f) for f in container.decode(stream)])
        rate, video_codec = fractions.Fraction(stream.average_rate), stream.codec_context.name
    audio_codec, sample_rate, samples, packets = None, 0, 0, []
    with av.open(str(path)) as container:
        if container.streams.audio:
            audio = container.streams.audio[0]
            audio_codec, sample_rate = audio.codec_context.name, audio.codec_context.sample_rate
            for packet in container.demux(audio):
                if packet.dts is None:
                    continue
                packets.append(bytes(packet))
                samples += sum(frame.samples for frame in packet.decode())
    return Clip(frames, rate, video_codec, audio_codec, sample_rate, samples, packets)
