"""Video files through PyAV (FFmpeg's own libraries): upright RGB frames in, H.264 MP4 out.

`probe(path)` describes a video; `transcode(input, output, process)` decodes the
first video stream into upright RGB uint8 frames [H, W, 3] (rotation metadata
applied), hands their iterator to `process`, and writes what it yields as an H.264
MP4 at the source's frame rate, with the source's first audio stream carried over:
its packets copied as they are when MP4 takes that codec, else transcoded to AAC.
Everything happens in one pass over the input, so audio and video stay interleaved.
H.264 in 4:2:0 needs even sizes: odd frames are padded by one edge row/column.
The output is written to a temporary file beside it and renamed at the end; a full disk
(ENOSPC, quota, file size limit) is one line naming the output, with nothing left behind.
"""
import dataclasses
import fractions
import os

import numpy as np

from magenta_style import image_io
from magenta_style.errors import MagentaStyleError, OutputExistsError

# Audio codecs the MP4 muxer takes as they are (their packets are copied); others become AAC.
MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "ac3", "eac3", "alac"})
VIDEO_CODEC = "libx264"
PIXEL_FORMAT = "yuv420p"  # what every player plays; needs even width and height
AUDIO_CODEC = "aac"


class VideoError(MagentaStyleError, ValueError):
    """A video that cannot be read or written; str() is one line naming the file."""


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    """What `probe` finds: the upright frame size (after rotation), the frame rate,
    the frame count (estimated from the duration when the container does not say),
    the rotation in degrees counter-clockwise and the audio codec (None without audio)."""
    path: str
    width: int
    height: int
    frame_rate: fractions.Fraction
    frames: int
    rotation: int
    audio_codec: str | None


@dataclasses.dataclass(frozen=True)
class WriteSummary:
    """What `transcode` wrote: frames, the encoded size (even), the size before padding
    (equal when nothing was padded) and how the audio was handled
    ('copied', 'transcoded to aac' or 'none')."""
    frames: int
    width: int
    height: int
    source_width: int
    source_height: int
    audio: str

    @property
    def padded(self):
        return (self.width, self.height) != (self.source_width, self.source_height)


def _av():
    import av  # a dependency of the package; imported late so TF-only users do not pay for it
    return av


def _open_input(path):
    av = _av()
    path = os.fspath(path)
    if os.path.isdir(path):
        raise VideoError(f"{path}: is a directory, not a video")
    if not os.path.exists(path):
        raise VideoError(f"{path}: no such file")
    try:
        container = av.open(path)
    except av.error.EOFError:
        raise VideoError(f"{path}: no video frames (the file ends before any)") from None
    except av.FFmpegError as error:
        raise VideoError(f"{path}: not a video FFmpeg can read ({_reason(error)})") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path}: not a video (no video stream)")
    return container


def _reason(error):
    return getattr(error, "strerror", None) or str(error).splitlines()[0]


def _rotation_of(stream, container):
    """Rotation of the first frame (its display matrix), in multiples of 90 degrees."""
    try:
        for frame in container.decode(stream):
            return int(round(frame.rotation / 90.0)) * 90 % 360
    except _av().FFmpegError:
        return 0
    return 0


def _frame_rate(stream):
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return fractions.Fraction(rate) if rate else fractions.Fraction(25)


def _frame_count(stream, container, rate):
    if stream.frames:
        return int(stream.frames)
    if stream.duration is not None and stream.time_base:
        return max(0, round(float(stream.duration * stream.time_base * rate)))
    if container.duration:
        return max(0, round(container.duration / 1e6 * float(rate)))
    return 0


def probe(path):
    """VideoInfo of the first video stream of `path`. Raises VideoError."""
    container = _open_input(path)
    try:
        stream = container.streams.video[0]
        rate = _frame_rate(stream)
        frames = _frame_count(stream, container, rate)
        audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
        width, height = stream.codec_context.width, stream.codec_context.height
        rotation = _rotation_of(stream, container)
    finally:
        container.close()
    if rotation in (90, 270):
        width, height = height, width
    return VideoInfo(os.fspath(path), width, height, rate, frames, rotation, audio)


def upright_rgb(frame):
    """av.VideoFrame -> uint8 [H, W, 3] as it is meant to be shown (display rotation applied)."""
    array = frame.to_ndarray(format="rgb24")
    turns = int(round(frame.rotation / 90.0)) % 4  # counter-clockwise quarter turns
    return np.ascontiguousarray(np.rot90(array, turns)) if turns else array


