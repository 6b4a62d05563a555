"""Shapes, parameter counts and names of the transfer network, predictors and head."""
import numpy as np
import pytest
import tensorflow as tf

from magenta_style.nets import predictor, transfer
from magenta_style.nets.stylizer import build_stylizer


def _trainable(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_variables)


@pytest.fixture(scope="module")
def mobile():
    return build_stylizer("mobile")


@pytest.fixture(scope="module")
def full():
    return build_stylizer("full")


def test_style_parameter_counts():
    assert transfer.num_style_params(1.0) == 2758
    assert transfer.num_style_params(0.25) == 694
    assert [d for _, d in transfer.style_norm_depths(0.25)] == [32] * 10 + [16, 8, 3]


def test_trainable_parameter_counts_match_reference(full, mobile):
    # Sums of the reference checkpoint's variables (InceptionV3/* + Conv/*,
    # style_params/*, transformer/* without BatchNorm moving statistics).
    assert _trainable(full.style_predictor) == 8_956_448 + 76_900
    assert _trainable(full.style_params_head) == 278_558
    assert _trainable(full.transfer_network) == 1_674_656
    assert full.transfer_network.count_params() - _trainable(full.transfer_network) == 448
    assert _trainable(mobile.style_params_head) == 70_094
    assert _trainable(mobile.transfer_network) == 107_624
    assert _trainable(mobile.style_predictor) == 2_223_872 + 128_100  # MobileNetV2 to out_relu + Conv


@pytest.mark.parametrize("height,width", [(32, 32), (33, 47), (41, 64), (17, 9), (96, 77)])
def test_transfer_output_is_exactly_input_size(mobile, height, width):
    content = tf.random.uniform([2, height, width, 3])
    params = tf.random.normal([2, mobile.num_style_params])
    out = mobile.transfer_network([content, params])
    assert out.shape == (2, height, width, 3)
    assert float(tf.reduce_min(out)) >= 0.0 and float(tf.reduce_max(out)) <= 1.0


def test_full_model_shapes(full):
    style = tf.random.uniform([2, 256, 256, 3])
    backbone = full.style_predictor.get_layer("InceptionV3")
    assert backbone(style).shape == (2, 14, 14, 768)
    assert backbone(tf.random.uniform([1, 299, 299, 3])).shape == (1, 17, 17, 768)
    bottleneck = full.style_bottleneck(style)
    assert bottleneck.shape == (2, 100)
    assert full.style_params(bottleneck).shape == (2, 2758)
    assert full((tf.random.uniform([2, 35, 50, 3]), style)).shape == (2, 35, 50, 3)


def test_mobile_predictor_features(mobile):
    backbone = mobile.style_predictor.get_layer("MobilenetV2")
    assert backbone(tf.random.uniform([1, 256, 256, 3])).shape == (1, 8, 8, 1280)
    assert backbone.layers[-1].name == "out_relu"


def test_mobile_predictor_pads_like_tf_same_at_any_size(mobile):
    """TF's SAME (slim's MobilenetV2) gives ceil(n / 32) features, also with H, W unknown at
    trace time; Keras' own (0, 1) padding gave 10 for 341 (the CLI's 256 x 341 style)."""
    backbone = mobile.style_predictor.get_layer("MobilenetV2")
    features = tf.function(backbone, input_signature=[tf.TensorSpec([1, None, None, 3])])
    assert features(tf.random.uniform([1, 256, 341, 3])).shape == (1, 8, 11, 1280)
    assert features(tf.random.uniform([1, 97, 83, 3])).shape == (1, 4, 3, 1280)
    assert not any(type(layer).__name__ == "ZeroPadding2D" for layer in backbone.layers)


def test_transfer_layer_names_follow_reference_scopes(full):
    names = {layer.name for layer in full.transfer_network.layers}
    for scope in ["contract/conv1", "contract/conv2", "contract/conv3"]:
        assert transfer.keras_name(scope) in names
        assert transfer.keras_name(scope) + "_BatchNorm" in names
    for scope, _ in transfer.STYLE_NORM_LAYERS:
        assert transfer.keras_name(scope) in names
        assert transfer.keras_name(scope) + "_StyleNorm" in names
    assert transfer.keras_name("residual/residual3/conv2") == "residual_residual3_conv2"
    conv = full.transfer_network.get_layer("expand_conv3_conv")
    assert tuple(conv.kernel.shape) == (9, 9, 32, 3) and not conv.use_bias
    assert tuple(full.transfer_network.get_layer("contract_conv1").kernel.shape) == (9, 9, 3, 32)


def test_head_and_bottleneck_names_follow_reference_scopes(full, mobile):
    head = full.style_params_head
    beta = head.get_layer("style_params_transformer_expand_conv2_conv_StyleNorm_Conv")
    gamma = head.get_layer("style_params_transformer_expand_conv2_conv_StyleNorm_Conv_1")
    assert tuple(beta.kernel.shape) == (100, 32) and tuple(gamma.kernel.shape) == (100, 32)
    assert tuple(full.style_predictor.get_layer("Conv").kernel.shape) == (768, 100)
    assert tuple(mobile.style_predictor.get_layer("mobilenet_conv_Conv").kernel.shape) == (1280, 100)


def test_inception_names_and_settings(full):
    scopes = predictor.inception_conv_scopes()
    assert len(scopes) == 70
    # slim's naming quirks are kept.
    assert "Mixed_5c/Branch_1/Conv_1_0c_5x5" in scopes
    assert "Mixed_6a/Branch_0/Conv2d_1a_1x1" in scopes
    backbone = full.style_predictor.get_layer("InceptionV3")
    for scope in scopes:
        conv = backbone.get_layer(predictor.keras_name(scope))
        assert not conv.use_bias
        norm = backbone.get_layer(predictor.keras_name(scope) + "_BatchNorm")
        assert not norm.scale and norm.center
        assert norm.epsilon == pytest.approx(1e-3) and norm.momentum == pytest.approx(0.9997)
        assert backbone.get_layer(predictor.keras_name(scope) + "_relu6").max_value == 6.0
    assert tuple(backbone.get_layer("Mixed_6a_Branch_0_Conv2d_1a_1x1").kernel.shape) == (3, 3, 288, 384)
    assert tuple(backbone.get_layer("Mixed_6e_Branch_2_Conv2d_0d_7x1").kernel.shape) == (7, 1, 192, 192)


def test_unknown_model_type_is_clear():
    with pytest.raises(ValueError, match="unknown model_type 'tiny'"):
        build_stylizer("tiny")
