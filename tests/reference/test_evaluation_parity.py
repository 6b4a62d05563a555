"""Evaluation losses equal Magenta's evaluation graph (arbitrary_image_stylization_evaluate.py).

Magenta evaluates batches of (content, style) pairs with its full model in inference mode and
the evaluation loss weights, and reports tf.metrics.mean of each loss term over the batches.
Our LossEvaluator scores each pair; a Magenta batch's terms are the means of its pairs' (its
content and style losses are means over the batch, its total variation divides by the batch).
"""
import numpy as np
import tensorflow as tf

from magenta_style.evaluation.loop import LossEvaluator
from tests.reference.conftest import EVAL_BATCH_SIZE

LOSS_RTOL = 1e-5


def test_evaluation_losses_equal_magenta(reference):
    reference.reset()
    expected = reference.task("evaluate")
    model = reference.full
    content, style = reference.inputs["eval_content"], reference.inputs["eval_style"]
    evaluator = LossEvaluator(reference.vgg, content)
    grams = evaluator.style_grams(style)
    bottlenecks = model.style_bottleneck(style)
    pairs = []
    for i in range(len(content)):
        stylized = model.stylize(content[i:i + 1], bottlenecks[i:i + 1])
        terms = evaluator.pair_terms(stylized, i, {k: g[i:i + 1] for k, g in grams.items()})
        pairs.append({key: float(value.numpy()[0]) for key, value in terms.items()})
    keys = set(pairs[0])
    for k in range(len(content) // EVAL_BATCH_SIZE):
        batch = pairs[k * EVAL_BATCH_SIZE:(k + 1) * EVAL_BATCH_SIZE]
        theirs = {key[len(f"batch{k}/loss/"):]: float(v) for key, v in expected.items()
                  if key.startswith(f"batch{k}/loss/")}
        assert set(theirs) == keys
        for key in keys:
            ours = np.mean([pair[key] for pair in batch])
            assert abs(ours - theirs[key]) <= LOSS_RTOL * abs(theirs[key]), (
                f"batch {k} {key}: {ours:.9g} vs Magenta {theirs[key]:.9g}")
    for key in keys:
        ours = np.mean([pair[key] for pair in pairs])
        theirs = float(expected[f"mean/{key}"])
        assert abs(ours - theirs) <= LOSS_RTOL * abs(theirs), f"mean {key}: {ours} vs {theirs}"
    assert tf.reduce_all(tf.math.is_finite(bottlenecks))
