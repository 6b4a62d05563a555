"""The stylize command end to end on tiny images, including bad files, and preserve_colors."""
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from absl import flags
from absl.testing import flagsaver
from PIL import Image

from magenta_style import blend_bottlenecks
from magenta_style.cli import stylize
from magenta_style.errors import MagentaStyleError
from magenta_style.image_io import load_prepared
from magenta_style.inference import color
from magenta_style.inference.image_files import stylize_images
from magenta_style.inference.tf_engine import TFEngine
from tests import ROOT
from tests.helpers.optional import require


@pytest.fixture(scope="module")
def model(stylizer_model):
    """Realistic random weights everywhere: its pictures depend on content and style."""
    return stylizer_model


@pytest.fixture(scope="module")
def engine(model):
    return TFEngine(model)


@pytest.fixture(scope="module")
def model_file(model, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("model") / "mobile.keras")
    model.save(path)
    return path


def _photo(height, width, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x / width, y / height, 0.5 + 0.5 * np.sin(x / 5.0)], -1)
    return (np.clip(base + rng.normal(0, 0.05, base.shape), 0, 1) * 255).astype(np.uint8)


@pytest.fixture()
def inputs(tmp_path):
    """Content images of every awkward kind, two styles."""
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(_photo(40, 52, 0)).save(folder / "plain.png")
    Image.fromarray(_photo(36, 44, 1)).convert("CMYK").save(folder / "cmyk.jpg")
    sixteen = (_photo(32, 40, 2)[..., 0].astype(np.uint16) * 257)
    Image.fromarray(sixteen).save(folder / "sixteen.png")  # 16-bit grayscale
    rgba = np.dstack([_photo(34, 38, 3), np.full((34, 38), 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(folder / "alpha.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    (folder / "notes.png").write_text("hello")
    Image.fromarray(_photo(64, 64, 4)).save(folder / "style_a.png")
    Image.fromarray(_photo(70, 60, 5)).save(folder / "style_b.jpg")
    return folder


def _run(*args, env_extra=None):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "magenta_style.cli.stylize", *args], cwd=ROOT,
                          capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.slow
def test_cli_end_to_end_with_bad_files_then_refuses_to_overwrite(inputs, model_file, tmp_path):
    out = tmp_path / "out"
    args = [f"--content_images_paths={inputs}/*.png,{inputs}/*.jpg",
            f"--style_images_paths={inputs}/style_a.png", f"--output_dir={out}",
            f"--model={model_file}", "--grid"]
    result = _run(*args)
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert any("broken.jpg" in line for line in errors)
    assert any("notes.png: not an image file" in line for line in errors)
    assert "Traceback" not in result.stderr
    written = sorted(os.listdir(out))
    for name in ("plain", "cmyk", "sixteen", "alpha", "style_b"):
        assert f"{name}_stylized_style_a_0.png" in written
    assert "stylized_grid.png" in written
    with Image.open(out / "cmyk_stylized_style_a_0.png") as image:
        assert image.size == (44, 36) and image.mode == "RGB"  # full resolution: content's own size
    assert "stylize: 1/" in result.stdout and "images/s" in result.stdout and "ETA" in result.stdout

    before = {name: os.path.getmtime(out / name) for name in written}
    again = _run(*args)
    assert again.returncode == 1
    assert "plain_stylized_style_a_0.png: already exists (use --overwrite" in again.stderr
    assert {name: os.path.getmtime(out / name) for name in written} == before
    assert not [name for name in os.listdir(out) if name.startswith(".tmp")]


def test_interpolation_blend_and_sizes_match_the_model(model, engine, inputs, tmp_path):
    out = tmp_path / "out"
    styles = [str(inputs / "style_a.png"), str(inputs / "style_b.jpg")]
    written, failures = stylize_images(
        engine, [str(inputs / "plain.png")], styles, str(out), image_size=32, style_image_size=48,
        interpolation_weights=[0.0, 1.0], style_blend_weights=[0.25, 0.75])
    assert failures == 0
    assert [os.path.basename(p) for p in written] == ["plain_stylized_blend_0.png",
                                                      "plain_stylized_blend_1.png"]
    content = load_prepared(str(inputs / "plain.png"), 32, False)
    assert content.shape == (32, 42, 3)  # shorter side 32, aspect kept (52 * 32 / 40)
    bottlenecks = tf.concat([model.style_bottleneck(load_prepared(p, 48, False)[None])
                             for p in styles], 0)

    def stylized(weights):
        return model.stylize(tf.constant(content[None]),
                             blend_bottlenecks(bottlenecks, weights)).numpy()[0]

    got = _read(written[1])
    assert got.shape == (32, 42, 3)
    # PNG: rounding only (measured 0.002), while either style alone is 0.06-0.09 away on average.
    assert np.abs(got - stylized([0.25, 0.75])).max() <= 1.0 / 255 + 1e-6
    assert min(np.abs(got - stylized(w)).mean() for w in ([1.0, 0.0], [0.0, 1.0])) > 0.03

    written, _ = stylize_images(engine, [str(inputs / "plain.png")], styles[:1], str(out),
                                image_size=32, content_square_crop=True,
                                interpolation_weights=[0.0, 1.0], style_image_size=48)
    # The CLI's identity interpolation is the API's (one implementation, Magenta's preparation).
    square = load_prepared(str(inputs / "plain.png"), 32, True)
    style = load_prepared(styles[0], 48, False)
    expected = model.identity_interpolation(tf.constant(square[None]), tf.constant(style[None]),
                                            [0.0, 1.0], style_image_size=48).numpy()
    got = np.stack([_read(path) for path in written])
    assert got.shape == (2, 32, 32, 3)
    # PNG: rounding only (measured 0.002); the two weights' pictures differ by up to 0.7.
    assert np.abs(got - expected).max() <= 1.0 / 255 + 1e-6
    assert np.abs(got[0] - got[1]).max() > 0.3

    (jpeg,), _ = stylize_images(engine, [str(inputs / "plain.png")], styles[:1],
                                str(tmp_path / "jpg"), image_size=32, style_image_size=48,
                                output_format="jpg")
    with Image.open(jpeg) as image:  # pixels are checked above: JPEG's own error is ~0.05 here
        assert os.path.basename(jpeg) == "plain_stylized_style_a_0.jpg"
        assert image.format == "JPEG" and image.size == (42, 32)


def _read(path):
    with Image.open(path) as image:
        return np.asarray(image, np.float32) / 255.0


def test_preserve_colors_keeps_content_chroma():
    rng = np.random.default_rng(0)
    content = rng.uniform(0.3, 0.7, (8, 9, 3)).astype(np.float32)
    stylized = rng.uniform(0.3, 0.7, (8, 9, 3)).astype(np.float32)
    kept = color.preserve_colors(stylized, content)
    to_yiq = np.array([[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263],
                       [0.211456, -0.522591, 0.311135]])
    np.testing.assert_allclose(kept @ to_yiq[0], stylized @ to_yiq[0], atol=1e-5)  # luminance
    np.testing.assert_allclose(kept @ to_yiq[1:].T, content @ to_yiq[1:].T, atol=1e-5)  # chroma
    gray = np.repeat(content.mean(-1, keepdims=True), 3, -1)
    luminance = np.repeat((content @ to_yiq[0])[..., None], 3, -1)
    np.testing.assert_allclose(color.preserve_colors(content, gray), luminance, atol=1e-5)
    with pytest.raises(ValueError, match="shapes differ"):
        color.preserve_colors(stylized, content[:4])


@pytest.mark.parametrize("overrides, message", [
    ({"output_dir": None}, "--output_dir is required"),
    ({"content_images_paths": "/nonexistent/*.jpg"}, "matches no files"),
    ({"style_blend_weights": "[1,2,3]"}, "3 weights for 1 style images"),
    ({"interpolation_weights": "[0,x]"}, "expected numbers"),
    ({"model": "/nonexistent/model.keras"}, "file not found"),
])
def test_usage_errors_are_one_line(overrides, message, inputs, tmp_path):
    """main raises the project's error types, which cli/runner.py prints as one line, exit 1
    (tests/cli/test_messages.py runs the commands)."""
    flags.FLAGS.mark_as_parsed()
    settings = {"content_images_paths": str(inputs / "plain.png"),
                "style_images_paths": str(inputs / "style_a.png"), "output_dir": str(tmp_path),
                "model": "unused.keras", **overrides}
    with flagsaver.flagsaver(**settings), pytest.raises(MagentaStyleError) as raised:
        stylize.main(["stylize"])
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_demo_samples_ship_with_scikit_image():
    require("skimage")
    from magenta_style.cli import samples

    for name in samples.CONTENTS + samples.STYLES:
        assert os.path.isfile(samples.sample_path(name))
    with pytest.raises(FileNotFoundError, match="not shipped"):
        samples.sample_path("no_such_sample.png")


def test_too_large_and_too_small_images_are_reported_and_skipped(engine, inputs, tmp_path, monkeypatch, capsys):
    from magenta_style import image_io

    Image.fromarray(_photo(4, 30, 6)).save(inputs / "thin.png")
    Image.fromarray(_photo(80, 80, 7)).save(inputs / "huge.png")
    monkeypatch.setattr(image_io, "MAX_DECODE_PIXELS", 80 * 80 - 1)  # "huge" for this test
    written, failures = stylize_images(
        engine, [str(inputs / "huge.png"), str(inputs / "thin.png"), str(inputs / "alpha.png")],
        [str(inputs / "style_a.png")], str(tmp_path / "out"), style_image_size=32)
    assert failures == 2 and [os.path.basename(p) for p in written] == ["alpha_stylized_style_a_0.png"]
    err = capsys.readouterr().err
    assert "huge.png: image too large to decode (80x80 pixels)" in err
    assert "thin.png: image too small (30x4 pixels)" in err


def test_a_photo_past_100_megapixels_is_refused_at_its_own_size(engine, inputs, tmp_path, capsys):
    Image.new("L", (10_001, 10_000)).save(inputs / "past.png", optimize=True)  # a few 100 kB
    written, failures = stylize_images(engine, [str(inputs / "past.png")],
                                       [str(inputs / "style_a.png")], str(tmp_path / "out"),
                                       style_image_size=32)
    assert (written, failures) == ([], 1) and not (tmp_path / "out").exists()
    assert "past.png: image too large to decode (10001x10000 pixels)" in capsys.readouterr().err


def test_large_images_are_stylized_in_tiles_with_the_same_result(engine, inputs, tmp_path):
    import io

    outputs = {}
    for tile_size in (0, 16):  # never tile; tile the 40 x 52 image in 16 px tiles (> 4 x 16^2)
        stream = io.StringIO()
        written, failures = stylize_images(
            engine, [str(inputs / "plain.png")], [str(inputs / "style_a.png")],
            str(tmp_path / f"out{tile_size}"), style_image_size=32, tile_size=tile_size,
            stream=stream)
        assert failures == 0
        assert ("tiled 52x40:" in stream.getvalue()) == bool(tile_size)
        outputs[tile_size] = _read(written[0])
    assert outputs[16].shape == (40, 52, 3)
    assert outputs[0].std() > 0.1  # a picture with detail (measured std 0.26)
    # PNG rounding only: measured at most one level (1/255) apart.
    assert np.abs(outputs[16] - outputs[0]).max() <= 1.0 / 255 + 1e-6
