"""Stylizers with random weights of a realistic spread, shared by the inference tests."""
import numpy as np
import pytest

from magenta_style.nets.stylizer import build_stylizer


def _perturbed(model, seed):
    """Random weights of a realistic spread (the initializer's are tiny), BatchNorm statistics
    included, so every layer shows in the output."""
    rng = np.random.default_rng(seed)
    for weight in model.transfer_network.weights:
        if "moving_variance" in weight.path:
            weight.assign(rng.uniform(0.5, 2.0, weight.shape).astype(np.float32))
        elif "kernel" in weight.path:
            weight.assign(rng.normal(0.0, 0.1, weight.shape).astype(np.float32))
        else:
            weight.assign(rng.normal(0.0, 0.3, weight.shape).astype(np.float32))
    return model


@pytest.fixture(scope="session")
def models():
    """{alpha: Stylizer} with a MobileNetV2 predictor (cheap) and alpha 0.25 or 1.0."""
    return {alpha: _perturbed(build_stylizer("mobile", alpha=alpha), seed)
            for seed, alpha in enumerate((0.25, 1.0))}
