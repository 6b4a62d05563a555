"""Raw dataset listing, splits and the TFRecord builders (library and scripts)."""
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from magenta_style import image_io
from magenta_style.data import builders
from magenta_style.data import records
from magenta_style.data import sources
from tests import ROOT
from tests.helpers import fake_data


def _read_style(pattern):
    files = sorted(tf.io.gfile.glob(pattern))
    return [{key: value.numpy() for key, value in records.parse_style_record(r).items()}
            for r in tf.data.TFRecordDataset(files)]


def _run_script(name, *args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, os.path.join(ROOT, "datasets", name), *args],
                          capture_output=True, text=True, env=env, timeout=120, check=False)


@pytest.fixture(name="pbn")
def _pbn(tmp_path):
    return fake_data.make_pbn(str(tmp_path / "pbn"))


@pytest.fixture(name="dtd")
def _dtd(tmp_path):
    return fake_data.make_dtd(str(tmp_path / "raw"))


def test_pbn_splits_are_disjoint_and_holdout_removes_test_artists(pbn):
    train = sources.list_pbn(pbn, "train")
    test = sources.list_pbn(pbn, "test")
    assert {e.path for e in train}.isdisjoint({e.path for e in test})
    assert all("/train/" in e.path for e in train) and all("/test/" in e.path for e in test)
    assert {e.metadata["artist"] for e in train} == {"a", "b", "c"}
    held = sources.list_pbn(pbn, "train", holdout_artists=True)
    assert {e.metadata["artist"] for e in held} == {"a", "b"}
    assert {e.metadata["artist"] for e in test} == {"c", "d"}
    assert len(sources.list_pbn(pbn, "all")) == len(train) + len(test)
    # Labels index the artists of the whole CSV, so they agree across splits.
    assert {e.label for e in test if e.metadata["artist"] == "c"} == \
        {e.label for e in train if e.metadata["artist"] == "c"} == {2}


def test_dtd_partitions(dtd):
    train = sources.list_dtd(dtd, "train", partition=2)
    test = sources.list_dtd(dtd, "test", partition=2)
    assert len(train) == 9 and len(test) == 3  # train + val vs test, 3 categories
    assert {e.path for e in train}.isdisjoint({e.path for e in test})
    assert len(sources.list_dtd(dtd, "all")) == 12
    assert sorted({e.label for e in test}) == [0, 1, 2]
    with pytest.raises(sources.DatasetError, match="partitions are 1..10"):
        sources.list_dtd(dtd, "train", partition=3)


def test_bad_layouts_raise_one_line(tmp_path):
    for call in (lambda: sources.list_pbn(str(tmp_path)),
                 lambda: sources.list_dtd(str(tmp_path)),
                 lambda: sources.list_pbn(str(tmp_path), split="val")):
        with pytest.raises(sources.DatasetError) as error:
            call()
        assert "\n" not in str(error.value)


def test_style_builder_handles_messy_files(tmp_path):
    folder = tmp_path / "styles"
    fake_data.write_messy_files(str(folder / "messy"))
    fake_data.make_image_folder(str(folder), classes=("cubism",), per_class=2)
    prefix = str(tmp_path / "out" / "folder")
    summary = builders.build_style_tfrecords(
        "folder", str(folder), prefix, num_shards=2, max_shorter_side=32, num_workers=1)
    expected_skips = {name for name, reason in fake_data.MESSY_FILES.items() if reason}
    assert summary["num_written"] == 2 + len(fake_data.MESSY_FILES) - len(expected_skips)
    skipped = dict(line.rstrip("\n").split("\t")
                   for line in open(prefix + ".skipped.txt", encoding="utf-8"))
    assert {os.path.basename(path) for path in skipped} == expected_skips
    for path, reason in skipped.items():
        assert fake_data.MESSY_FILES[os.path.basename(path)] in reason
    rows = _read_style(prefix + "-*.tfrecord")
    assert sum(s["records"] for s in summary["shards"]) == len(rows) == summary["num_written"]
    for row in rows:
        image = tf.io.decode_jpeg(row["image_bytes"]).numpy().astype(np.float64)
        assert image.shape[-1] == 3 and min(image.shape[:2]) == 32
        assert row["source"] == b"folder"
        # The picture is its file's, upright RGB (alpha on white), shorter side 32: mean abs
        # difference from PIL's own reading measured 1.8-4.2 (JPEG re-encoding); another file's
        # picture is >= 43 away.
        (path,) = folder.rglob(row["filename"].decode())
        with Image.open(path) as source:
            if source.mode == "RGBA":
                source = Image.alpha_composite(Image.new("RGBA", source.size, "white"), source)
            expected = np.asarray(source.convert("RGB").resize(image.shape[1::-1], Image.LANCZOS))
        assert np.abs(image - expected).mean() < 12, path
    assert json.load(open(prefix + ".summary.json"))["num_skipped"] == len(expected_skips)


