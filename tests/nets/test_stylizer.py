import keras
import numpy as np
import pytest
import tensorflow as tf

from magenta_style import blend_bottlenecks
from magenta_style.data.image_ops import resize_shorter_side_bilinear
from magenta_style.errors import BlendWeightsError


@pytest.fixture(scope="module")
def mobile(stylizer_model):
    """Realistic random weights everywhere: its pictures depend on content and style."""
    return stylizer_model


def assert_same_model(model, loaded, content, style):
    """Bit-identical weights; outputs equal to float32 rounding (oneDNN's blocking may
    differ between two calls)."""
    assert len(model.weights) == len(loaded.weights)
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    np.testing.assert_allclose(loaded((content, style)).numpy(), model((content, style)).numpy(),
                               rtol=0, atol=1e-6)


def test_call_equals_bottleneck_then_stylize(mobile):
    content, style = tf.random.uniform([2, 36, 44, 3]), tf.random.uniform([2, 64, 64, 3])
    direct = mobile((content, style))
    two_step = mobile.stylize(content, mobile.style_bottleneck(style))
    np.testing.assert_allclose(direct.numpy(), two_step.numpy(), atol=1e-6)


def test_keras_round_trip_gives_identical_outputs(mobile, tmp_path):
    content, style = tf.random.uniform([1, 40, 36, 3]), tf.random.uniform([1, 64, 64, 3])
    path = str(tmp_path / "model.keras")
    mobile.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded).__name__ == "Stylizer" and loaded.alpha == 0.25
    assert_same_model(mobile, loaded, content, style)


def test_keras_file_saved_before_the_package_layout_still_loads(mobile, tmp_path):
    """Files saved when the Stylizer lived in `magenta_style.stylizer` name that module."""
    import zipfile
    content, style = tf.random.uniform([1, 33, 41, 3]), tf.random.uniform([1, 64, 64, 3])
    path, old = str(tmp_path / "new.keras"), str(tmp_path / "old.keras")
    mobile.save(path)
    new_module = b'"module": "magenta_style.nets.stylizer"'
    old_module = b'"module": "magenta_style.stylizer"'
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(old, "w") as target:
        assert "config.json" in source.namelist()
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "config.json":
                data = data.replace(new_module, old_module)
            target.writestr(item, data)
    with zipfile.ZipFile(old) as written:  # the old module name, and only it
        config = written.read("config.json")
    assert old_module in config and new_module not in config
    loaded = keras.models.load_model(old)
    assert_same_model(mobile, loaded, content, style)


def test_identity_bottleneck_resizes_the_shorter_side_keeping_the_aspect(mobile):
    """As Magenta's with_weights tool: the content, shorter side -> style size, aspect kept."""
    content = tf.random.uniform([1, 48, 80, 3], seed=4)
    expected = mobile.style_bottleneck(resize_shorter_side_bilinear(content, 64))  # 64 x 107
    np.testing.assert_allclose(mobile.identity_bottleneck(content, 64).numpy(), expected.numpy(),
                               atol=1e-6)  # measured: 0 (the same ops)
    squashed = mobile.style_bottleneck(tf.image.resize(content, [64, 64]))  # what it used to do
    # Measured: max |difference| 3.8 at bottleneck values up to 7.8.
    assert np.abs(squashed.numpy() - expected.numpy()).max() > 0.5


def test_identity_interpolation_endpoints(mobile):
    """w = 1 is the style's picture; w = 0 the content's own style, the content prepared as the
    code prepares it (shorter side resized to the style size, aspect kept, bilinear)."""
    content = tf.random.uniform([1, 32, 40, 3], seed=1)
    style = tf.random.uniform([1, 64, 64, 3], seed=2)
    out = mobile.identity_interpolation(content, style, [0.0, 0.5, 1.0], style_image_size=64)
    assert out.shape == (3, 32, 40, 3)
    out = out.numpy()
    full_style = mobile.stylize(content, mobile.style_bottleneck(style)).numpy()[0]
    prepared = tf.image.resize(content, [64, 80], method="bilinear")  # 32 x 40 -> 64 x 80
    identity = mobile.stylize(content, mobile.style_bottleneck(prepared)).numpy()[0]
    squashed = mobile.stylize(content, mobile.style_bottleneck(
        tf.image.resize(content, [64, 64]))).numpy()[0]
    # Measured: 0 and 2.4e-7, while the endpoints differ by up to 0.92, the squashed
    # preparation by 0.87, and w = 0.5 lies between (mean 0.08 / 0.09 from either end).
    np.testing.assert_allclose(out[2], full_style, rtol=0, atol=1e-6)
    np.testing.assert_allclose(out[0], identity, rtol=0, atol=1e-6)
    assert np.abs(out[0] - squashed).max() > 0.3 and np.abs(out[0] - out[2]).max() > 0.3
    assert min(np.abs(out[1] - out[0]).mean(), np.abs(out[1] - out[2]).mean()) > 0.03


def test_blend_bottlenecks_is_normalized_weighted_mean():
    bottlenecks = tf.constant([[1.0] * 100, [3.0] * 100])
    blended = blend_bottlenecks(bottlenecks, [1.0, 3.0])
    np.testing.assert_allclose(blended.numpy(), np.full((1, 100), 2.5), rtol=1e-6)
    with pytest.raises(BlendWeightsError, match="2 blend weights for 3 styles"):
        blend_bottlenecks(tf.zeros([3, 100]), [1.0, 1.0])
    with pytest.raises(BlendWeightsError, match="sum to a positive"):
        blend_bottlenecks(tf.zeros([2, 100]), [0.0, 0.0])


def test_load_model_from_keras_file_and_train_dir(mobile, tmp_path):
    from magenta_style.errors import ModelSpecError
    from magenta_style.weights import load_model
    from magenta_style.weights.run_dir import write_train_config

    content, style = tf.random.uniform([1, 32, 32, 3]), tf.random.uniform([1, 64, 64, 3])
    mobile.save(str(tmp_path / "m.keras"))
    assert_same_model(mobile, load_model(str(tmp_path / "m.keras")), content, style)

    train_dir = tmp_path / "train"
    write_train_config(str(train_dir), mobile)
    tf.train.Checkpoint(model=mobile).save(str(train_dir / "ckpt"))
    assert_same_model(mobile, load_model(str(train_dir)), content, style)

    with pytest.raises(ModelSpecError, match="no such file or directory"):
        load_model(str(tmp_path / "missing"))


def test_stylize_accepts_numpy_content_with_tensor_bottleneck(mobile):
    content = np.random.RandomState(0).rand(1, 32, 36, 3).astype(np.float32)
    bottleneck = mobile.style_bottleneck(tf.random.uniform([1, 64, 64, 3]))
    assert mobile.stylize(content, bottleneck).shape == (1, 32, 36, 3)
