"""magenta-stylize-video end to end, in subprocesses (its flags share names with magenta-stylize's):
a generated clip with audio comes out as an MP4 of the same frames, size, rate and audio;
bad inputs and an existing output are one line and exit 1."""
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from magenta_style import defaults, gallery
from magenta_style.image_io import load_prepared
from tests.helpers import video_clips

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _errors(result):
    """stderr lines of the CLI's own errors (TF's C++ logging writes there too)."""
    return [line for line in result.stderr.splitlines() if ": error: " in line]


def _run(*args):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "magenta_style.cli.stylize_video", *args],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def files(stylizer_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("video_cli")
    model = folder / "mobile.keras"
    stylizer_model.save(str(model))
    photo = video_clips.astronaut()
    Image.fromarray((photo[::8, ::8] * 255).astype(np.uint8)).save(folder / "style.png")
    frames = video_clips.Zoom((48, 64), 8).render(photo)
    video_clips.write_clip(folder / "clip.mp4", frames, rate=24, audio_codec="aac")
    (folder / "notes.mp4").write_text("not a video")
    return folder


def _block_means(frames):
    """[N, H, W, 3] uint8 -> float [N, H / 8, W / 8, 3]: what H.264 (yuv420p) keeps of a
    picture with pixel-level detail."""
    n, height, width, _ = frames.shape
    blocks = frames.astype(np.float32).reshape(n, height // 8, 8, width // 8, 8, 3) / 255.0
    return blocks.mean(axis=(2, 4))


@pytest.mark.slow
def test_clip_with_audio_comes_out_alike_then_is_not_overwritten(files, stylizer_model,
                                                                 tmp_path):
    out = tmp_path / "stylized.mp4"
    args = [f"--input_video={files / 'clip.mp4'}", f"--output_video={out}",
            f"--style_images_paths={files / 'style.png'}", f"--model={files / 'mobile.keras'}",
            "--batch_size=3", "--stabilization=none"]
    result = _run(*args)
    assert result.returncode == 0, result.stderr
    source, written = video_clips.read_clip(files / "clip.mp4"), video_clips.read_clip(out)
    assert written.frames.shape == source.frames.shape == (8, 48, 64, 3)
    assert written.rate == source.rate == 24 and written.video_codec == "h264"
    assert written.audio_codec == "aac" and written.audio_packets == source.audio_packets
    assert "stylize-video: 8/8 frames" in result.stdout and "ETA" in result.stdout
    # Each frame is the picture that stylizing the decoded source frame alone gives, as far as
    # H.264 keeps it (8 x 8 block means; unstabilized here: flow stabilization blends in the
    # previous output, tests/inference/test_video.py). Measured: mean |difference| 0.007-0.009
    # on every frame; another (gallery) style's pictures 0.024-0.029, the unstylized frames 0.38.
    style = load_prepared(str(files / "style.png"), defaults.STYLE_IMAGE_SIZE, False)
    content = tf.constant(source.frames.astype(np.float32) / 255.0)

    def stylized(style_image):
        bottleneck = stylizer_model.style_bottleneck(tf.constant(style_image[None]))
        pictures = stylizer_model.stylize(content, tf.repeat(bottleneck, len(source.frames), 0))
        return _block_means(np.round(pictures.numpy() * 255.0).astype(np.uint8))

    def distance(expected):
        return np.abs(_block_means(written.frames) - expected).mean(axis=(1, 2, 3))
    difference = distance(stylized(style))
    # Every frame, not only the first, is nearer its own style than another style's picture.
    to_other = distance(stylized(load_prepared(gallery.path_of("brick"),
                                               defaults.STYLE_IMAGE_SIZE, False)))
    assert difference.max() <= 0.02, difference
    assert (difference < 0.5 * to_other).all(), (difference, to_other)
    assert np.abs(_block_means(written.frames) - _block_means(source.frames)).mean() > 0.2

    before = os.path.getmtime(out)
    again = _run(*args)
    assert again.returncode == 1
    assert _errors(again) == [
        f"stylize_video.py: error: {out}: already exists (use --overwrite to replace it)"]
    assert os.path.getmtime(out) == before


def test_not_a_video_is_one_line(files, tmp_path):
    result = _run(f"--input_video={files / 'notes.mp4'}", f"--output_video={tmp_path / 'o.mp4'}",
                  f"--style_images_paths={files / 'style.png'}")
    assert result.returncode == 1
    lines = _errors(result)
    assert len(lines) == 1 and "notes.mp4: not a video FFmpeg can read" in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not os.listdir(tmp_path)
