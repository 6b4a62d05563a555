"""benchmarks/training_figures.py: style images resized as train.py sees them (--noantialias_style)."""
import os
import sys

import numpy as np
import tensorflow as tf

from magenta_style import image_io
from magenta_style.data.image_ops import preprocess_style_image
from tests import ROOT

sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
import training_figures  # noqa: E402  pylint: disable=wrong-import-position,import-error


def test_style_without_antialiasing_is_the_training_pipelines_resize(tmp_path):
    path = str(tmp_path / "style.png")
    pixels = tf.random.stateless_uniform([96, 96, 3], seed=[1, 2]).numpy()
    image_io.save_image(pixels, path)
    as_trained = preprocess_style_image(tf.constant(image_io.load_image(path)), 32, center_crop=False).numpy()
    plain = training_figures.load_square(path, 32, crop=False, antialias=False)[0]
    smooth = training_figures.load_square(path, 32, crop=False)[0]
    np.testing.assert_allclose(plain, as_trained, atol=1e-6)
    assert np.abs(smooth - as_trained).max() > 0.05  # antialiasing: another image to the predictor
