"""Our defaults are Magenta's (read from its scripts' flags), and our Adam is TF1's AdamOptimizer."""
import json

import numpy as np
import tensorflow as tf

from magenta_style import defaults
from magenta_style.training import steps
from tests.reference.conftest import ADAM_LEARNING_RATE, ADAM_STEPS


def test_loss_weights_and_training_defaults_are_magentas(reference):
    magenta = json.loads(str(reference.task("defaults")["json"]))
    train, evaluate = magenta["train"], magenta["evaluate"]
    assert train["content_weights"] == defaults.TRAIN_CONTENT_WEIGHTS
    assert train["style_weights"] == defaults.TRAIN_STYLE_WEIGHTS
    assert train["total_variation_weight"] == defaults.TRAIN_TOTAL_VARIATION_WEIGHT
    assert train["learning_rate"] == defaults.MAGENTA_LEARNING_RATE
    assert train["clip_gradient_norm"] == defaults.CLIP_GRADIENT_NORM
    assert train["batch_size"] == defaults.BATCH_SIZE
    assert train["image_size"] == defaults.IMAGE_SIZE
    assert evaluate["content_weights"] == defaults.EVAL_CONTENT_WEIGHTS
    assert evaluate["style_weights"] == defaults.EVAL_STYLE_WEIGHTS
    assert evaluate["total_variation_weight"] == defaults.EVAL_TOTAL_VARIATION_WEIGHT
    assert evaluate["batch_size"] == defaults.EVAL_BATCH_SIZE
    assert evaluate["num_evaluation_styles"] == defaults.NUM_EVALUATION_STYLES
    assert (magenta["adam_beta1"], magenta["adam_beta2"]) == (defaults.ADAM_BETA_1,
                                                              defaults.ADAM_BETA_2)
    assert magenta["adam_epsilon"] == defaults.ADAM_EPSILON


def _adam(reference, epsilon):
    variable = tf.Variable(reference.inputs["adam_initial"])
    optimizer = steps.make_optimizer(ADAM_LEARNING_RATE, epsilon=epsilon)
    for step in range(ADAM_STEPS):
        optimizer.apply_gradients([(tf.constant(reference.inputs[f"adam_gradient_{step}"]),
                                    variable)])
    return variable.numpy()


def test_adam_steps_equal_tf1_adam_optimizer(reference):
    """Gradients spanning 1e-11..10: entries near epsilon show which epsilon is used."""
    initial = reference.inputs["adam_initial"]
    theirs = reference.task("adam")["value"]
    ours = _adam(reference, defaults.ADAM_EPSILON)
    np.testing.assert_allclose(ours - initial, theirs - initial, rtol=1e-4, atol=1e-9)
    keras_default = _adam(reference, defaults.KERAS_ADAM_EPSILON)
    assert np.abs((keras_default - initial) - (theirs - initial)).max() > 1e-5
