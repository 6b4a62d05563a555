"""Stylizers whose pictures depend on their content and style, for tests of stylization behaviour.

A freshly built mobile Stylizer paints a constant picture whatever the style (its initializers
give a bottleneck of ~1e-11 and a flat output), and a fresh full one a near-binary picture (its
sigmoid saturates), so a test comparing two of their pictures passes whether the behaviour works
or not. `randomize_weights` is the tests' one weight randomizer: the realistic recipe of the
Magenta parity harness (tests/reference/reference_job.random_tf1_value), set through the TF1
name table. `random_stylizer` redraws every weight, predictor included, and checks the result
with `assert_depends_on_style`, the guard a model passes before its pictures are compared.
"""
import numpy as np
import tensorflow as tf

from magenta_style.nets.stylizer import build_stylizer, model_type_of
from tests.helpers.fake_data import random_image
from tests.helpers.tf1_checkpoint import tf1_variables
from tests.reference.reference_job import random_tf1_value, randomize

# The guard's inputs and bounds. Measured on the guard's inputs:
#                                    output std   mean |style a - style b|   saturated pixels
#   random_stylizer("mobile", 0)       0.29         0.11                      0.6 %
#   random_stylizer("full", 0..2)      0.20-0.22    0.011-0.020               0-0.007 %
#   fresh build_stylizer("mobile")     0.0          0.0                       0
#   fresh build_stylizer("full")       0.46         0.046                     76 %
#   full, N(0, 0.05) trainable weights 0.016        6.6e-5                    0
# (saturated: within 0.01 of 0 or 1, where a sigmoid output hides any difference).
GUARD_CONTENT_SIZE = (64, 80)
GUARD_STYLE_SIZE = (96, 64)
MIN_OUTPUT_STD = 0.1
MIN_STYLE_DIFFERENCE = 0.005
MAX_SATURATED = 0.1
# TF1 name prefix of the transfer network's own weights (not the style-parameter head's).
TRANSFER_SCOPE = "transformer/"


def guard_inputs():
    """(content [1, 64, 80, 3], two different styles [1, 96, 64, 3]) as float32 in [0, 1]."""
    def image(size, seed):
        return tf.constant(random_image(*size, seed=seed)[None] / 255.0, tf.float32)
    return (image(GUARD_CONTENT_SIZE, 1), image(GUARD_STYLE_SIZE, 2),
            image(GUARD_STYLE_SIZE, 3))


def style_dependence(model):
    """(output std, mean |difference| between the pictures of two different styles, fraction of
    saturated pixels)."""
    content, style_a, style_b = guard_inputs()
    first = model((content, style_a)).numpy()
    second = model((content, style_b)).numpy()
    saturated = float(np.mean((first < 0.01) | (first > 0.99)))
    return float(first.std()), float(np.abs(first - second).mean()), saturated


def assert_depends_on_style(model):
    """Fails unless the model's picture has a spread, is not near-binary and changes with the
    style."""
    spread, difference, saturated = style_dependence(model)
    if spread < MIN_OUTPUT_STD or difference < MIN_STYLE_DIFFERENCE or saturated > MAX_SATURATED:
        raise AssertionError(
            f"model output std {spread:.3g} (need >= {MIN_OUTPUT_STD}), mean difference "
            f"between two styles {difference:.3g} (need >= {MIN_STYLE_DIFFERENCE}), saturated "
            f"pixels {saturated:.3g} (need <= {MAX_SATURATED}): its pictures cannot show "
            "whether stylization works")
    return model


def randomize_weights(model, seed=0, scope=""):
    """Redraws, in place, every weight of a Stylizer whose TF1 name starts with `scope` (all of
    them by default; TRANSFER_SCOPE: the transfer network only), seeded. Returns
    {TF1 name: the float32 array assigned}."""
    pairs = [(name, variable) for name, variable in tf1_variables(model, model_type_of(model))
             if name.startswith(scope)]
    if not pairs:
        raise ValueError(f"no weight under {scope!r}")
    return randomize(pairs, seed)


def random_arrays(named_shapes, seed=0):
    """{TF1 name: float32 array} drawn as randomize_weights draws them, assigned to nothing:
    the contents of a checkpoint to write. named_shapes: [(TF1 name, shape)]."""
    rng = np.random.default_rng(seed)
    return {name: random_tf1_value(name, shape, rng).astype(np.float32)
            for name, shape in named_shapes}


def random_stylizer(model_type="mobile", seed=0, alpha=None):
    """A Stylizer with every weight redrawn at realistic scales (seeded), checked by the guard."""
    model = build_stylizer(model_type, alpha=alpha)
    randomize_weights(model, seed)
    return assert_depends_on_style(model)
