"""A 227 x 301 photo stylized from a Magenta checkpoint equals Magenta's picture, cropped, in the
magenta-stylize CLI, the SavedModel export and the resizable TFLite transfer model.

Magenta's graph gives 228 x 304 for it (SPEC 7); every path must return exactly 227 x 301
equal to its top-left part, to ~3x the max abs difference measured: the SavedModel 1.7e-5, the
TFLite transfer model 2.2e-5 (on Magenta's own bottleneck), the CLI 8.6e-6 beyond PNG rounding
(0.5 / 255).
"""
import numpy as np
import pytest
import tensorflow as tf
from absl import flags
from absl.testing import flagsaver
from PIL import Image

from magenta_style.cli import stylize
from magenta_style.export.saved_model import save_saved_model
from magenta_style.export.tflite import convert_tflite
from magenta_style.inference.tflite_graphs import rename_io_tensors, write_tflite_source
from magenta_style.litert import (
    BOTTLENECK,
    CONTENT_IMAGE,
    TRANSFER_INPUTS,
    TRANSFER_OUTPUTS,
    load_interpreter,
)
from tests.reference.conftest import FULL_CONTENT_SIZES, FULL_STYLE_SIZE
from tests.helpers.tf1_checkpoint import write_model_checkpoint

SIZE = (227, 301)
INDEX = FULL_CONTENT_SIZES.index(SIZE)
SAVED_MODEL_TOLERANCE = 5e-5  # measured 1.7e-5 (the fast graph and the folded predictor)
TFLITE_TOLERANCE = 7e-5  # measured 2.2e-5
CLI_TOLERANCE = 0.5 / 255 + 3e-5  # PNG rounding + measured 8.6e-6


@pytest.fixture(scope="module")
def photo(reference):
    """(content [1, 227, 301, 3], style [1, h, w, 3], Magenta's stylized cropped [227, 301, 3])."""
    reference.reset()
    magenta = reference.task("stylize_full")[f"stylized/{INDEX}"]
    assert magenta.shape[:2] == (228, 304)
    content = reference.inputs[f"content_{SIZE[0]}x{SIZE[1]}"][None]
    return content, reference.inputs["style_full"][None], magenta[:SIZE[0], :SIZE[1]]


@pytest.mark.slow
def test_cli_from_a_magenta_checkpoint(reference, photo, tmp_path):
    content, style, magenta = photo
    checkpoint = write_model_checkpoint(tmp_path / "ckpt" / "model.ckpt", reference.full, "full")
    paths = {}
    for name, image in (("photo", content[0]), ("style", style[0])):
        paths[name] = str(tmp_path / f"{name}.png")
        Image.fromarray(np.round(image * 255).astype(np.uint8)).save(paths[name])
    flags.FLAGS.mark_as_parsed()
    with flagsaver.flagsaver(content_images_paths=paths["photo"], style_images_paths=paths["style"],
                             output_dir=str(tmp_path / "out"), model=checkpoint, image_size=0,
                             style_image_size=min(FULL_STYLE_SIZE)):
        assert stylize.main(["stylize"]) == 0
    written = np.asarray(Image.open(tmp_path / "out" / "photo_stylized_style_0.png"))
    assert written.shape == (*SIZE, 3)
    assert np.abs(written / 255.0 - magenta).max() <= CLI_TOLERANCE


@pytest.mark.slow
def test_saved_model(reference, photo, tmp_path):
    content, style, magenta = photo
    loaded = tf.saved_model.load(save_saved_model(reference.full, str(tmp_path / "saved_model")))
    stylized = loaded.signatures["serving_default"](
        content_image=tf.constant(content), style_image=tf.constant(style))["stylized_image"]
    assert stylized.shape == (1, *SIZE, 3)
    assert np.abs(stylized.numpy()[0] - magenta).max() <= SAVED_MODEL_TOLERANCE


@pytest.mark.slow
def test_resizable_tflite_transfer_model(reference, photo, tmp_path):
    content, style, magenta = photo
    source = write_tflite_source(reference.full, str(tmp_path / "source"), min(FULL_STYLE_SIZE), 0)
    converted = rename_io_tensors(convert_tflite(source, "transfer", "tflite_float"),
                                  TRANSFER_INPUTS, TRANSFER_OUTPUTS)
    path = tmp_path / "transfer.tflite"
    path.write_bytes(converted)
    interpreter = load_interpreter(str(path))
    inputs = {detail["name"]: detail for detail in interpreter.get_input_details()}
    content_input, bottleneck_input = inputs[CONTENT_IMAGE], inputs[BOTTLENECK]
    assert content_input["shape_signature"].tolist() == [1, -1, -1, 3]
    interpreter.resize_tensor_input(content_input["index"], list(content.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(content_input["index"], content)
    bottleneck = reference.task("stylize_full")[f"bottleneck/{INDEX}"]  # Magenta's own
    interpreter.set_tensor(bottleneck_input["index"], bottleneck.reshape(1, 1, 1, -1))
    interpreter.invoke()
    stylized = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    assert stylized.shape == (1, *SIZE, 3)
    assert np.abs(stylized[0] - magenta).max() <= TFLITE_TOLERANCE
