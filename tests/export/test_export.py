"""export: SavedModel (TF Hub contract) and TFLite pairs round-trip, names, resizable model, errors."""
import os
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from magenta_style import defaults
from magenta_style.errors import ExportError
from magenta_style.export.calibration import builtin_images, load_representative_images
from magenta_style.export.pipeline import (
    _staging_dir,
    export,
    parse_formats,
)
from magenta_style.export.tflite import (
    convert_tflite,
    custom_operators,
    tflite_filenames,
    tflite_operators,
)
from magenta_style.inference.tflite_graphs import rename_io_tensors, write_tflite_source
from magenta_style.litert import (
    TRANSFER_INPUTS,
    TRANSFER_OUTPUTS,
    load_interpreter,
    run_tflite_pair,
)
from magenta_style.export.verify import (
    VERIFICATION_IMAGE,
    VERIFICATION_TABLE,
    format_table,
    psnr,
    verification_inputs,
)
from magenta_style.nets import stylizer
from magenta_style.weights import load_model
from magenta_style.weights.names import released_weight_names

STYLE_SIZE, CONTENT_SIZE = 64, 48


@pytest.fixture(scope="module")
def model(pretrained_mobile):
    """The released mobile model: its pictures depend on the style (a random model's are noise
    that int8 cannot represent, 18 dB; the former "tame" random model ignored the style, so the
    predictor's export went unchecked)."""
    return pretrained_mobile


@pytest.fixture(scope="module")
def exported(model, tmp_path_factory):
    """Every format of the released model, exported once (64 px style, 48 px content)."""
    output_dir = tmp_path_factory.mktemp("export") / "out"
    checks = export(model, output_dir, style_image_size=STYLE_SIZE,
                    content_image_size=CONTENT_SIZE, num_calibration_images=4,
                    log=lambda line: None)
    return output_dir, checks


def _inputs(content_size=CONTENT_SIZE, style_size=STYLE_SIZE, batch=1):
    content = builtin_images(batch, content_size, seed=7)
    style = builtin_images(batch, style_size, seed=8)
    return content, style


@pytest.mark.slow
def test_every_format_round_trips_within_its_tolerance(exported, model):
    output_dir, checks = exported
    assert [c.export_format for c in checks] == list(defaults.EXPORT_FORMATS)
    assert all(c.ok for c in checks), format_table(checks)
    by_format = {c.export_format: c for c in checks}
    # Measured: 2.6e-6, 6.1e-6; 42.2, 38.0, 36.1 dB (bounds: 3x the error).
    assert by_format["saved_model"].max_abs <= 1e-5, format_table(checks)
    assert by_format["tflite_float"].max_abs <= 2e-5, format_table(checks)
    assert by_format["tflite_fp16"].psnr >= 37.4, format_table(checks)
    assert by_format["tflite_dynamic"].psnr >= 33.2, format_table(checks)
    assert by_format["tflite_int8"].psnr >= 31.3, format_table(checks)
    # The outputs are not trivially flat (a degenerate model would pass anything).
    assert np.std(by_format["tflite_float"].output) > 0.1
    names = sorted(os.listdir(output_dir))
    assert names == sorted(["saved_model", VERIFICATION_TABLE,
                            VERIFICATION_IMAGE]
                           + [n for f in defaults.EXPORT_FORMATS[1:]
                              for n in tflite_filenames(f)])
    # Files get the usual permissions (not the temporary files' private 0600).
    assert ((output_dir / VERIFICATION_IMAGE).stat().st_mode
            == (output_dir / VERIFICATION_TABLE).stat().st_mode)
    table = (output_dir / VERIFICATION_TABLE).read_text()
    assert all(f in table for f in defaults.EXPORT_FORMATS) and "FAILED" not in table


