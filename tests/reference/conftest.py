"""One run of Magenta's own code per test session, shared by the parity tests (and by the
session's pytest-xdist workers).

The `reference` fixture builds our full and mobile Stylizers and VGG-16 with random weights
(set through our TF1 weight-import table), hands the same weights by TF1 name and the same
inputs to tests/reference/magenta_harness.py in the reference venv, and returns Magenta's
arrays. Without a reference venv the tests skip, unless $MAGENTA_STYLE_REQUIRE_ALL is set
(`make test` sets it, so CI fails instead of skipping: tests/helpers/optional.py).
"""

import numpy as np
import pytest

from magenta_style import defaults
from magenta_style.nets import stylizer, vgg
from tests.helpers.fake_data import random_image
from tests.helpers.optional import unavailable
from tests.helpers.tf1_checkpoint import tf1_variables
from tests.reference import reference_job

# Content sizes: square, odd, even but not a multiple of 4, near the minimum (5: contract/conv3
# then holds 2 x 2 values), and the 227 x 301 photo of issue #11 (full model only: the mobile
# transfer network is the same one at alpha 0.25).
FULL_CONTENT_SIZES = ((64, 64), (37, 53), (30, 46), (9, 11), (5, 6), (227, 301))
MOBILE_CONTENT_SIZES = ((64, 64), (37, 53), (30, 46), (5, 6))
FULL_STYLE_SIZE = (97, 83)  # odd: Inception-v3 to Mixed_6e needs >= 75 px
# A multiple of 32 (Magenta's own style size is 256); test_mobile_predictor_odd_style_sizes
# covers sizes that are not (SamePadding2D: TF's SAME padding of slim's MobilenetV2).
MOBILE_STYLE_SIZE = (96, 64)
MOBILE_ODD_STYLE_SIZES = ((96, 80), (97, 83))
# Magenta's loss graph builds VGG-16 to fc8 (a 7x7 VALID conv on pool5): >= 224 px.
TRAIN_CONTENT_SHAPE = (2, 224, 224, 3)
TRAIN_STYLE_SHAPE = (2, 232, 224, 3)
EVAL_SHAPE = (4, 224, 224, 3)  # 4 (content, style) pairs in batches of 2
EVAL_BATCH_SIZE = 2
ADAM_STEPS = 3
ADAM_LEARNING_RATE = 1e-3


def _image_batch(shape, seed):
    return np.stack([random_image(shape[1], shape[2], seed=seed + i) for i in range(shape[0])])


def _as_float(image):
    image = np.asarray(image)
    return (image.astype(np.float32) / 255.0) if image.dtype == np.uint8 else image.astype(np.float32)


def make_inputs():
    inputs = {}
    for i, (h, w) in enumerate(FULL_CONTENT_SIZES + MOBILE_CONTENT_SIZES):
        inputs[f"content_{h}x{w}"] = _as_float(random_image(h, w, seed=10 + i))
    inputs["style_full"] = _as_float(random_image(*FULL_STYLE_SIZE, seed=1))
    inputs["style_mobile"] = _as_float(random_image(*MOBILE_STYLE_SIZE, seed=2))
    for i, (h, w) in enumerate(MOBILE_ODD_STYLE_SIZES):
        inputs[f"style_mobile_{h}x{w}"] = _as_float(random_image(h, w, seed=3 + i))
    inputs["train_content"] = _as_float(_image_batch(TRAIN_CONTENT_SHAPE, 20))
    inputs["train_style"] = _as_float(_image_batch(TRAIN_STYLE_SHAPE, 30))
    inputs["eval_content"] = _as_float(_image_batch(EVAL_SHAPE, 40))
    inputs["eval_style"] = _as_float(_image_batch(EVAL_SHAPE, 50))
    rng = np.random.default_rng(3)
    inputs["adam_initial"] = rng.normal(size=(64,)).astype(np.float32)
    for step in range(ADAM_STEPS):
        # Gradients over 12 decades, so that epsilon (1e-8 vs 1e-7) shows in the update.
        inputs[f"adam_gradient_{step}"] = (rng.normal(size=(64,)) *
                                           10.0 ** rng.uniform(-11, 1, 64)).astype(np.float32)
    return inputs


