"""Video: real clips written and read back with PyAV (frames, rate, size, audio, rotation),
bad inputs as one-line errors, stylization per batch, and flow stabilization on a known pan."""
import io
import os

import av
import numpy as np
import pytest
import tensorflow as tf

from magenta_style.errors import MagentaStyleError, OutputExistsError
from magenta_style.inference import video, video_io
from magenta_style.inference.tf_engine import TFEngine
from tests.helpers import video_clips

SIZE = (64, 96)  # H, W


@pytest.fixture(scope="module")
def photo():
    return video_clips.astronaut()


@pytest.fixture(scope="module")
def pan_frames(photo):
    return (video_clips.Pan(SIZE, 10).render(photo) * 255 + 0.5).astype(np.uint8)


@pytest.fixture(scope="module")
def model(stylizer_model):
    # Realistic random weights everywhere: the initializer's tiny kernels give a flat picture
    # and amplify float rounding, so two formulations of the network could round differently.
    return stylizer_model


@pytest.fixture(scope="module")
def bottleneck(model, photo):
    return model.style_bottleneck(tf.constant(photo[None, ::8, ::8], tf.float32))


def _identity(frames):
    yield from frames


def _no_temporaries(folder):
    return not [name for name in os.listdir(folder) if name.startswith(".tmp")]


def test_round_trip_keeps_frames_size_rate_and_copies_the_audio(tmp_path, pan_frames):
    source = video_clips.write_clip(tmp_path / "in.mp4", pan_frames, rate=24, audio_codec="aac")
    summary = video_io.transcode(source, tmp_path / "out.mp4", _identity)
    original, written = video_clips.read_clip(source), video_clips.read_clip(tmp_path / "out.mp4")
    assert (summary.frames, summary.width, summary.height, summary.audio) == (10, 96, 64, "copied")
    assert written.frames.shape == original.frames.shape == (10, 64, 96, 3)
    assert written.rate == 24 and written.video_codec == "h264"
    assert np.abs(written.frames.astype(float) - original.frames).mean() < 3  # crf 18
    assert written.audio_codec == "aac" and written.sample_rate == 44100
    assert written.audio_packets == original.audio_packets  # remuxed, not re-encoded
    assert _no_temporaries(tmp_path)


def test_odd_size_is_padded_and_pcm_audio_becomes_aac(tmp_path, pan_frames):
    odd = pan_frames[:6, :63, :95]
    rate = video_clips.fractions.Fraction(30000, 1001)
    source = video_clips.write_clip(tmp_path / "in.mkv", odd, rate=rate, audio_codec="pcm_s16le",
                                    video_codec="ffv1")
    summary = video_io.transcode(source, tmp_path / "out.mp4", _identity)
    assert summary.padded and (summary.source_width, summary.source_height) == (95, 63)
    written = video_clips.read_clip(tmp_path / "out.mp4")
    assert written.frames.shape == (6, 64, 96, 3) and written.rate == rate
    assert np.array_equal(written.frames[:, 63], written.frames[:, 62]) or \
        np.abs(written.frames[:, 63].astype(float) - written.frames[:, 62]).mean() < 4  # edge row
    original = video_clips.read_clip(source)
    assert summary.audio == "transcoded to aac" and written.audio_codec == "aac"
    # AAC adds its priming and pads to 1024-sample frames; the tone's length is kept.
    assert 0 <= written.audio_samples - original.audio_samples <= 2048


def test_rotation_metadata_is_applied(tmp_path, pan_frames):
    upright = pan_frames[:4]  # [T, 64, 96, 3]
    stored = np.ascontiguousarray(np.rot90(upright, -1, axes=(1, 2)))  # turned clockwise: 96 x 64
    source = video_clips.write_clip(tmp_path / "in.mp4", stored, rotation=90, audio_codec=None)
    info = video_io.probe(source)
    assert (info.width, info.height, info.rotation, info.audio_codec) == (96, 64, 90, None)
    summary = video_io.transcode(source, tmp_path / "out.mp4", _identity)
    assert (summary.width, summary.height, summary.audio) == (96, 64, "none")
    written = video_clips.read_clip(tmp_path / "out.mp4")
    assert written.frames.shape == (4, 64, 96, 3)
    assert np.abs(written.frames.astype(float) - upright).mean() < 4


def _zero_frames(path):
    with av.open(str(path), "w") as output:
        stream = output.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        output.start_encoding()
    return path


def _audio_only(path):
    with av.open(str(path), "w") as output:
        stream = output.add_stream("pcm_s16le", rate=8000, layout="mono")
        frame = av.AudioFrame.from_ndarray(video_clips.sine_tone(0.2, 8000), format="s16",
                                           layout="mono")
        frame.sample_rate, frame.pts = 8000, 0
        output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return path


