"""Stylizers whose pictures depend on their content and style, for tests of stylization behaviour.

A freshly built Stylizer paints a constant picture whatever the style (its initializers give a
bottleneck of ~1e-11 and a flat output), so a test comparing two of its pictures passes whether
the behaviour works or not. `random_stylizer` redraws every weight, predictor included, with the
realistic recipe of the Magenta parity harness (tests/reference/reference_job.random_tf1_value,
set through the TF1 name table) and checks the result with `assert_depends_on_style`.
"""
import numpy as np
import tensorflow as tf

from magenta_style.nets.stylizer import build_stylizer
from tests.fake_data import random_image
from tests.reference.reference_job import randomize
from tests.tf1_checkpoint import tf1_variables

# The guard's inputs and bounds. Measured on random_stylizer("mobile", seed=0): output std 0.29,
# mean |difference| between two styles 0.11; a fresh build_stylizer("mobile"): 0.0 and 0.0.
GUARD_CONTENT_SIZE = (64, 80)
GUARD_STYLE_SIZE = (96, 64)
MIN_OUTPUT_STD = 0.1
MIN_STYLE_DIFFERENCE = 0.03


def guard_inputs():
    """(content [1, 64, 80, 3], two different styles [1, 96, 64, 3]) as float32 in [0, 1]."""
    def image(size, seed):
        return tf.constant(random_image(*size, seed=seed)[None] / 255.0, tf.float32)
    return (image(GUARD_CONTENT_SIZE, 1), image(GUARD_STYLE_SIZE, 2),
            image(GUARD_STYLE_SIZE, 3))


def style_dependence(model):
    """(output std, mean |difference| between the pictures of two different styles)."""
    content, style_a, style_b = guard_inputs()
    first = model((content, style_a)).numpy()
    second = model((content, style_b)).numpy()
    return float(first.std()), float(np.abs(first - second).mean())


def assert_depends_on_style(model):
    """Fails unless the model's picture has a spread and changes with the style."""
    spread, difference = style_dependence(model)
    if spread < MIN_OUTPUT_STD or difference < MIN_STYLE_DIFFERENCE:
        raise AssertionError(
            f"model output std {spread:.3g} (need >= {MIN_OUTPUT_STD}), mean difference "
            f"between two styles {difference:.3g} (need >= {MIN_STYLE_DIFFERENCE}): its "
            "pictures cannot show whether stylization works")
    return model


def random_stylizer(model_type="mobile", seed=0, alpha=None):
    """A Stylizer with every weight redrawn at realistic scales (seeded), checked by the guard."""
    model = build_stylizer(model_type, alpha=alpha)
    randomize(tf1_variables(model, model_type), seed)
    return assert_depends_on_style(model)