@pytest.mark.slow
def test_tflite_pair_on_other_inputs_matches_keras(exported, model):
    """Independent of the export's own verification input."""
    output_dir, _ = exported
    content, style = _inputs()
    reference = model((tf.constant(content), tf.constant(style))).numpy()
    other_style = builtin_images(1, STYLE_SIZE, seed=9)
    # Measured: float max abs 1.3e-5; int8 23.3 dB on these small random pictures (36 dB in the
    # export's own verification); another style is far from either.
    for export_format, max_abs in (("tflite_float", 4e-5), ("tflite_int8", None)):
        predict, transfer_model = (load_interpreter(str(output_dir / name))
                                   for name in tflite_filenames(export_format))
        output = run_tflite_pair(predict, transfer_model, content, style)
        if max_abs:
            np.testing.assert_allclose(output, reference, atol=max_abs)
        else:
            assert psnr(output, reference) >= 18.5, psnr(output, reference)
        other = run_tflite_pair(predict, transfer_model, content, other_style)
        assert np.abs(other - output).mean() > 0.03


@pytest.mark.slow
def test_tflite_tensor_names_shapes_and_builtin_ops(exported):
    output_dir, _ = exported
    bottleneck = [1, 1, 1, 100]
    for export_format in defaults.EXPORT_FORMATS[1:]:
        predict_name, transfer_name = tflite_filenames(export_format)
        predict = load_interpreter(str(output_dir / predict_name))
        assert [(d["name"], d["shape"].tolist(), d["dtype"]) for d in predict.get_input_details()] \
            == [("style_image", [1, STYLE_SIZE, STYLE_SIZE, 3], np.float32)]
        assert [(d["name"], d["shape"].tolist()) for d in predict.get_output_details()] \
            == [("mobilenet_conv/Conv/BiasAdd", bottleneck)]
        transfer_model = load_interpreter(str(output_dir / transfer_name))
        assert [(d["name"], d["shape"].tolist(), d["dtype"])
                for d in transfer_model.get_input_details()] == [
            ("content_image", [1, CONTENT_SIZE, CONTENT_SIZE, 3], np.float32),
            ("mobilenet_conv/Conv/BiasAdd", bottleneck, np.float32)]
        assert [(d["name"], d["shape"].tolist(), d["dtype"])
                for d in transfer_model.get_output_details()] == [
            ("transformer/expand/conv3/conv/Sigmoid", [1, CONTENT_SIZE, CONTENT_SIZE, 3],
             np.float32)]
        for name in (predict_name, transfer_name):
            assert custom_operators((output_dir / name).read_bytes()) == []
        _assert_fast_transfer_graph((output_dir / transfer_name).read_bytes())
    int8_ops = tflite_operators((output_dir / "style_transfer_int8.tflite").read_bytes())
    assert int8_ops["QUANTIZE"] > 0 and int8_ops["DEQUANTIZE"] > 0  # int8 convs, float norms


def _assert_fast_transfer_graph(model_bytes):
    """The transfer model is inference/fast.py's formulation in fast built-ins: 9x9 convs on
    space_to_depth, upsampling folded into convs, no MIRROR_PAD (slow in TFLite) and no
    batch-norm or custom ops."""
    ops = tflite_operators(model_bytes)
    assert ops["SPACE_TO_DEPTH"] == 2 and ops["DEPTH_TO_SPACE"] == 4, ops
    assert not {op for op in ops if "MIRROR_PAD" in op or "BATCH_NORM" in op or "RESIZE" in op}
    assert custom_operators(model_bytes) == []


def _tflite_tensor_names(path):
    from tensorflow.lite.tools import flatbuffer_utils

    tflite_model = flatbuffer_utils.read_model(str(path))
    return {t.name.decode() for t in tflite_model.subgraphs[0].tensors}