def pad_to_even(frame):
    """uint8 [H, W, 3] -> [H + H % 2, W + W % 2, 3], the last row/column repeated."""
    height, width = frame.shape[:2]
    if height % 2 == 0 and width % 2 == 0:
        return frame
    return np.pad(frame, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")


class _Audio:
    """The source's first audio stream in the output: packets copied or re-encoded to AAC.
    Packets that arrive before the output is started (the video stream needs the first
    stylized frame's size) are held and written once it is."""

    def __init__(self, source):
        self.source = source
        self.copy = source.codec_context.name in MP4_AUDIO_CODECS
        self.mode = "copied" if self.copy else f"transcoded to {AUDIO_CODEC}"
        self.stream, self.container, self.pending = None, None, []

    def add_to(self, container):
        self.container = container
        if self.copy:
            self.stream = container.add_stream_from_template(self.source)
        else:
            context = self.source.codec_context
            # Containers without a channel layout (PCM in Matroska) say "1 channels".
            layout = {1: "mono", 2: "stereo"}.get(context.channels, context.layout.name)
            self.stream = container.add_stream(AUDIO_CODEC, rate=context.sample_rate, layout=layout)

    def start(self):
        pending, self.pending = self.pending, []
        for packet in pending:
            self.write(packet)

    def write(self, packet):
        if self.stream is None:
            self.pending.append(packet)
            return
        if self.copy:
            if packet.dts is None:  # the demuxer's empty flush packet
                return
            packet.stream = self.stream
            self.container.mux(packet)
            return
        for frame in packet.decode():
            frame.pts = None  # the encoder counts samples itself
            self.container.mux(self.stream.encode(frame))

    def finish(self):
        if self.stream is not None and not self.copy:
            self.container.mux(self.stream.encode(None))


def transcode(input_path, output_path, process, *, overwrite=False, crf=18, preset="veryfast",
              on_start=None):
    """Runs `process` over the frames of `input_path` and writes its frames to `output_path`.

    Args:
      input_path: any file FFmpeg reads with a video stream.
      output_path: the MP4 to write (temporary file, then renamed).
      process: function (iterator of uint8 [H, W, 3] upright frames) -> iterator of uint8
        [h, w, 3] frames, all one size (any size; odd ones are padded to even).
      overwrite: replace an existing output; without it an existing output is a VideoError.
      crf, preset: libx264's quality (lower crf = better) and speed settings.
      on_start: optional function(VideoInfo) called once the input is probed.
    Returns:
      WriteSummary. Raises VideoError for bad input (not a video, an unreadable
      stream, no frames), OutputExistsError for an existing output without `overwrite`,
      OutputWriteError (image_io.atomic_path's) when the disk fills: nothing is left then.
    """
    av = _av()
    input_path, output_path = os.fspath(input_path), os.fspath(output_path)
    if os.path.exists(output_path) and not overwrite:
        raise OutputExistsError(f"{output_path}: already exists (use --overwrite to replace it)")
    if os.path.abspath(input_path) == os.path.abspath(output_path):
        raise VideoError(f"{output_path}: the output would replace its own input")
    info = probe(input_path)
    if on_start is not None:
        on_start(info)
    source = _open_input(input_path)
    try:
        video_in = source.streams.video[0]
        video_in.thread_type = "AUTO"
        audio = _Audio(source.streams.audio[0]) if source.streams.audio else None
        decoded = {"frames": 0}

        def frames():
            streams = [video_in] + ([audio.source] if audio else [])
            try:
                for packet in source.demux(streams):
                    if audio is not None and packet.stream is audio.source:
                        audio.write(packet)
                        continue
                    for frame in packet.decode():
                        decoded["frames"] += 1
                        yield upright_rgb(frame)
            except av.FFmpegError as error:
                raise VideoError(f"{input_path}: unreadable video stream after "
                                 f"{decoded['frames']} frames ({_reason(error)})") from None

        with image_io.atomic_path(output_path, overwrite=overwrite) as temporary:
            summary = _write(temporary, process(frames()), info.frame_rate, audio, crf, preset)
            if decoded["frames"] == 0:
                raise VideoError(f"{input_path}: no video frames could be decoded")
    finally:
        source.close()
    return summary


def _write(path, frames, rate, audio, crf, preset):
    av = _av()
    output = av.open(path, "w", format="mp4")
    count, stream, size = 0, None, None
    try:
        for frame in frames:
            if stream is None:
                size = frame.shape[1], frame.shape[0]
                even = pad_to_even(frame)
                stream = output.add_stream(VIDEO_CODEC, rate=rate)
                stream.width, stream.height = even.shape[1], even.shape[0]
                stream.pix_fmt = PIXEL_FORMAT
                stream.options = {"crf": str(crf), "preset": preset}
                if audio is not None:
                    audio.add_to(output)
                    audio.start()
            if (frame.shape[1], frame.shape[0]) != size:
                raise ValueError(f"frame {count} is {frame.shape[1]}x{frame.shape[0]}, "
                                 f"not {size[0]}x{size[1]} like the first")
            picture = av.VideoFrame.from_ndarray(pad_to_even(np.asarray(frame, np.uint8)),
                                                 format="rgb24")
            picture.pts = count
            output.mux(stream.encode(picture))
            count += 1
        if stream is not None:
            output.mux(stream.encode(None))
            if audio is not None:
                audio.finish()
    finally:
        output.close()
    width, height = size or (0, 0)
    return WriteSummary(count, width + width % 2, height + height % 2, width, height,
                        audio.mode if audio is not None else "none")
