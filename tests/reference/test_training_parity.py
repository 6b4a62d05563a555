"""The training objective equals Magenta's train graph: loss dictionary, gradients, BatchNorm.

Same random weights and batch (2 content 224 x 224, 2 style 232 x 224; Magenta's loss graph
builds VGG-16 to fc8, so >= 224 px), training mode on both sides: batch statistics in the
contract and Inception BatchNorms, VGG-16 frozen, the gradient of content + style + total
variation only (Magenta's weight decay is collected but not optimized, SPEC 7).
"""
import numpy as np
import tensorflow as tf

from magenta_style import defaults
from magenta_style.nets import losses
from magenta_style.training import steps

LOSS_RTOL = 1e-5
# Gradients, judged per variable by the norm of the difference:
#   ||ours - Magenta|| <= rtol * ||Magenta|| + FLOOR * (largest gradient norm of all variables).
# With random weights the training-mode Inception is chaotic in float32: changing the style
# pixels by 1e-7 moves our own Inception gradients by 1.8 % (median over variables, 2.5 %
# max), while their direction stays (finite differences along either gradient agree to 0.2 %).
# Measured against Magenta: Inception 1.1-3.8 %, bottleneck 1.7e-4, style-parameter head and
# transfer network <= 3.4e-3. A wrong layout, BatchNorm mode or loss term is O(1).
INCEPTION_RTOL = 8e-2
RTOL = 1e-2
# The style norms' beta of the residual blocks' conv2 have zero gradient in exact arithmetic
# (the next instance norm removes a constant shift); both sides give ~1e-9 of the largest.
FLOOR = 1e-6


def _our_training_pass(reference):
    reference.reset()
    model, inputs = reference.full, reference.inputs
    with tf.GradientTape() as tape:
        total, terms, stylized = steps.stylization_losses(
            model, reference.vgg, inputs["train_content"], inputs["train_style"],
            defaults.TRAIN_CONTENT_WEIGHTS, defaults.TRAIN_STYLE_WEIGHTS,
            defaults.TRAIN_TOTAL_VARIATION_WEIGHT)
    gradients = tape.gradient(total, model.trainable_variables)
    names = {id(variable): name for name, variable in reference.full_variables}
    by_name = {names[id(v)]: g.numpy() for v, g in zip(model.trainable_variables, gradients)}
    return terms, stylized.numpy(), by_name, len(model.trainable_variables)


def _assert_terms_close(ours, theirs, rtol, what):
    assert set(ours) == set(theirs), f"{what}: keys differ: {set(ours) ^ set(theirs)}"
    for key, expected in theirs.items():
        value = float(ours[key])
        assert abs(value - expected) <= rtol * abs(expected), (
            f"{what} {key}: {value:.9g} vs Magenta {expected:.9g} "
            f"(relative {abs(value - expected) / abs(expected):.2e})")


def test_training_losses_gradients_and_batch_norm_equal_magenta(reference):
    expected = reference.task("train_full")
    magenta_terms = {key[5:]: float(v) for key, v in expected.items() if key.startswith("loss/")}
    terms, stylized, gradients, num_trainable = _our_training_pass(reference)

    # The loss graph alone, on Magenta's own stylized batch.
    vgg = reference.vgg
    inputs = reference.inputs
    _, graph_terms = losses.combine_losses(
        vgg(inputs["train_content"]), vgg(inputs["train_style"]), vgg(expected["stylized"]),
        tf.constant(expected["stylized"]), defaults.TRAIN_CONTENT_WEIGHTS,
        defaults.TRAIN_STYLE_WEIGHTS, defaults.TRAIN_TOTAL_VARIATION_WEIGHT)
    _assert_terms_close(graph_terms, magenta_terms, LOSS_RTOL, "loss graph")

    # End to end: our training-mode forward pass and losses.
    assert np.abs(stylized - expected["stylized"]).max() <= 1e-4
    _assert_terms_close(terms, magenta_terms, LOSS_RTOL, "training losses")

    # Every variable Magenta's train op optimizes, and nothing else.
    magenta_gradients = {k[5:]: v for k, v in expected.items() if k.startswith("grad/")}
    assert set(gradients) == set(magenta_gradients)
    assert num_trainable == len(magenta_gradients)
    largest = max(np.linalg.norm(g) for g in magenta_gradients.values())
    for name, theirs in magenta_gradients.items():
        ours = gradients[name].reshape(theirs.shape)
        rtol = INCEPTION_RTOL if name.startswith("InceptionV3/") else RTOL
        error, scale = np.linalg.norm(ours - theirs), np.linalg.norm(theirs)
        assert error <= rtol * scale + FLOOR * largest, (
            f"d loss / d {name}: |ours - Magenta| = {error:.3g}, |Magenta| = {scale:.3g} "
            f"(largest gradient {largest:.3g})")

    # BatchNorm moving statistics after one training step's update ops (our training-mode
    # call above updated them the Keras way).
    for name, variable in reference.full_variables:
        if "moving_" in name:
            theirs = expected[f"moving/{name}"]
            np.testing.assert_allclose(variable.numpy(), theirs, rtol=1e-5, atol=1e-6,
                                       err_msg=name)