@pytest.mark.slow
def test_tflite_pairs_carry_the_released_weight_names(exported):
    output_dir, _ = exported
    for export_format in defaults.EXPORT_FORMATS[1:]:
        predict_name, transfer_name = tflite_filenames(export_format)
        predict = _tflite_tensor_names(output_dir / predict_name)
        transfer_names = _tflite_tensor_names(output_dir / transfer_name)
        assert {"MobilenetV2/expanded_conv_3/project/weights",
                "MobilenetV2/expanded_conv_3/depthwise/depthwise_weights",
                "MobilenetV2/Conv/weights", "mobilenet_conv/Conv/weights"} <= predict, export_format
        assert {"transformer/contract/conv1/weights",
                "style_params/transformer/residual/residual1/conv1/StyleNorm/Conv_1/weights",
                "transformer/expand/conv3/conv/weights"} <= transfer_names, export_format
        # Every weight the importer looks up is there.
        missing = set(released_weight_names().values()) - predict - transfer_names
        assert not missing, (export_format, sorted(missing))


@pytest.mark.slow
# Measured: 110, 38.7, 51.9, 51.8 dB (the pairs' weights read back as float layers).
@pytest.mark.parametrize("export_format,min_psnr", [("tflite_float", 100.0), ("tflite_fp16", 34.0),
                                                    ("tflite_dynamic", 47.0),
                                                    ("tflite_int8", 47.0)])
def test_exported_tflite_pair_loads_back_as_a_stylizer(exported, model, export_format, min_psnr):
    output_dir, _ = exported
    predict, transfer_path = (output_dir / name for name in tflite_filenames(export_format))
    loaded = load_model(f"{predict},{transfer_path}")
    assert isinstance(loaded, stylizer.Stylizer)
    assert loaded.alpha == model.alpha
    assert stylizer.model_type_of(loaded) == stylizer.model_type_of(model) == "mobile"
    content, style = _inputs()
    reference = model((tf.constant(content), tf.constant(style))).numpy()
    output = loaded((tf.constant(content), tf.constant(style))).numpy()
    assert psnr(output, reference) >= min_psnr, psnr(output, reference)
    if export_format == "tflite_float":  # the fast kernels' forms are undone exactly
        np.testing.assert_allclose(output, reference, atol=7e-5)  # measured 2.5e-5


@pytest.mark.slow
def test_saved_model_tf_hub_contract(exported, model):
    import tensorflow_hub as hub

    output_dir, _ = exported
    path = str(output_dir / "saved_model")
    content, style = _inputs(content_size=37, batch=2)  # any content size, a batch
    reference = model((tf.constant(content), tf.constant(style))).numpy()
    for loaded in (tf.saved_model.load(path), hub.load(path)):
        outputs = loaded(tf.constant(content), tf.constant(style))
        assert outputs[0].shape == (2, 37, 37, 3)
        np.testing.assert_allclose(outputs[0].numpy(), reference, atol=2e-5)  # measured 5.3e-6
    loaded = tf.saved_model.load(path)
    assert set(loaded.signatures) == {"serving_default", "predict_style", "transfer"}
    served = loaded.signatures["serving_default"](content_image=tf.constant(content),
                                                  style_image=tf.constant(style))
    np.testing.assert_allclose(served["stylized_image"].numpy(), reference, atol=2e-5)
    bottleneck = loaded.signatures["predict_style"](style_image=tf.constant(style))["style_bottleneck"]
    assert bottleneck.shape == (2, 100)
    # The folded predictor (BatchNorms in the convolutions) vs Keras': measured 1.4e-5.
    np.testing.assert_allclose(bottleneck.numpy(), model.style_bottleneck(tf.constant(style)).numpy(),
                               atol=4e-5)
    # One style for the whole batch broadcasts.
    stylized = loaded.signatures["transfer"](content_image=tf.constant(content),
                                             style_bottleneck=bottleneck[:1])["stylized_image"]
    expected = model.stylize(tf.constant(content), tf.repeat(bottleneck[:1], 2, axis=0)).numpy()
    np.testing.assert_allclose(stylized.numpy(), expected, atol=2e-5)


