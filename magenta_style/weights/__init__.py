"""Weights in every form they come in: `load_model(spec)` and its readers, one module per source.

`load_model` loads on first use (PEP 562): importing `magenta_style.weights.pretrained` (its
cache directory, for the LiteRT engine's files) imports no TensorFlow.
"""
from magenta_style.defaults import PRETRAINED_MOBILE
from magenta_style.errors import ModelSpecError

__all__ = ["PRETRAINED_MOBILE", "ModelSpecError", "load_model"]


def __getattr__(name):
    if name == "load_model":
        from magenta_style.weights.specs import load_model  # pylint: disable=import-outside-toplevel

        return load_model
    raise AttributeError(f"module 'magenta_style.weights' has no attribute {name!r}")
