"""The guard of tests/helpers/models.py sees a model whose pictures ignore the style."""
import keras
import pytest

from magenta_style.nets.stylizer import build_stylizer
from tests.helpers.models import (MAX_SATURATED, MIN_OUTPUT_STD, MIN_STYLE_DIFFERENCE,
                                  assert_depends_on_style, style_dependence)


def test_the_shared_model_passes_the_guard_with_a_margin(stylizer_model):
    spread, difference, saturated = style_dependence(stylizer_model)
    assert spread > 2 * MIN_OUTPUT_STD and difference > 2 * MIN_STYLE_DIFFERENCE
    assert saturated < MAX_SATURATED / 2


def test_a_freshly_built_model_fails_the_guard():
    keras.utils.set_random_seed(0)
    mobile, full = build_stylizer("mobile"), build_stylizer("full")
    # Mobile: a flat picture whatever the style (measured std 0.0, difference 0.0).
    spread, difference, _ = style_dependence(mobile)
    assert spread < MIN_OUTPUT_STD / 10 and difference < MIN_STYLE_DIFFERENCE / 10
    # Full: a near-binary picture, which only the saturation bound sees (measured 53-76 %).
    spread, difference, saturated = style_dependence(full)
    assert spread > MIN_OUTPUT_STD and difference > MIN_STYLE_DIFFERENCE
    assert saturated > 3 * MAX_SATURATED
    for model in (mobile, full):
        with pytest.raises(AssertionError, match="cannot show whether stylization works"):
            assert_depends_on_style(model)
