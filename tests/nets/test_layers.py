import numpy as np
import pytest
import tensorflow as tf

from magenta_style.nets.layers import (
    ConditionalStyleNorm,
    CropLike,
    NearestUpsampling2D,
    PadToMultiple,
    ReflectionPadding2D,
    SamePadding2D,
)
from magenta_style.nets.vgg import VGGPreprocess
from tests.helpers.layer_testing import run_layer_test

RNG = np.random.RandomState(7)
IMAGE = RNG.rand(2, 6, 7, 3).astype(np.float32)  # distinct B, H, W, C


@pytest.mark.parametrize("layer_cls,init_kwargs,inputs,expected_shape,output_dtype", [
    (ReflectionPadding2D, {"padding": 2}, IMAGE, (2, 10, 11, 3), None),
    (ConditionalStyleNorm, {"epsilon": 1e-5},
     [IMAGE * 4 - 1, RNG.randn(2, 3).astype(np.float32), RNG.rand(2, 3).astype(np.float32)],
     (2, 6, 7, 3), None),
    (PadToMultiple, {"multiple": 4}, IMAGE, (2, 8, 8, 3), None),
    (SamePadding2D, {"kernel_size": 3, "stride": 2}, IMAGE, (2, 7, 9, 3), None),
    (NearestUpsampling2D, {"size": 2}, IMAGE, (2, 12, 14, 3), None),
    (CropLike, {}, [IMAGE, IMAGE[:, :5, :4, :1]], (2, 5, 4, 3), None),
    (VGGPreprocess, {}, IMAGE, (2, 6, 7, 3), "float32"),
])
def test_custom_layer_contract(layer_cls, init_kwargs, inputs, expected_shape, output_dtype):
    # VGGPreprocess works in the 0..255 range: compare its mixed output at that scale.
    atol = 1.0 if layer_cls is VGGPreprocess else 0.05
    # CropLike reads only the shape of its reference input.
    gradient_inputs = (0,) if layer_cls is CropLike else None
    run_layer_test(layer_cls, init_kwargs, inputs, expected_shape, output_dtype, atol,
                   gradient_inputs)


def test_reflection_padding_matches_numpy():
    x = np.random.RandomState(0).rand(2, 5, 7, 3).astype(np.float32)
    out = ReflectionPadding2D(2)(x).numpy()
    np.testing.assert_array_equal(out, np.pad(x, [(0, 0), (2, 2), (2, 2), (0, 0)], mode="reflect"))


def test_reflection_padding_rejects_negative():
    with pytest.raises(ValueError, match="padding must be >= 0"):
        ReflectionPadding2D(-1)


def test_conditional_style_norm_matches_numpy():
    rng = np.random.RandomState(1)
    x = rng.randn(2, 6, 5, 4).astype(np.float32) * 3 + 1
    beta, gamma = rng.randn(2, 4).astype(np.float32), rng.randn(2, 4).astype(np.float32)
    out = ConditionalStyleNorm()([x, beta, gamma]).numpy()
    mean = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)
    expected = gamma[:, None, None] * (x - mean) / np.sqrt(var + 1e-5) + beta[:, None, None]
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


def test_conditional_style_norm_computes_in_float64_under_a_float64_policy():
    # The float64 network is the reference that benchmarks/tiled.py measures float32 paths by.
    rng = np.random.RandomState(2)
    x = rng.randn(1, 7, 6, 3) * 1e-3 + 50.0  # float32 statistics lose ~5 digits here
    beta, gamma = rng.randn(1, 3), rng.randn(1, 3)
    out = ConditionalStyleNorm(dtype="float64")([x, beta, gamma]).numpy()
    mean, var = x.mean(axis=(1, 2), keepdims=True), x.var(axis=(1, 2), keepdims=True)
    expected = gamma[:, None, None] * (x - mean) / np.sqrt(var + 1e-5) + beta[:, None, None]
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("height,width", [(8, 8), (9, 13), (5, 6)])
def test_pad_to_multiple_then_crop_restores_size(height, width):
    x = tf.random.uniform([1, height, width, 2])
    padded = PadToMultiple(4)(x)
    assert padded.shape[1] % 4 == 0 and padded.shape[2] % 4 == 0
    assert padded.shape[1] - height < 4 and padded.shape[2] - width < 4
    np.testing.assert_array_equal(padded[:, :height, :width].numpy(), x.numpy())
    np.testing.assert_array_equal(CropLike()([padded, x]).numpy(), x.numpy())


@pytest.mark.parametrize("layer", [ReflectionPadding2D(3, name="p"), ConditionalStyleNorm(2e-5),
                                   PadToMultiple(8)])
def test_config_round_trip(layer):
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_shape_changing_layers_keep_static_channels_with_unknown_sizes():
    from magenta_style.nets.layers import NearestUpsampling2D

    @tf.function(input_signature=[tf.TensorSpec([1, None, None, 5])])
    def shapes(x):
        padded = PadToMultiple(4)(x)
        upsampled = NearestUpsampling2D(2)(x)
        assert padded.shape[-1] == 5 and upsampled.shape[-1] == 5  # static at trace time
        return upsampled

    x = tf.random.uniform([1, 3, 2, 5])
    np.testing.assert_array_equal(shapes(x).numpy(), np.repeat(np.repeat(x.numpy(), 2, 1), 2, 2))


@pytest.mark.parametrize("height,width", [(8, 8), (7, 9), (6, 5), (1, 2)])
@pytest.mark.parametrize("kernel_size,stride", [(3, 2), (5, 2), (3, 1), (1, 2), (4, 3)])
def test_same_padding_then_valid_conv_is_tf_same(height, width, kernel_size, stride):
    """Pads as TF's SAME (numpy formula), eager and with H, W unknown at trace time."""
    rng = np.random.RandomState(2)
    x = rng.rand(1, height, width, 2).astype(np.float32)
    kernel = rng.randn(kernel_size, kernel_size, 2, 1).astype(np.float32)

    def pads(size):
        total = max(kernel_size - (stride if size % stride == 0 else size % stride), 0)
        return total // 2, total - total // 2

    expected_padding = np.pad(x, [(0, 0), pads(height), pads(width), (0, 0)])
    layer = SamePadding2D(kernel_size, stride)
    np.testing.assert_array_equal(layer(x).numpy(), expected_padding)
    dynamic = tf.function(layer.call, input_signature=[tf.TensorSpec([1, None, None, 2])])
    np.testing.assert_array_equal(dynamic(x).numpy(), expected_padding)
    same = tf.nn.conv2d(x, kernel, stride, "SAME")
    np.testing.assert_allclose(tf.nn.conv2d(dynamic(x), kernel, stride, "VALID"), same, atol=1e-6)


def test_same_padding_rejects_bad_arguments():
    with pytest.raises(ValueError, match="must be >= 1"):
        SamePadding2D(3, 0)