def test_subset_is_reproducible_and_replaces_failures(pbn, tmp_path):
    def build(name, seed):
        builders.build_style_tfrecords(
            "pbn", pbn, str(tmp_path / name), split="train", num_images=5, seed=seed,
            num_workers=1)
        return [row["filename"] for row in _read_style(str(tmp_path / name) + "-*.tfrecord")]
    first, again = build("a", 3), build("b", 3)
    assert first == again and len(first) == 5  # 7 train files, 1 truncated: still 5
    assert b"99.jpg" not in first


def test_style_script_end_to_end(pbn, tmp_path):
    prefix = str(tmp_path / "records" / "pbn_train")
    args = ["--source=pbn", f"--input_dir={pbn}", f"--output_prefix={prefix}",
            "--split=train", "--holdout_artists", "--num_shards=2", "--num_workers=2"]
    result = _run_script("build_style_tfrecords.py", *args)
    assert result.returncode == 0, result.stderr
    assert "images/s" in result.stderr and "skipped 1" in result.stderr
    names = sorted(os.listdir(tmp_path / "records"))
    assert names == ["pbn_train-00000-of-00002.tfrecord", "pbn_train-00001-of-00002.tfrecord",
                     "pbn_train.skipped.txt", "pbn_train.summary.json"]
    rows = _read_style(prefix + "-*.tfrecord")
    assert len(rows) == 4 and {row["artist"] for row in rows} == {b"a", b"b"}
    assert "99.jpg\ttruncated" in open(prefix + ".skipped.txt").read()

    refused = _run_script("build_style_tfrecords.py", *args)
    assert refused.returncode != 0 and "already exists" in refused.stderr
    assert sorted(os.listdir(tmp_path / "records")) == names  # untouched, no temporaries


def test_script_bad_flag_gives_one_line(tmp_path):
    result = _run_script("build_style_tfrecords.py", "--source=paintings",
                         f"--input_dir={tmp_path}", f"--output_prefix={tmp_path}/x")
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if ": error:" in line]
    assert len(lines) == 1 and "--source" in lines[0], result.stderr
    missing = _run_script("build_content_tfrecords.py", f"--input_dir={tmp_path}/nothing",
                          f"--output_dir={tmp_path}/out")
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines()[-1].endswith("not found (not a directory)")


def test_content_script_end_to_end_and_overwrite(tmp_path):
    source = fake_data.make_image_folder(str(tmp_path / "ilsvrc"))
    fake_data.write_messy_files(str(tmp_path / "ilsvrc" / "n01443537"))
    out = str(tmp_path / "imagenet")
    result = _run_script("build_content_tfrecords.py", f"--input_dir={source}",
                         f"--output_dir={out}", "--num_shards=3", "--num_workers=1")
    assert result.returncode == 0, result.stderr
    files = tf.io.gfile.glob(os.path.join(out, "train-*-of-00003"))
    assert len(files) == 3
    rows = [{k: v.numpy() for k, v in tf.io.parse_single_example(r, {
        "image/class/label": tf.io.FixedLenFeature([], tf.int64),
        "image/class/synset": tf.io.FixedLenFeature([], tf.string),
        "image/height": tf.io.FixedLenFeature([], tf.int64),
        "image/format": tf.io.FixedLenFeature([], tf.string)}).items()}
        for r in tf.data.TFRecordDataset(files)]
    assert len(rows) == 6 + 3  # 3 messy files are readable
    assert {(r["image/class/label"], r["image/class/synset"]) for r in rows} == \
        {(1, b"n01440764"), (2, b"n01443537")}
    assert all(r["image/format"] == b"JPEG" and r["image/height"] > 0 for r in rows)
    # Overwriting with fewer shards removes the stale ones.
    builders.build_content_tfrecords(source, out, num_shards=1, num_workers=1,
                                     overwrite=True)
    assert [os.path.basename(p) for p in tf.io.gfile.glob(os.path.join(out, "train-*"))] == \
        ["train-00000-of-00001"]


def test_encode_rgb_jpeg_orientation_passthrough_and_bound():
    pixels = fake_data.random_image(30, 50)
    plain = fake_data.encode(pixels)
    assert image_io.encode_rgb_jpeg(plain, max_shorter_side=64) == (plain, 50, 30)  # as is
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: viewers rotate it 90 degrees clockwise
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", exif=exif)
    jpeg, width, height = image_io.encode_rgb_jpeg(buffer.getvalue(), max_shorter_side=64)
    assert (width, height) == (30, 50) and jpeg != buffer.getvalue()
    with Image.open(io.BytesIO(jpeg)) as upright:
        assert upright.getexif().get(0x0112, 1) == 1  # no viewer turns it again
        upright = np.asarray(upright.convert("RGB"), np.float64)
    # Mean abs difference from the pixels turned clockwise: measured 6.6 (two JPEG encodings;
    # one alone gives 6.5); turned the other way, 80.
    assert np.abs(upright - np.rot90(pixels, k=-1)).mean() < 20
    assert np.abs(upright - np.rot90(pixels, k=1)).mean() > 60
    _, width, height = image_io.encode_rgb_jpeg(plain, max_shorter_side=20)
    assert min(width, height) == 20
