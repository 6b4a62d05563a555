"""Makes the checkout importable first, so tests run against this tree."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402  (after the path set-up above)


@pytest.fixture
def pretrained_cache(tmp_path_factory, monkeypatch):
    """$MAGENTA_STYLE_CACHE for the session: `pretrained:mobile` is converted once per session,
    not once per test. Under pytest-xdist the workers share it (their base temps' parent);
    concurrent conversions are safe, the cache file is written then renamed."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    cache = shared / "pretrained_cache"
    cache.mkdir(exist_ok=True)
    monkeypatch.setenv("MAGENTA_STYLE_CACHE", str(cache))
    return cache
