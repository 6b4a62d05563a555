"""Our defaults are Magenta's (read from its scripts' flags), and our Adam is TF1's AdamOptimizer."""
import json

import numpy as np
import tensorflow as tf

from magenta_style import defaults
from magenta_style.training.optimizer import make_optimizer
from tests.reference.conftest import ADAM_LEARNING_RATE, ADAM_STEPS


def test_loss_weights_and_training_defaults_are_magentas(reference):
    magenta = json.loads(str(reference.task("defaults")["json"]))
    ours = {
        "train": {"content_weights": defaults.TRAIN_CONTENT_WEIGHTS,
                  "style_weights": defaults.TRAIN_STYLE_WEIGHTS,
                  "total_variation_weight": defaults.TRAIN_TOTAL_VARIATION_WEIGHT,
                  "learning_rate": defaults.MAGENTA_LEARNING_RATE,
                  "clip_gradient_norm": defaults.CLIP_GRADIENT_NORM,
                  "batch_size": defaults.BATCH_SIZE, "image_size": defaults.IMAGE_SIZE},
        "evaluate": {"content_weights": defaults.EVAL_CONTENT_WEIGHTS,
                     "style_weights": defaults.EVAL_STYLE_WEIGHTS,
                     "total_variation_weight": defaults.EVAL_TOTAL_VARIATION_WEIGHT,
                     "batch_size": defaults.EVAL_BATCH_SIZE,
                     "num_evaluation_styles": defaults.NUM_EVALUATION_STYLES},
    }
    for script, values in ours.items():
        for key, value in values.items():
            assert magenta[script][key] == value, f"{script} --{key}: Magenta {magenta[script][key]}"
    assert (magenta["adam_beta1"], magenta["adam_beta2"]) == (defaults.ADAM_BETA_1,
                                                              defaults.ADAM_BETA_2)
    assert magenta["adam_epsilon"] == defaults.ADAM_EPSILON


def _adam(reference, epsilon):
    variable = tf.Variable(reference.inputs["adam_initial"])
    optimizer = make_optimizer(ADAM_LEARNING_RATE, epsilon=epsilon)
    for step in range(ADAM_STEPS):
        optimizer.apply_gradients([(tf.constant(reference.inputs[f"adam_gradient_{step}"]),
                                    variable)])
    return variable.numpy()


def test_adam_steps_equal_tf1_adam_optimizer(reference):
    """Gradients spanning 1e-11..10: entries near epsilon show which epsilon is used."""
    initial = reference.inputs["adam_initial"]
    theirs = reference.task("adam")["value"]
    ours = _adam(reference, defaults.ADAM_EPSILON)
    # The same kernel (ResourceApplyAdam); TF1 multiplies its beta powers step by step where
    # Keras takes beta ** t, which can move a weight by an ulp or two.
    ulps = np.abs(ours.view(np.int32).astype(np.int64) - theirs.view(np.int32))
    assert ulps.max() <= 4, (ulps.max(), np.abs(ours - theirs).max())
    keras_default = _adam(reference, defaults.KERAS_ADAM_EPSILON)
    assert np.abs((keras_default - initial) - (theirs - initial)).max() > 1e-5
