"""The guard of tests/helpers/models.py sees a model whose pictures ignore the style."""
import pytest

from magenta_style.nets.stylizer import build_stylizer
from tests.helpers.models import (MIN_OUTPUT_STD, MIN_STYLE_DIFFERENCE, assert_depends_on_style,
                                  style_dependence)


def test_the_shared_model_passes_the_guard_with_a_margin(stylizer_model):
    spread, difference = style_dependence(stylizer_model)
    assert spread > 2 * MIN_OUTPUT_STD and difference > 2 * MIN_STYLE_DIFFERENCE


def test_a_freshly_built_model_fails_the_guard():
    with pytest.raises(AssertionError, match="cannot show whether stylization works"):
        assert_depends_on_style(build_stylizer("mobile"))
