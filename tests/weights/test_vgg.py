"""The VGG-16 loss network's weights from slim checkpoints (Keras' ImageNet download needs the network)."""
import numpy as np
import pytest

from magenta_style.errors import ModelSpecError
from magenta_style.nets import vgg
from magenta_style.weights.vgg import load_vgg16
from tests.tf1_checkpoint import write_tf1_checkpoint


def test_vgg_loads_slim_checkpoint(tmp_path):
    rng = np.random.RandomState(4)
    arrays, in_channels = {}, 3
    for scope, _ in vgg.conv_layer_names():
        depth = vgg.VGG_BLOCKS[int(scope.split("/")[1][4:]) - 1][1]
        arrays[f"{scope}/weights"] = rng.randn(3, 3, in_channels, depth).astype(np.float32)
        arrays[f"{scope}/biases"] = rng.randn(depth).astype(np.float32)
        in_channels = depth
    model = load_vgg16(write_tf1_checkpoint(tmp_path / "vgg_16.ckpt", arrays))
    np.testing.assert_array_equal(model.get_layer("conv4_2").kernel.numpy(),
                                  arrays["vgg_16/conv4/conv4_2/weights"])
    np.testing.assert_array_equal(model.get_layer("conv1_1").bias.numpy(),
                                  arrays["vgg_16/conv1/conv1_1/biases"])


def test_vgg_checkpoint_missing_tensor_is_named(tmp_path):
    prefix = write_tf1_checkpoint(tmp_path / "other.ckpt", {"foo/weights": np.zeros(3, np.float32)})
    with pytest.raises(ModelSpecError, match="lacks vgg_16/conv1/conv1_1/weights"):
        load_vgg16(prefix)
