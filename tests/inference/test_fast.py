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
    bottleneck = model.style_bottleneck(tf.constant(rng.random((1, 64, 64, 3), dtype=np.float32)))
    # Two float32 computations of the same function: measured max abs 4.3e-6 / 5.1e-6 / 7.6e-6;
    # bfloat16 45.0-45.7 dB (close, not exact: float32 would be > 100 dB).
    _assert_fast_matches(model, content, bottleneck, max_abs=2.5e-5, min_psnr=40.0)


def test_fast_equals_keras_on_the_released_model(pretrained_mobile):
    """The figures the README quotes: on pretrained:mobile, measured max abs 2.4e-6 here
    (3.6e-6 at 384 x 384) and 50.5 dB in bfloat16."""
    rng = np.random.default_rng(0)
    content = tf.constant(rng.random((1, 96, 128, 3), dtype=np.float32))
    style = tf.constant(rng.random((1, 256, 256, 3), dtype=np.float32))
    bottleneck = pretrained_mobile.style_bottleneck(style)
    _assert_fast_matches(pretrained_mobile, content, bottleneck, max_abs=1e-5, min_psnr=45.5)


def _assert_fast_matches(model, content, bottleneck, max_abs, min_psnr):
    reference = model.stylize(content, bottleneck).numpy()
    out = fast.fast_stylize(model)(content, bottleneck).numpy()
    assert out.shape == reference.shape
    assert reference.std() > 0.1
    assert np.abs(out - reference).max() <= max_abs
    low = fast.fast_stylize(model, "bfloat16")(content, bottleneck).numpy()
    psnr = 10 * np.log10(1.0 / np.mean((low - reference) ** 2))
    assert min_psnr < psnr < min_psnr + 15.0, psnr


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
