"""Fixtures of the training tests."""
import pytest

from tests.helpers.train_cli import write_records


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    """Tiny style (record 2 truncated) and ImageNet TFRecords for train.py runs."""
    return write_records(tmp_path_factory.mktemp("records"))