def _damaged(path, pan_frames):
    """A valid MP4 container whose H.264 data is replaced by noise."""
    clip = np.concatenate([pan_frames] * 3)
    video_clips.write_clip(path, clip, audio_codec=None)
    data = bytearray(path.read_bytes())
    start = data.find(b"mdat") + 44
    data[start:start + len(data) // 2] = np.random.default_rng(0).integers(
        0, 256, len(data) // 2, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("kind, message", [
    ("text", "not a video FFmpeg can read"),
    ("audio_only", "not a video (no video stream)"),
    ("zero_frames_mkv", "no video frames"),
    ("zero_frames_mp4", "not a video (no video stream)"),
    ("damaged", "unreadable video stream after 0 frames"),
    ("missing", "no such file"),
    ("directory", "is a directory"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, pan_frames, kind, message):
    folder = tmp_path / "in"
    folder.mkdir()
    path = {
        "text": lambda: folder / "notes.mp4",
        "audio_only": lambda: _audio_only(folder / "tone.wav"),
        "zero_frames_mkv": lambda: _zero_frames(folder / "empty.mkv"),
        "zero_frames_mp4": lambda: _zero_frames(folder / "empty.mp4"),
        "damaged": lambda: _damaged(folder / "damaged.mp4", pan_frames),
        "missing": lambda: folder / "missing.mp4",
        "directory": lambda: folder,
    }[kind]()
    if kind == "text":
        path.write_text("hello, not a video\n")
    with pytest.raises(video_io.VideoError) as raised:
        video_io.transcode(path, tmp_path / "out.mp4", _identity)
    assert isinstance(raised.value, MagentaStyleError)
    assert str(path) in str(raised.value) and message in str(raised.value)
    assert "\n" not in str(raised.value)
    assert not os.path.exists(tmp_path / "out.mp4") and _no_temporaries(tmp_path)


def test_existing_output_is_kept_without_overwrite(tmp_path, pan_frames):
    source = video_clips.write_clip(tmp_path / "in.mp4", pan_frames[:3], audio_codec=None)
    output = tmp_path / "out.mp4"
    output.write_bytes(b"keep me")
    with pytest.raises(OutputExistsError, match="already exists"):
        video_io.transcode(source, output, _identity)
    assert output.read_bytes() == b"keep me"
    video_io.transcode(source, output, _identity, overwrite=True)
    assert video_clips.read_clip(output).frames.shape[0] == 3


def test_frames_in_batches_equal_single_image_stylization(model, bottleneck, pan_frames):
    frames = pan_frames[:7]
    out = list(video.stylize_video(TFEngine(model, tile_size=0), iter(frames), bottleneck, batch_size=3,
                                   stabilization="none"))
    expected = model.stylize(tf.constant(frames.astype(np.float32) / 255.0),
                             tf.repeat(bottleneck, 7, axis=0)).numpy()
    assert len(out) == 7 and out[0].dtype == np.uint8 and out[0].shape == (64, 96, 3)
    assert np.abs(np.stack(out) / 255.0 - expected).max() <= 1.0 / 255 + 1e-5


def test_interpolation_weight_zero_is_the_first_frames_own_style(model, bottleneck, pan_frames):
    frames = pan_frames[:3]
    out = list(video.stylize_video(TFEngine(model, tile_size=0), iter(frames), bottleneck, interpolation_weight=0.0,
                                   style_image_size=48, stabilization="none"))
    identity = model.identity_bottleneck(tf.constant(np.float32(frames[0][None]) / 255), 48)
    expected = model.stylize(tf.constant(frames.astype(np.float32) / 255.0),
                             tf.repeat(identity, 3, axis=0)).numpy()
    assert np.abs(np.stack(out) / 255.0 - expected).max() <= 1.0 / 255 + 1e-5


def test_flow_stabilization_halves_the_warping_error_of_a_pan(model, bottleneck, photo):
    pan = video_clips.Pan(SIZE, 10, step=3)
    frames = (pan.render(photo) * 255 + 0.5).astype(np.uint8)

    def error(**options):
        return video_clips.warping_error(
            list(video.stylize_video(TFEngine(model, tile_size=0), iter(frames), bottleneck, **options)), pan)

    per_frame = error(stabilization="none")
    assert per_frame > 0  # the network is not shift-invariant: a plain pan flickers
    assert error(stabilization="flow") <= 0.5 * per_frame
    assert error(stabilization="flow", stabilization_strength=0.0) == pytest.approx(per_frame)


def test_stabilizer_ignores_what_the_flow_cannot_explain(photo):
    """A cut to another picture: nothing of the previous output is blended in."""
    stabilizer = video.FlowStabilizer(strength=0.9)
    first, cut = photo[:64, :96], photo[300:364, 300:396]
    stabilizer(first, np.zeros_like(first))
    stylized = np.full_like(cut, 0.5)
    assert np.abs(stabilizer(cut, stylized) - stylized).mean() < 0.02


def test_stylize_video_file_reports_progress_and_keeps_the_audio(tmp_path, model, bottleneck,
                                                                  pan_frames):
    source = video_clips.write_clip(tmp_path / "in.mp4", pan_frames, rate=25, audio_codec="aac")
    lines = io.StringIO()
    summary = video.stylize_video_file(TFEngine(model, tile_size=0), source, tmp_path / "out.mp4", bottleneck,
                                       stream=lines, batch_size=4)
    written = video_clips.read_clip(tmp_path / "out.mp4")
    assert summary.frames == 10 and written.frames.shape == (10, 64, 96, 3) and written.rate == 25
    assert written.audio_packets == video_clips.read_clip(source).audio_packets
    text = lines.getvalue()
    assert "stylize-video: 10/10 frames" in text and "frames/s" in text and "ETA" in text
    assert "audio copied" in text
