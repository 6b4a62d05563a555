"""The folded style predictor computes what the Keras style predictor computes."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from magenta_style.inference.fast_predictor import fast_style_bottleneck
from magenta_style.nets.stylizer import build_stylizer, model_type_of
from tests.helpers.models import random_stylizer

# Max abs difference relative to the largest bottleneck value. Measured on random_stylizer(seed=1)
# at both shapes: mobile 5.3e-6 (values up to 9.2), full 1.2e-6 (up to 1.2).
RELATIVE_TOLERANCE = {"mobile": 1.6e-5, "full": 3.6e-6}


@pytest.fixture(scope="module", params=["mobile", "full"])
def model(request):
    """Every weight random (BatchNorm statistics and gamma too, so that folding them is not the
    identity), and pictures that depend on the style (the guard)."""
    return random_stylizer(request.param, seed=1)


@pytest.mark.parametrize("shape", [(1, 64, 64, 3), (2, 45, 71, 3)])
def test_fast_predictor_equals_keras(model, shape):
    style = tf.constant(np.random.default_rng(2).random(shape, dtype=np.float32))
    reference = model.style_bottleneck(style).numpy()
    out = fast_style_bottleneck(model)(style).numpy()
    assert out.shape == (shape[0], model.bottleneck_dim)
    assert reference.std() > 0.1  # measured 0.44 (full) - 2.9 (mobile)
    if shape[0] == 2:  # two styles, two bottlenecks (measured mean difference 0.026, 0.56)
        assert np.abs(reference[0] - reference[1]).mean() > 0.005
    scale = RELATIVE_TOLERANCE[model_type_of(model)] * np.abs(reference).max()
    np.testing.assert_allclose(out, reference, rtol=0, atol=scale)


def test_every_batch_norm_is_folded(model):
    graph = fast_style_bottleneck(model).get_concrete_function().graph
    ops = {op.type for op in graph.get_operations()}
    assert not {op for op in ops if "BatchNorm" in op}, ops
    assert "Conv2D" in ops


def test_same_paddings_become_the_convolutions_own():
    """MobileNetV2's four SamePadding2D before stride-2 depthwise convs leave no Pad op (the
    odd-size case of test_fast_predictor_equals_keras checks the zeros sit where SAME puts them)."""
    keras.utils.set_random_seed(0)
    model = build_stylizer("mobile")
    assert sum(type(layer).__name__ == "SamePadding2D"
               for layer in model.style_predictor.get_layer("MobilenetV2").layers) == 4
    graph = fast_style_bottleneck(model).get_concrete_function().graph
    assert not [op.name for op in graph.get_operations() if op.type in ("Pad", "PadV2")]
