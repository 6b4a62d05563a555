"""Losses against hand computations in numpy, and the VGG loss network."""
import numpy as np
import pytest
import tensorflow as tf

from magenta_style import defaults
from magenta_style.nets import losses, vgg


def np_gram(f):
    b, h, w, c = f.shape
    flat = f.reshape(b, h * w, c)
    return np.einsum("bnc,bnd->bcd", flat, flat) / (h * w)


def test_gram_matrix():
    f = np.random.RandomState(0).rand(2, 3, 5, 4).astype(np.float32)
    np.testing.assert_allclose(losses.gram_matrix(tf.constant(f)).numpy(), np_gram(f), rtol=1e-5)


def test_content_and_style_losses_match_numpy():
    rng = np.random.RandomState(1)
    a = {"vgg_16/conv1": rng.rand(2, 4, 4, 3).astype(np.float32),
         "vgg_16/conv2": rng.rand(2, 2, 2, 5).astype(np.float32)}
    b = {k: rng.rand(*v.shape).astype(np.float32) for k, v in a.items()}
    weights = {"vgg_16/conv1": 0.5, "vgg_16/conv2": 2.0}
    total, terms = losses.content_loss(a, b, weights)
    expected = {k: np.mean((a[k] - b[k]) ** 2) for k in a}
    assert float(total) == pytest.approx(0.5 * expected["vgg_16/conv1"] + 2 * expected["vgg_16/conv2"], rel=1e-5)
    assert float(terms["content_loss/vgg_16/conv2"]) == pytest.approx(expected["vgg_16/conv2"], rel=1e-5)
    assert float(terms["weighted_content_loss/vgg_16/conv2"]) == pytest.approx(2 * expected["vgg_16/conv2"], rel=1e-5)

    total, terms = losses.style_loss(a, b, weights)
    expected = {k: np.mean((np_gram(b[k]) - np_gram(a[k])) ** 2) for k in a}
    assert float(total) == pytest.approx(0.5 * expected["vgg_16/conv1"] + 2 * expected["vgg_16/conv2"], rel=1e-5)
    assert float(terms["style_loss/vgg_16/conv1"]) == pytest.approx(expected["vgg_16/conv1"], rel=1e-5)


def test_total_variation_matches_numpy():
    y = np.random.RandomState(2).rand(3, 5, 7, 3).astype(np.float32)
    b, h, w, c = y.shape
    dy = np.sum((y[:, 1:] - y[:, :-1]) ** 2) / 2 / ((h - 1) * w * c)
    dx = np.sum((y[:, :, 1:] - y[:, :, :-1]) ** 2) / 2 / (h * (w - 1) * c)
    weighted, terms = losses.total_variation_loss(tf.constant(y), 1e4)
    assert float(terms["total_variation_loss"]) == pytest.approx((dy + dx) / b, rel=1e-5)
    assert float(weighted) == pytest.approx(1e4 * (dy + dx) / b, rel=1e-5)


def test_unknown_layer_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown style layer.*vgg_16/conv9"):
        losses.validate_layer_weights({"vgg_16/conv9": 1}, "style")
    with pytest.raises(ValueError, match="non-empty dict"):
        losses.validate_layer_weights({}, "content")


@pytest.fixture(scope="module")
def loss_network():
    return vgg.build_vgg16()


def test_vgg_endpoints_and_average_pooling(loss_network):
    out = loss_network(tf.random.uniform([1, 64, 48, 3]))
    assert sorted(out) == sorted(vgg.ENDPOINTS)
    assert out["vgg_16/conv1"].shape == (1, 64, 48, 64)
    assert out["vgg_16/conv3"].shape == (1, 16, 12, 256)
    assert out["vgg_16/pool5"].shape == (1, 2, 1, 512)
    conv1 = out["vgg_16/conv1"].numpy()
    expected_pool = conv1.reshape(1, 32, 2, 24, 2, 64).mean(axis=(2, 4))
    np.testing.assert_allclose(out["vgg_16/pool1"].numpy(), expected_pool, rtol=1e-5, atol=1e-5)
    assert not loss_network.trainable_variables


def test_vgg_preprocessing_is_rgb_mean_subtraction(loss_network):
    image = np.random.RandomState(3).rand(1, 4, 4, 3).astype(np.float32)
    pre = loss_network.get_layer("preprocess")(image).numpy()
    np.testing.assert_allclose(pre, image * 255 - np.array(defaults.VGG_MEAN_RGB), rtol=1e-5)


def test_total_loss_keys_and_zero_content_loss_for_identity(loss_network):
    content = tf.random.uniform([2, 32, 32, 3])
    style = tf.random.uniform([2, 40, 40, 3])
    total, terms = losses.total_loss(content, style, content, loss_network)
    expected_keys = {"total_loss", "total_content_loss", "total_style_loss", "total_variation_loss",
                     "weighted_total_variation_loss", "content_loss/vgg_16/conv3",
                     "weighted_content_loss/vgg_16/conv3"}
    expected_keys |= {f"{kind}style_loss/vgg_16/conv{i}" for kind in ("", "weighted_") for i in range(1, 5)}
    assert set(terms) == expected_keys
    assert float(terms["total_content_loss"]) == 0.0
    assert float(total) == pytest.approx(float(terms["total_style_loss"])
                                         + float(terms["weighted_total_variation_loss"]), rel=1e-5)
