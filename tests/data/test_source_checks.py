"""Bad data sources end within seconds with one line naming the source and the counts, in
training, evaluation and int8-calibration pipelines; mixed good and bad records keep going.
Real files: undecodable records, a text file named .tfrecord, a TFRecord cut in half."""
import os
import subprocess
import sys

import pytest
import tensorflow as tf

from magenta_style import data
from magenta_style.errors import DataError
from magenta_style.export import calibration
from tests import ROOT
from tests.helpers import fake_data
from tests.helpers.train_cli import TIMEOUT, environment, tiny_flags


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    root = tmp_path_factory.mktemp("sources")
    good = fake_data.write_style_tfrecord(str(root / "good.tfrecord"), num_images=4, size=40)
    bad = fake_data.write_style_tfrecord(str(root / "bad.tfrecord"), num_images=5, size=40,
                                         corrupt=range(5))
    mixed = fake_data.write_style_tfrecord(str(root / "mixed.tfrecord"), num_images=4, size=40,
                                           corrupt=(1, 2))
    text = root / "notes.tfrecord"
    text.write_text("these are my notes, not records\n" * 20)
    truncated = root / "truncated.tfrecord"
    with open(good, "rb") as f:
        truncated.write_bytes(f.read()[:-100])
    fake_data.write_imagenet_shards(str(root / "imagenet"), num_shards=2, images_per_shard=2,
                                    size=40, split="train")
    return {"good": good, "bad": bad, "mixed": mixed, "text": str(text),
            "truncated": str(truncated), "imagenet": str(root / "imagenet")}


def style_batches(source, **kwargs):
    return data.style_dataset([source], batch_size=2, image_size=32, seed=0,
                              random_style_image_size=False, **kwargs)


@pytest.mark.parametrize("training", [True, False])
def test_source_without_a_decodable_image_is_one_line_with_counts(sources, training):
    with pytest.raises(DataError) as error:
        next(iter(style_batches(sources["bad"], training=training)))
    assert str(error.value) == (
        f"{sources['bad']}: no decodable style image in all 5 records read (5 skipped: 5 not a "
        "whole JPEG/PNG/GIF/BMP/WebP (empty, truncated, another format, or too large))")


@pytest.mark.parametrize("name, problem", [
    ("text", "not a TFRecord file (its first record would be "),
    ("truncated", "truncated: record 3 at byte "),
])
def test_broken_record_file_is_one_line_naming_it(sources, name, problem):
    with pytest.raises(DataError) as error:
        style_batches(sources[name])
    assert str(error.value).startswith(f"{sources[name]}: {problem}")
    # Among good files too: the broken one is named.
    with pytest.raises(DataError) as error:
        data.style_dataset([sources["good"], sources[name]], batch_size=2, image_size=32)
    assert str(error.value).startswith(f"{sources[name]}: {problem}")


def test_mixed_good_and_bad_records_train_and_count_the_bad(sources):
    skipped = data.SkippedRecords()
    batches = list(style_batches(sources["mixed"], training=True, skipped=skipped).take(4))
    assert len(batches) == 4  # the repeating pipeline goes on past the bad records
    for batch in batches:
        assert batch["image"].shape == (2, 32, 32, 3)
    assert skipped.result() >= 2
    # What is kept are the decoded pictures, not blanks (seen without the training colour
    # jitter, which can saturate a bright picture to one flat colour).
    kept, = style_batches(sources["mixed"], training=False).take(1)
    for image in kept["image"]:
        assert float(tf.reduce_max(image) - tf.reduce_min(image)) > 0.1


def test_content_directory_without_the_shards_says_what_it_holds(sources):
    with pytest.raises(DataError) as error:
        data.content_dataset(sources["imagenet"], batch_size=1, image_size=32, training=False)
    assert str(error.value) == (
        f"{sources['imagenet']}: no validation-*-of-* TFRecord shards and no image files "
        "(.jpg, .jpeg, .png, .webp, .bmp, .gif) in it; it holds train-00000-of-00002, "
        "train-00001-of-00002 (2 entries)")


def test_int8_calibration_input_is_checked_too(sources):
    with pytest.raises(DataError, match="no decodable style image"):
        calibration.load_representative_images(sources["bad"], "style", 2, 32)


def test_train_py_stops_within_seconds_on_a_style_source_with_no_image(sources, tmp_path):
    records = {"style": sources["bad"], "imagenet": sources["imagenet"]}
    result = subprocess.run([sys.executable, os.path.join(ROOT, "train.py"),
                             *tiny_flags(records, str(tmp_path / "run"))], cwd=ROOT,
                            env=environment(), capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("train.py:")]
    assert errors == [f"train.py: error: {sources['bad']}: no decodable style image in all 5 "
                      "records read (5 skipped: 5 not a whole JPEG/PNG/GIF/BMP/WebP (empty, "
                      "truncated, another format, or too large))"]
