"""Fixtures shared by every test package."""
import pytest

from tests.helpers.models import random_stylizer


@pytest.fixture(scope="session")
def stylizer_model():
    """A mobile Stylizer with realistic random weights everywhere: its pictures depend on the
    content and the style (checked when built). Do not change its weights in a test."""
    return random_stylizer("mobile", seed=0)