def make_job():
    train = {"content_weights": defaults.TRAIN_CONTENT_WEIGHTS,
             "style_weights": defaults.TRAIN_STYLE_WEIGHTS,
             "total_variation_weight": defaults.TRAIN_TOTAL_VARIATION_WEIGHT}
    evaluation = {"content_weights": defaults.EVAL_CONTENT_WEIGHTS,
                  "style_weights": defaults.EVAL_STYLE_WEIGHTS,
                  "total_variation_weight": defaults.EVAL_TOTAL_VARIATION_WEIGHT}
    return {"tasks": [
        {"name": "stylize_full", "kind": "stylize", "model": "full",
         "pairs": [[f"content_{h}x{w}", "style_full"] for h, w in FULL_CONTENT_SIZES]},
        {"name": "stylize_mobile", "kind": "stylize", "model": "mobile",
         "pairs": [[f"content_{h}x{w}", "style_mobile"] for h, w in MOBILE_CONTENT_SIZES]},
        {"name": "stylize_mobile_odd_style", "kind": "stylize", "model": "mobile",
         "pairs": [["content_64x64", f"style_mobile_{h}x{w}"] for h, w in MOBILE_ODD_STYLE_SIZES]},
        {"name": "train_full", "kind": "train", "model": "full", "content": "train_content",
         "style": "train_style", **train},
        {"name": "evaluate", "kind": "evaluate", "content": "eval_content", "style": "eval_style",
         "batch_size": EVAL_BATCH_SIZE, **evaluation},
        {"name": "adam", "kind": "adam", "initial": "adam_initial",
         "gradients": [f"adam_gradient_{i}" for i in range(ADAM_STEPS)],
         "learning_rate": ADAM_LEARNING_RATE},
        {"name": "defaults", "kind": "defaults"},
        {"name": "export_hub", "kind": "export_hub", "model": "full"},
    ]}


class Reference:
    """Our randomized models, their initial weights, the inputs and Magenta's arrays."""

    def __init__(self, tmp_dir, cache_dir=None):
        self.full = stylizer.build_stylizer("full")
        self.mobile = stylizer.build_stylizer("mobile")
        self.vgg = vgg.build_vgg16(None)
        self.full_variables = tf1_variables(self.full, "full")
        self.mobile_variables = tf1_variables(self.mobile, "mobile")
        self.vgg_variables = reference_job.vgg_variables(self.vgg)
        vgg_arrays = reference_job.randomize(self.vgg_variables, seed=100)
        full_arrays = reference_job.randomize(self.full_variables, seed=101)
        mobile_arrays = reference_job.randomize(self.mobile_variables, seed=102)
        self.full_initial = [w.numpy() for w in self.full.weights]
        self.mobile_initial = [w.numpy() for w in self.mobile.weights]
        self.inputs = make_inputs()
        weights = {"full": {**full_arrays, **vgg_arrays},
                   "mobile": {**mobile_arrays, **vgg_arrays}}
        if cache_dir is None:
            self.arrays = reference_job.run_harness(tmp_dir, make_job(), weights, self.inputs)
        else:
            self.arrays = reference_job.run_harness_once(cache_dir, tmp_dir, make_job(), weights,
                                                         self.inputs)

    def reset(self):
        """Undo BatchNorm moving-statistics updates of training-mode calls."""
        for model, initial in ((self.full, self.full_initial), (self.mobile, self.mobile_initial)):
            for variable, value in zip(model.weights, initial):
                variable.assign(value)

    def task(self, name):
        prefix = name + "/"
        return {key[len(prefix):]: value for key, value in self.arrays.items()
                if key.startswith(prefix)}


@pytest.fixture(scope="session")
def reference(tmp_path_factory, request):
    if reference_job.reference_python() is None:
        unavailable(reference_job.missing_environment_reason())
    # Under pytest-xdist the base temp's parent is this session's, shared by its workers: the
    # harness runs once (about a minute of CPU), not once per worker holding a parity test.
    xdist_worker = hasattr(request.config, "workerinput")
    cache_dir = tmp_path_factory.getbasetemp().parent if xdist_worker else None
    result = Reference(tmp_path_factory.mktemp("magenta_reference"), cache_dir)
    yield result
    result.reset()
