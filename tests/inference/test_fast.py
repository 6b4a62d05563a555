"""The fast inference graph computes what the Keras transfer network computes."""
import numpy as np
import pytest
import tensorflow as tf

from magenta_style.inference import fast


@pytest.mark.parametrize("alpha, height, width", [(0.25, 64, 48), (0.25, 45, 62), (1.0, 37, 30)])
def test_fast_equals_keras(models, alpha, height, width):
    model = models[alpha]
    rng = np.random.default_rng(height)
    content = tf.constant(rng.random((1, height, width, 3), dtype=np.float32))
    bottleneck = tf.constant(rng.normal(size=(1, model.bottleneck_dim)).astype(np.float32))
    reference = model.stylize(content, bottleneck).numpy()
    out = fast.fast_stylize(model)(content, bottleneck).numpy()
    assert out.shape == (1, height, width, 3)
    # Two float32 computations of the same function (trained weights: ~4e-6, BENCHMARKS.md).
    assert np.abs(out - reference).max() <= 1e-4
    assert reference.std() > 0.05
    low = fast.fast_stylize(model, "bfloat16")(content, bottleneck).numpy()
    psnr = 10 * np.log10(1.0 / np.mean((low - reference) ** 2))
    assert 30.0 < psnr < 100.0  # close, not exact


def test_space_to_depth_kernel_is_the_same_convolution():
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(1, 21, 18, 3)).astype(np.float32))
    kernel = rng.normal(size=(9, 9, 3, 2)).astype(np.float32)
    direct = tf.nn.conv2d(x, kernel, 1, "VALID")
    folded = fast.conv_space_to_depth(x, tf.constant(fast.space_to_depth_kernel(kernel)), 9)
    np.testing.assert_allclose(folded.numpy(), direct.numpy(), atol=1e-4)


def test_upsample_conv_kernel_is_upsample_then_conv():
    rng = np.random.default_rng(1)
    low = tf.constant(rng.normal(size=(1, 5, 7, 4)).astype(np.float32))
    kernel = rng.normal(size=(3, 3, 4, 3)).astype(np.float32)
    high = tf.repeat(tf.repeat(low, 2, 1), 2, 2)
    direct = tf.nn.conv2d(tf.pad(high, [[0, 0], [1, 1], [1, 1], [0, 0]], "REFLECT"), kernel, 1,
                          "VALID")
    padded = tf.pad(low, [[0, 0], [1, 1], [1, 1], [0, 0]], "SYMMETRIC")
    folded = tf.nn.depth_to_space(
        tf.nn.conv2d(padded, fast.upsample_conv_kernel(kernel), 1, "VALID"), 2)
    np.testing.assert_allclose(folded.numpy(), direct.numpy(), atol=1e-5)


def test_unknown_precision(models):
    with pytest.raises(ValueError, match="precision"):
        fast.fast_stylize(models[0.25], "float16")