@pytest.mark.slow
def test_resizable_transfer_model_runs_at_two_sizes(model, tmp_path):
    source = write_tflite_source(model, str(tmp_path / "source"), STYLE_SIZE, 0)
    styles = builtin_images(2, STYLE_SIZE, seed=3)
    contents = builtin_images(2, 64, seed=4)
    bottleneck = model.style_bottleneck(tf.constant(styles[:1])).numpy()
    for export_format in ("tflite_float", "tflite_int8"):
        representative = None
        if export_format == "tflite_int8":
            def representative():
                for content in contents:
                    yield {"content_image": content[None],
                           "style_bottleneck": bottleneck.reshape(1, 1, 1, -1)}
        converted = convert_tflite(source, "transfer", export_format, representative,
                                   defaults.INT8_TRANSFER_QUANTIZED_OPS)
        converted = rename_io_tensors(converted, TRANSFER_INPUTS,
                                      TRANSFER_OUTPUTS)
        _assert_fast_transfer_graph(converted)
        path = tmp_path / f"transfer_{export_format}.tflite"
        path.write_bytes(converted)
        interpreter = load_interpreter(str(path))
        content_input = interpreter.get_input_details()[0]
        assert content_input["name"] == "content_image"
        assert content_input["shape_signature"].tolist() == [1, -1, -1, 3]
        # 37 x 53 is odd and not a multiple of the network stride 4: pad + crop inside.
        for height, width in ((64, 64), (37, 53)):
            content = builtin_images(1, 64, seed=5)[:, :height, :width]
            interpreter.resize_tensor_input(content_input["index"], [1, height, width, 3])
            interpreter.allocate_tensors()
            interpreter.set_tensor(content_input["index"], content)
            interpreter.set_tensor(interpreter.get_input_details()[1]["index"],
                                   bottleneck.reshape(1, 1, 1, -1))
            interpreter.invoke()
            output = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
            reference = model.stylize(tf.constant(content), tf.constant(bottleneck)).numpy()
            assert output.shape == (1, height, width, 3)
            if export_format == "tflite_float":  # measured max abs 5.8e-6 (64 x 64), 3.3e-6
                np.testing.assert_allclose(output, reference, rtol=0, atol=2e-5)
            else:
                assert psnr(output, reference) >= 30.0, psnr(output, reference)


def test_existing_output_is_kept_without_overwrite(model, tmp_path):
    output_dir = tmp_path / "out"
    output_dir.mkdir()
    (output_dir / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="already exists"):
        export(model, output_dir, formats="saved_model", log=lambda line: None)
    assert os.listdir(output_dir) == ["keep.txt"]
    assert os.listdir(tmp_path) == ["out"]  # no staging folder left


@pytest.mark.slow
def test_failed_tolerance_writes_nothing(model, tmp_path):
    output_dir = tmp_path / "out"
    impossible = {**defaults.EXPORT_TOLERANCES, "saved_model": ("max_abs", -1.0)}
    with pytest.raises(ExportError, match="saved_model outside tolerance") as error:
        export(model, output_dir, formats="saved_model", tolerances=impossible,
               log=lambda line: None)
    assert not error.value.checks[0].ok
    assert os.listdir(tmp_path) == []  # nothing half-written, no staging folder


