"""SavedModels as model specs: the TF Hub layout read by TF1 name, export.py's own (current and
older layout) told apart, anything else refused in one line.

The TF Hub model written by Magenta's own export_hub.py is tested in
tests/reference/test_hub_parity.py; here a SavedModel of plain variables under Magenta's TF1
names stands in for it.
"""
import numpy as np
import pytest
import tensorflow as tf

from magenta_style.errors import ModelSpecError
from magenta_style.evaluation.models import load_eval_model
from magenta_style.export.saved_model import save_saved_model
from magenta_style.weights import load_model
from tests.export.legacy_saved_model import save_legacy_saved_model
from tests.helpers.tf1_checkpoint import tf1_variables


def _inputs():
    rng = np.random.default_rng(5)
    return (rng.uniform(size=(1, 29, 35, 3)).astype(np.float32),
            rng.uniform(size=(1, 64, 64, 3)).astype(np.float32))


@pytest.fixture(scope="module")
def model(stylizer_model):
    return stylizer_model


@pytest.fixture(scope="module")
def expected(model):
    stylized = model(_inputs()).numpy()
    assert stylized.std() > 0.05  # the test would be blind on a flat picture
    return stylized


def _save_variables(path, named):
    """A SavedModel holding tf.Variables under the given names (and a trivial function)."""
    module = tf.Module()
    module.variables_by_name = [tf.Variable(value, name=name) for name, value in named.items()]
    module.f = tf.function(lambda x: x, input_signature=[tf.TensorSpec([None], tf.float32)])
    tf.saved_model.save(module, str(path))
    return str(path)


def test_tf_hub_layout_loads_by_tf1_names(model, expected, tmp_path):
    named = {}
    for name, variable in tf1_variables(model, "mobile"):
        value = variable.numpy()
        named[name] = value[None, None] if name.endswith("/weights") and value.ndim == 2 else value
    path = _save_variables(tmp_path / "saved_model", named)
    loaded = load_model(path)
    # Measured: identical (the same float32 weights through the same layers).
    np.testing.assert_array_equal(loaded(_inputs()).numpy(), expected)
    for spec in (path, str(tmp_path)):  # evaluate.py --checkpoint: the folder, or one above it
        evaluated = load_eval_model(spec)
        assert evaluated.identity["kind"] == "stylizer"  # read as a Stylizer, not by signatures


def test_other_saved_model_is_one_line_naming_what_is_missing(tmp_path):
    path = _save_variables(tmp_path / "other", {"dense/kernel": np.zeros((2, 2), np.float32)})
    with pytest.raises(ModelSpecError) as error:
        load_model(path)
    message = str(error.value)
    assert message.startswith(path) and "\n" not in message
    assert "not a Magenta arbitrary stylization SavedModel" in message
    assert "InceptionV3/Conv2d_1a_3x3/weights" in message


def test_missing_variable_is_named(model, tmp_path):
    named = {name: v.numpy() for name, v in tf1_variables(model, "mobile")
             if not name.startswith("transformer/residual/residual3/conv2/")}
    path = _save_variables(tmp_path / "partial", named)
    with pytest.raises(ModelSpecError, match="variable transformer/residual/residual3/conv2/"
                                             "weights missing"):
        load_model(path)


@pytest.mark.parametrize("writer", [save_saved_model, save_legacy_saved_model],
                         ids=["current", "legacy"])
def test_our_export_is_told_apart_and_still_evaluates(model, expected, tmp_path, writer):
    path = writer(model, str(tmp_path / "saved_model"))
    with pytest.raises(ModelSpecError, match="exported by export.py holds the inference graph"):
        load_model(path)
    evaluated = load_eval_model(str(tmp_path))  # export.py's output_dir, run as it is
    assert evaluated.identity["kind"] == "saved_model"
    content, style = _inputs()
    stylized = evaluated.stylize(tf.constant(content), evaluated.bottleneck(tf.constant(style)))
    # Max abs from the Keras model, measured on this random model (its norms amplify float32
    # rounding more than trained weights do): the current export runs the fast graph, 2.9e-5;
    # the legacy one the Keras layers in a traced graph, 1.3e-5.
    tolerance = {save_saved_model: 9e-5, save_legacy_saved_model: 4e-5}[writer]
    np.testing.assert_allclose(stylized.numpy(), expected, rtol=0, atol=tolerance)
    hub_call = tf.saved_model.load(path)(tf.constant(content), tf.constant(style))[0]
    np.testing.assert_allclose(hub_call.numpy(), expected, rtol=0, atol=tolerance)
