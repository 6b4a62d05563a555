"""The folded style predictor computes what the Keras style predictor computes."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from magenta_style.inference.fast_predictor import fast_style_bottleneck
from magenta_style.nets.stylizer import build_stylizer


def _random_batch_norm_statistics(model, seed):
    """Gives every BatchNorm of the predictor random moving statistics, gamma and beta, so
    that folding them is not the identity (fresh models have mean 0, variance 1)."""
    rng = np.random.default_rng(seed)
    for weight in model.style_predictor.weights:
        name = weight.path.rsplit("/", 1)[-1]
        shape = tuple(weight.shape)
        if name == "moving_variance":
            weight.assign(rng.uniform(0.3, 2.0, shape).astype(np.float32))
        elif name in ("moving_mean", "beta"):
            weight.assign(rng.normal(0.0, 0.3, shape).astype(np.float32))
        elif name == "gamma":
            weight.assign(rng.uniform(0.5, 1.5, shape).astype(np.float32))
    return model


@pytest.fixture(scope="module", params=["mobile", "full"])
def model(request):
    keras.utils.set_random_seed(0)
    return _random_batch_norm_statistics(build_stylizer(request.param), seed=1)


@pytest.mark.parametrize("shape", [(1, 64, 64, 3), (2, 45, 71, 3)])
def test_fast_predictor_equals_keras(model, shape):
    style = tf.constant(np.random.default_rng(2).random(shape, dtype=np.float32))
    reference = model.style_bottleneck(style).numpy()
    out = fast_style_bottleneck(model)(style).numpy()
    assert out.shape == (shape[0], model.bottleneck_dim)
    assert reference.std() > 1e-2
    np.testing.assert_allclose(out, reference, atol=1e-4 * np.abs(reference).max())


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
