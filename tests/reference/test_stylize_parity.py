"""Stylized images and bottlenecks equal Magenta's own inference graphs at every size.

Magenta runs its transfer network on the content as it is: for H x W content its output is
4 * ceil(ceil(H / 2) / 2) high (227 -> 228) and as wide; ours is that output cropped top-left to
H x W (SPEC 7). Bounds: ~3x the max abs difference measured on images in [0, 1] (float32
differences in the order of operations, 8e-6 to 3.2e-5 from 30 px up; with and without oneDNN,
TensorFlow 2.x on x86-64); any difference in padding, geometry or weight layout is >= 1e-2.
"""
import numpy as np
import pytest

from tests.reference.conftest import FULL_CONTENT_SIZES, MOBILE_CONTENT_SIZES, MOBILE_ODD_STYLE_SIZES

# Max abs vs Magenta's picture, per model (measured: full 9.7e-6 at every size from 30 px,
# mobile 3.2e-5 at every size, 5 x 6 included).
IMAGE_TOLERANCE = {"stylize_full": 3e-5, "stylize_mobile": 1e-4}
# Small content leaves contract/conv3 with 3 x 3 (9 x 11) or 2 x 2 (5 x 6) values: the residual
# blocks' instance norms then divide by the variance of a few numbers, which amplifies float32
# noise (a 1e-6 change of the input moves our own output by 3e-4 at 5 x 6, by 3e-5 at 64 x 64).
# Measured on the full model: 2.2e-5 at 9 x 11, 9.1e-5 at 5 x 6.
SMALL_IMAGE_TOLERANCE = {("stylize_full", (9, 11)): 7e-5, ("stylize_full", (5, 6)): 3e-4}
# Bottleneck max abs relative to its largest value (measured: full 5.7e-7 of 1.1, mobile
# 3.3e-5 of 9.5, the odd style sizes 3.5e-5 of 10.2).
BOTTLENECK_TOLERANCE = {"stylize_full": 1.5e-6, "stylize_mobile": 1e-5}


def magenta_size(size):
    return 4 * -(-(-(-size // 2)) // 2)


def _check(reference, model, task, index, content_key, style_key):
    reference.reset()
    expected = reference.task(task)
    content = reference.inputs[content_key][None]
    style = reference.inputs[style_key][None]
    height, width = content.shape[1:3]
    magenta_image = expected[f"stylized/{index}"]
    assert magenta_image.shape == (magenta_size(height), magenta_size(width), 3)
    assert magenta_image.std() > 0.02, "random weights gave a flat image: the test would be blind"

    bottleneck = model.style_bottleneck(style).numpy()[0]
    magenta_bottleneck = expected[f"bottleneck/{index}"]
    scale = float(np.abs(magenta_bottleneck).max())
    np.testing.assert_allclose(bottleneck, magenta_bottleneck, rtol=0,
                               atol=BOTTLENECK_TOLERANCE[task] * scale)

    stylized = model((content, style)).numpy()[0]
    assert stylized.shape == (height, width, 3)
    difference = np.abs(stylized - magenta_image[:height, :width])
    tolerance = SMALL_IMAGE_TOLERANCE.get((task, (height, width)), IMAGE_TOLERANCE[task])
    assert difference.max() <= tolerance, (
        f"{height}x{width}: max abs {difference.max():.2e} vs Magenta, worst at "
        f"{np.unravel_index(difference.argmax(), difference.shape)}")


@pytest.mark.parametrize("index,size", list(enumerate(FULL_CONTENT_SIZES)), ids=str)
def test_full_model_equals_magenta_cropped(reference, index, size):
    _check(reference, reference.full, "stylize_full", index, f"content_{size[0]}x{size[1]}",
           "style_full")


@pytest.mark.parametrize("index,size", list(enumerate(MOBILE_CONTENT_SIZES)), ids=str)
def test_mobile_model_equals_magenta_cropped(reference, index, size):
    _check(reference, reference.mobile, "stylize_mobile", index, f"content_{size[0]}x{size[1]}",
           "style_mobile")


@pytest.mark.parametrize("index,size", list(enumerate(MOBILE_ODD_STYLE_SIZES)), ids=str)
def test_mobile_predictor_odd_style_sizes(reference, index, size):
    """Style sizes whose halvings hit an odd size on the way to 1/32 (e.g. 80 -> 5 -> 3)."""
    expected = reference.task("stylize_mobile_odd_style")[f"bottleneck/{index}"]
    style = reference.inputs[f"style_mobile_{size[0]}x{size[1]}"][None]
    bottleneck = reference.mobile.style_bottleneck(style).numpy()[0]
    scale = float(np.abs(expected).max())
    np.testing.assert_allclose(bottleneck, expected, rtol=0,
                               atol=BOTTLENECK_TOLERANCE["stylize_mobile"] * scale)
