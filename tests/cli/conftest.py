"""The CLI tests' subprocesses cache models (the LiteRT engine's files) in a session temp dir."""
import os

import pytest

from magenta_style.weights.pretrained import CACHE_ENV


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory):
    """$MAGENTA_STYLE_CACHE for this session (inherited by the CLI subprocesses)."""
    saved = os.environ.get(CACHE_ENV)
    path = str(tmp_path_factory.mktemp("model_cache"))
    os.environ[CACHE_ENV] = path
    yield path
    if saved is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = saved
