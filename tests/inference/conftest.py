"""Stylizers with transfer weights of a realistic spread, shared by the inference tests."""
import keras
import pytest

from magenta_style.nets.stylizer import build_stylizer
from tests.fake_data import spread_transfer_weights


@pytest.fixture(scope="session")
def models():
    """{alpha: Stylizer} with a MobileNetV2 predictor (cheap) and alpha 0.25 or 1.0."""
    keras.utils.set_random_seed(0)  # the style-parameter heads too: same numbers every run
    return {alpha: spread_transfer_weights(build_stylizer("mobile", alpha=alpha), seed)
            for seed, alpha in enumerate((0.25, 1.0))}
