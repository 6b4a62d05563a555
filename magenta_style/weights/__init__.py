"""Weights in every form they come in: `load_model(spec)` and its readers, one module per source."""
from magenta_style.errors import ModelSpecError
from magenta_style.weights.pretrained import PRETRAINED_MOBILE
from magenta_style.weights.specs import load_model

__all__ = ["PRETRAINED_MOBILE", "ModelSpecError", "load_model"]
