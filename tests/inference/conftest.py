"""Stylizers with realistic random weights everywhere, shared by the inference tests."""
import pytest

from tests.helpers.models import random_stylizer


@pytest.fixture(scope="session")
def models():
    """{alpha: Stylizer} with a MobileNetV2 predictor (cheap) and alpha 0.25 or 1.0."""
    return {alpha: random_stylizer("mobile", seed=seed, alpha=alpha)
            for seed, alpha in enumerate((0.25, 1.0))}