def test_output_folder_appears_whole_and_overwrite_replaces(tmp_path):
    output_dir = tmp_path / "out"
    (tmp_path / "plain").mkdir()
    with _staging_dir(output_dir, overwrite=False) as staging:
        (Path(staging) / "a.tflite").write_text("new")
        assert not output_dir.exists()  # nothing visible until done
    assert os.listdir(output_dir) == ["a.tflite"]
    assert output_dir.stat().st_mode == (tmp_path / "plain").stat().st_mode  # not mkdtemp's 0700
    with pytest.raises(FileExistsError, match="already exists"):
        with _staging_dir(output_dir, overwrite=False):
            pass
    with pytest.raises(RuntimeError, match="boom"):
        with _staging_dir(output_dir, overwrite=True) as staging:
            (Path(staging) / "b.tflite").write_text("half")
            raise RuntimeError("boom")
    assert os.listdir(output_dir) == ["a.tflite"]  # a failed export keeps the old output
    with _staging_dir(output_dir, overwrite=True) as staging:
        (Path(staging) / "b.tflite").write_text("new")
    assert os.listdir(output_dir) == ["b.tflite"]
    assert sorted(os.listdir(tmp_path)) == ["out", "plain"]  # no staging or backup folder left


def test_formats_are_checked():
    assert parse_formats("tflite_int8, saved_model") == ("saved_model", "tflite_int8")
    with pytest.raises(ValueError, match="unknown export format.*tflite_int4"):
        parse_formats("tflite_int4")


def test_representative_images_from_files_and_tfrecords(tmp_path):
    from tests.helpers import fake_data

    for index in range(3):
        image = fake_data.random_image(80, 90, index)
        (tmp_path / f"photo{index}.jpg").write_bytes(fake_data.encode(image))
    images = load_representative_images(str(tmp_path / "*.jpg"), "content", 2, 32)
    assert images.shape == (2, 32, 32, 3) and 0 <= images.min() and images.max() <= 1
    records = fake_data.write_style_tfrecord(str(tmp_path / "styles.tfrecord"), num_images=5,
                                             size=48)
    images = load_representative_images(records, "style", 8, 32)
    assert images.shape == (5, 32, 32, 3)
    with pytest.raises(ValueError, match=r"\*\.png: no content TFRecord files or images found"):
        load_representative_images(str(tmp_path / "*.png"), "content", 2, 32)
    builtin = builtin_images(3, 40, seed=1)
    assert builtin.shape == (3, 40, 40, 3) and builtin.std() > 0.05
    np.testing.assert_array_equal(builtin, builtin_images(3, 40, seed=1))


@pytest.mark.slow
def test_pretrained_mobile_round_trip_at_released_shapes(pretrained_mobile, tmp_path):
    """The released weights at the released shapes: int8 pair >= 30 dB from the float model."""
    model = pretrained_mobile
    output_dir = tmp_path / "out"
    (check,) = export(model, output_dir, formats="tflite_int8",
                      num_calibration_images=8, log=lambda line: None)
    assert check.psnr >= 30.0
    transfer_model = load_interpreter(str(output_dir / "style_transfer_int8.tflite"))
    assert [(d["name"], d["shape"].tolist()) for d in transfer_model.get_input_details()] == [
        ("content_image", [1, 384, 384, 3]), ("mobilenet_conv/Conv/BiasAdd", [1, 1, 1, 100])]
    predict = load_interpreter(str(output_dir / "style_predict_int8.tflite"))
    assert predict.get_input_details()[0]["shape"].tolist() == [1, 256, 256, 3]
    # Trained weights (distinct biases, none shared) read back by the released names.
    assert {"transformer/contract/conv1/weights", "transformer/contract/conv1/Conv2D_bias"} \
        <= _tflite_tensor_names(output_dir / "style_transfer_int8.tflite")
    assert {"MobilenetV2/expanded_conv_3/depthwise/depthwise_weights",
            "MobilenetV2/expanded_conv_3/depthwise/depthwise_bias"} \
        <= _tflite_tensor_names(output_dir / "style_predict_int8.tflite")
    loaded = load_model(f"{output_dir / 'style_predict_int8.tflite'},"
                                f"{output_dir / 'style_transfer_int8.tflite'}")
    content, style = verification_inputs(256, 384)
    reference = model((tf.constant(content), tf.constant(style))).numpy()
    assert psnr(loaded((tf.constant(content), tf.constant(style))).numpy(), reference) >= 30.0
