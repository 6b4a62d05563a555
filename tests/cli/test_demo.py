"""`make demo` (cli/demo.py) on its real path: the installed script with the released mobile
model stylizes scikit-image's photos, and every picture it writes is stylized."""
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from magenta_style.cli import samples
from tests import ROOT
from tests.helpers.optional import require


def _read(path):
    with Image.open(path) as image:
        return np.asarray(image, np.float32) / 255.0


@pytest.fixture(scope="module")
def demo(pretrained_cache, tmp_path_factory):
    require("skimage")
    out = tmp_path_factory.mktemp("demo") / "demo_output"
    script = os.path.join(os.path.dirname(sys.executable), "magenta-stylize-demo")
    env = dict(os.environ)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as a user runs it: native notices kept quiet
    result = subprocess.run([script, f"--output_dir={out}"], cwd=ROOT, capture_output=True,
                            text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return out, result


def test_demo_writes_every_picture_at_full_resolution(demo):
    out, result = demo
    assert f"demo written to {out}/" in result.stdout and result.stderr.strip() == ""
    contents = [os.path.splitext(name)[0] for name in samples.CONTENTS]
    styles = [os.path.splitext(name)[0] for name in samples.STYLES]
    expected = {f"{c}_stylized_{s}_0.png" for c in contents for s in styles}
    pictures = {"stylized_grid.png", "interpolation_strip.png", "blend_grid.png"}
    assert set(os.listdir(out)) == expected | pictures | {"interpolation", "blend"}
    assert sorted(os.listdir(out / "interpolation")) == [f"chelsea_stylized_hubble_deep_field_{i}.png"
                                                         for i in range(5)]
    assert os.listdir(out / "blend") == ["coffee_stylized_blend_0.png"]
    for content in samples.CONTENTS:
        photo = samples.load_rgb(content)
        stylized = _read(out / f"{os.path.splitext(content)[0]}_stylized_gravel_0.png")
        assert stylized.shape == photo.shape  # --image_size=0: the photo's own size


def test_demo_pictures_are_stylized_by_their_style_and_strength(demo):
    out, _ = demo
    chelsea = samples.load_rgb("chelsea.png").astype(np.float32) / 255.0
    by_style = {s: _read(out / f"chelsea_stylized_{os.path.splitext(s)[0]}_0.png")
                for s in samples.STYLES}
    pictures = list(by_style.values())
    for picture in pictures:  # far from the photo, and from each other
        assert np.mean(np.abs(picture - chelsea)) > 0.08
    for i in range(len(pictures)):
        for j in range(i):
            assert np.mean(np.abs(pictures[i] - pictures[j])) > 0.05
    strip = [_read(out / "interpolation" / f"chelsea_stylized_hubble_deep_field_{i}.png")
             for i in range(5)]
    # Strength 1 is the plain picture of that style; strength 0 the photo's own style, nearer the
    # photo; each step moves the picture.
    np.testing.assert_array_equal(strip[4], by_style["hubble_deep_field.jpg"])
    assert np.mean(np.abs(strip[0] - chelsea)) < np.mean(np.abs(strip[4] - chelsea))
    assert all(np.mean(np.abs(a - b)) > 0.01 for a, b in zip(strip, strip[1:]))
    blend = _read(out / "blend" / "coffee_stylized_blend_0.png")
    singles = [_read(out / f"coffee_stylized_{os.path.splitext(s)[0]}_0.png")
               for s in samples.STYLES[:2]]
    assert min(np.mean(np.abs(blend - single)) for single in singles) > 0.02
