"""tf.data pipelines: decoding, preprocessing, augmentation, sources, robustness."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from magenta_style.data.image_ops import (  # pylint: disable=protected-access
    _crop_window,
    _resize_crop,
    apply_style_jitter,
    central_crop,
    central_window,
    decode_content_image,
    decode_crops,
    decode_image,
    jitter_style_images,
    preprocess_content_image,
    random_batch_size_resize,
    random_style_window,
    resize_shorter_side_bilinear,
    style_jitter_params,
)
from magenta_style.data.pipelines import SkippedRecords, content_dataset, style_dataset
from tests import ROOT
from tests.helpers import fake_data
from tests.helpers.optional import require

SIZE = 32


def _in_map(function, *inputs):
    """Runs function inside Dataset.map (graph mode) on one element."""
    return next(iter(tf.data.Dataset.from_tensors(inputs).map(function)))


@pytest.fixture(name="messy", scope="module")
def _messy(tmp_path_factory):
    paths = fake_data.write_messy_files(str(tmp_path_factory.mktemp("messy")))
    return {name: open(path, "rb").read() for name, path in paths.items()}


@pytest.fixture(name="style_files", scope="module")
def _style_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("styles")
    return [fake_data.write_style_tfrecord(str(folder / "a.tfrecord"), 6, 48, seed=1),
            fake_data.write_style_tfrecord(str(folder / "b.tfrecord"), 6, 48, seed=2,
                                           labels=[10 + i for i in range(6)], corrupt=(3,))]


@pytest.fixture(name="content_dir", scope="module")
def _content_dir(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("imagenet"))
    fake_data.write_imagenet_shards(folder, num_shards=2, images_per_shard=4, size=40)
    fake_data.write_imagenet_shards(folder, num_shards=1, images_per_shard=3, size=40,
                                    split="validation")
    return folder


def test_decode_image_validity_flag(messy):
    expected = {name: reason is None for name, reason in fake_data.MESSY_FILES.items()}
    for name, data_bytes in messy.items():
        for image, valid in (decode_image(tf.constant(data_bytes)),
                             _in_map(decode_image, tf.constant(data_bytes))):
            assert bool(valid) == expected[name], name
            assert image.shape[-1] == 3 and image.dtype == tf.uint8
    image, _ = decode_image(tf.constant(messy["gray.png"]))
    np.testing.assert_array_equal(image[..., 0], image[..., 2])  # gray -> equal channels
    assert not bool(decode_image(tf.constant(b""))[1])


def test_content_preprocessing_shapes_eager_and_in_map():
    image = tf.random.uniform([40, 70, 3])
    resized = resize_shorter_side_bilinear(image, SIZE + 2)
    assert resized.shape == (34, 60, 3)
    pixels = tf.cast(tf.round(image * 255), tf.uint8)
    for output in (preprocess_content_image(image, SIZE),
                   _in_map(lambda x: preprocess_content_image(x, SIZE), pixels)):
        assert output.shape == (SIZE, SIZE, 3) and output.dtype == tf.float32
        assert 0.0 <= float(tf.reduce_min(output)) <= float(tf.reduce_max(output)) <= 1.0
    np.testing.assert_allclose(preprocess_content_image(pixels, SIZE),  # uint8 == float
                               preprocess_content_image(tf.cast(pixels, tf.float32) / 255,
                                                        SIZE), atol=1e-5)
    # The central crop of an un-resized image is its exact centre.
    np.testing.assert_array_equal(central_crop(image, 20), image[10:30, 25:45])


def _augment_style_image(image, seed):
    """The style pipeline's augmentation of one image: a random S x S window of the image
    resized to a random shorter side in [S + 2, S + extra), then colour jitter and flips."""
    crop_seed, jitter_seed = tf.unstack(tf.random.experimental.stateless_split(seed, num=2))
    shape = tf.shape(image)
    window = random_style_window(shape[0], shape[1], SIZE, crop_seed)
    crop = _resize_crop(_crop_window(image, window), SIZE)
    return jitter_style_images(crop[None], jitter_seed)[0]


def test_style_augmentation_ranges_and_determinism():
    image = tf.convert_to_tensor(fake_data.random_image(50, 60) / 255.0, tf.float32)
    seed = tf.constant([1, 2], tf.int64)
    first = _augment_style_image(image, seed)
    again = _in_map(_augment_style_image, image, seed)
    assert first.shape == (SIZE, SIZE, 3)
    np.testing.assert_allclose(first, again, atol=1e-6)
    outputs = [_augment_style_image(image, tf.constant([i, 7], tf.int64))
               for i in range(6)]
    assert all(0.0 <= float(tf.reduce_min(o)) and float(tf.reduce_max(o)) <= 1.0 for o in outputs)
    assert len({float(tf.reduce_sum(o)) for o in outputs}) == 6  # seeds differ -> images differ
    sizes = {random_batch_size_resize(tf.zeros([2, SIZE, SIZE, 3]),
                                      tf.constant([i, 0], tf.int64)).shape[1]
             for i in range(20)}
    assert all(128 <= size < 300 for size in sizes) and len(sizes) > 1


def test_style_training_batches(style_files):
    skipped = SkippedRecords()
    dataset = style_dataset(style_files, batch_size=4, image_size=SIZE, seed=0,
                            skipped=skipped)
    for batch in dataset.take(3):
        assert batch["image"].dtype == tf.float32 and batch["image"].shape[0] == 4
        height = batch["image"].shape[1]
        assert batch["image"].shape[2] == height and 128 <= height < 300
        assert batch["image_original"].shape == (4, SIZE, SIZE, 3)
        assert batch["label"].dtype == tf.int64
        assert set(batch) >= {"source", "artist", "filename"}
        assert float(tf.reduce_min(batch["image"])) >= 0.0
        assert float(tf.reduce_max(batch["image"])) <= 1.0
    fixed = style_dataset(style_files, 4, SIZE, random_style_image_size=False,
                          augment_style_images=False, seed=0, skipped=skipped)
    batch = next(iter(fixed))
    assert batch["image"].shape == (4, SIZE, SIZE, 3) and "image_original" not in batch


def test_training_survives_corrupt_record_and_counts_it(style_files):
    skipped = SkippedRecords()
    dataset = style_dataset(style_files[1], batch_size=5, image_size=SIZE, seed=1,
                            skipped=skipped, random_style_image_size=False)
    labels = np.concatenate([batch["label"].numpy() for batch in dataset.take(4)])
    assert 13 not in labels and set(labels) == {10, 11, 12, 14, 15}
    assert skipped.result() >= 3  # the one bad record, once per epoch read so far
    skipped.reset()
    assert skipped.result() == 0


def test_evaluation_is_deterministic_single_pass(style_files):
    def run(seed):
        dataset = style_dataset(style_files, batch_size=4, image_size=SIZE,
                                training=False, seed=seed, skipped=SkippedRecords())
        return [batch for batch in dataset]
    first, second = run(0), run(5)
    labels = np.concatenate([batch["label"].numpy() for batch in first])
    assert list(labels) == [0, 1, 2, 3, 4, 5, 10, 11, 12, 14, 15]  # file order, one pass
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a["image"], b["image"])
        assert "image_original" not in a and a["image"].shape[1:] == (SIZE, SIZE, 3)


def test_training_with_seed_is_reproducible(style_files):
    def run():
        dataset = style_dataset(style_files, batch_size=3, image_size=SIZE, seed=4,
                                skipped=SkippedRecords())
        return [batch["image"].numpy() for batch in dataset.take(2)]
    for a, b in zip(run(), run()):
        np.testing.assert_array_equal(a, b)


def test_mixing_weights_and_num_styles(style_files):
    only_a = style_dataset(style_files, batch_size=4, image_size=SIZE, weights=[1.0, 0.0],
                           seed=0, random_style_image_size=False,
                           skipped=SkippedRecords())
    labels = np.concatenate([b["label"].numpy() for b in only_a.take(3)])
    assert set(labels) <= set(range(6))
    with pytest.raises(ValueError, match="2 style sources"):
        style_dataset(style_files, weights=[1.0])
    few = style_dataset(style_files, batch_size=4, image_size=SIZE, num_styles=3, seed=0,
                        random_style_image_size=False, skipped=SkippedRecords())
    labels = np.concatenate([b["label"].numpy() for b in few.take(3)])
    assert set(labels) == {0, 1, 2}


def test_per_worker_sharding(style_files, content_dir):
    def labels(worker, source_kind):
        context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=worker,
                                             num_replicas_in_sync=2)
        if source_kind == "style":
            dataset = style_dataset(style_files, batch_size=4, image_size=SIZE,
                                    training=False, input_context=context,
                                    skipped=SkippedRecords())
        else:
            dataset = content_dataset(os.path.join(content_dir, "train-*"), batch_size=4,
                                      image_size=SIZE, training=False,
                                      input_context=context, skipped=SkippedRecords())
        batches = list(dataset)
        assert all(batch["image"].shape[0] <= 2 for batch in batches)  # per-replica batch
        return [tuple(batch["image"].numpy().reshape(len(batch["image"]), -1).sum(1).round(3))
                for batch in batches]
    for kind in ("style", "content"):
        first, second = labels(0, kind), labels(1, kind)
        flat_first = {v for batch in first for v in batch}
        flat_second = {v for batch in second for v in batch}
        assert flat_first and flat_second and flat_first.isdisjoint(flat_second)


def test_content_sources(content_dir, tmp_path):
    train = content_dataset(content_dir, batch_size=3, image_size=SIZE, seed=0,
                            skipped=SkippedRecords())
    for batch in train.take(4):  # repeats past the 8 records
        assert batch["image"].shape == (3, SIZE, SIZE, 3) and batch["image"].dtype == tf.float32
        assert set(batch["label"].numpy()) <= {1, 2, 3}
    validation = content_dataset(content_dir, batch_size=2, image_size=SIZE,
                                 training=False, skipped=SkippedRecords())
    assert sum(len(b["label"]) for b in validation) == 3
    folder = fake_data.make_image_folder(str(tmp_path / "photos"))
    fake_data.write_messy_files(str(tmp_path / "photos" / "n01443537"))
    skipped = SkippedRecords()
    photos = content_dataset(folder, batch_size=4, image_size=SIZE, training=False,
                             skipped=skipped)
    assert sum(len(b["label"]) for b in photos) == 9 and skipped.result() == 3
    with pytest.raises(ValueError, match="no content TFRecord files or images"):
        content_dataset(str(tmp_path / "missing-*"))


def test_tfds_painter_by_numbers_source_registers_its_builder(tmp_path):
    """`tfds:painter_by_numbers` in a fresh process that imports only the pipeline: reading
    it must register our builder, which then prepares the Kaggle files found in tfds' manual
    dir (<data_dir>/downloads/manual) and reads them."""
    require("importlib_resources")  # tfds needs it to prepare datasets
    data_dir = str(tmp_path / "tfds")
    fake_data.make_pbn(os.path.join(data_dir, "downloads", "manual"))
    script = textwrap.dedent(f"""
        import json
        from magenta_style.data.pipelines import SkippedRecords, style_dataset
        batches = list(style_dataset("tfds:painter_by_numbers@test", batch_size=2, image_size={SIZE},
                                     training=False, tfds_data_dir={data_dir!r},
                                     skipped=SkippedRecords()))
        import tensorflow_datasets as tfds
        info = tfds.builder("painter_by_numbers", data_dir={data_dir!r}).info
        print(json.dumps({{"artists": sorted(a.decode() for b in batches for a in b["artist"].numpy()),
                          "shape": list(batches[0]["image"].shape[1:]),
                          "splits": {{name: split.num_examples for name, split in info.splits.items()}}}}))
        """)
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="",
               TFDS_DATA_DIR=data_dir)
    result = subprocess.run([sys.executable, "-c", script], cwd=str(tmp_path), env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    read = json.loads(result.stdout.strip().splitlines()[-1])
    assert read["artists"] == ["c", "d", "d"] and read["shape"] == [SIZE, SIZE, 3]
    assert read["splits"] == {"train": 6, "test": 3}  # the truncated training file is skipped


def _smooth_image(height, width, seed=3):
    """uint8 [H, W, 3] photo-like: fake_data's gradients + noise, upsampled 8x (bicubic)."""
    small = fake_data.random_image(height // 8, width // 8, seed=seed).astype(np.float32)
    smooth = tf.image.resize(small, [height, width], method="bicubic")
    return np.clip(smooth.numpy(), 0, 255).astype(np.uint8)


def test_decode_crops_match_slices_of_the_full_decode(messy):
    pixels = _smooth_image(64, 96)
    windows = tf.constant([[3, 5, 20, 30], [11, 17, 33, 21], [0, 0, 64, 96]], tf.int32)
    # JPEG: the outermost pixels differ by chroma upsampling at the window edge.
    for image_format, tolerance in (("JPEG", 2), ("PNG", 0)):
        image_bytes = tf.constant(fake_data.encode(pixels, image_format))
        full, _ = decode_image(image_bytes)
        for crops, valid in (decode_crops(image_bytes, lambda h, w: windows),
                             _in_map(lambda b: decode_crops(b, lambda h, w: windows),
                                     image_bytes)):
            assert bool(valid)
            for crop, window in zip(crops, windows.numpy()):
                top, left, height, width = window
                expected = full.numpy()[top:top + height, left:left + width].astype(int)
                assert crop.dtype == tf.uint8 and crop.shape == expected.shape
                assert np.abs(crop.numpy().astype(int) - expected).max() <= tolerance
    for name, reason in fake_data.MESSY_FILES.items():  # same validity as decode_image
        crops, valid = decode_crops(tf.constant(messy[name]),
                                    lambda h, w: tf.stack([[0, 0, h, w]]))
        assert bool(valid) == (reason is None), name
        assert crops[0].shape[-1] == 3


@pytest.mark.parametrize("height,width", [(70, 96), (96, 61), (33, 40)])
def test_decode_content_image_matches_reference_preprocessing(height, width):
    # Decoding + resizing only the central window samples up to half a source
    # pixel off the reference grid: measured mean |diff| <= 0.0027, max <= 0.019 here
    # (photos at S = 256: mean 0.0096, see BENCHMARKS.md).
    for image_format in ("JPEG", "PNG"):
        image_bytes = tf.constant(fake_data.encode(_smooth_image(height, width), image_format))
        reference = preprocess_content_image(decode_image(image_bytes)[0], SIZE)
        for image, valid in (decode_content_image(image_bytes, SIZE),
                             _in_map(lambda b: decode_content_image(b, SIZE), image_bytes)):
            assert bool(valid) and image.shape == (SIZE, SIZE, 3) and image.dtype == tf.float32
            difference = np.abs(image.numpy() - reference.numpy())
            assert difference.mean() < 0.005 and difference.max() < 0.04, (height, width)


def test_central_window_is_the_reference_crop_in_source_pixels():
    # 400 x 300 -> shorter side 258: 344 x 258, crop rows 44..299 = source 51.2..348.8.
    np.testing.assert_array_equal(central_window(400, 300, 256), [51, 1, 298, 298])
    np.testing.assert_array_equal(central_window(1, 1, 32), [0, 0, 1, 1])
    for seed in range(5):
        top, left, height, width = random_style_window(
            50, 80, SIZE, tf.constant([seed, 1], tf.int64)).numpy()
        assert height == width and SIZE * 50 / (SIZE + 200) <= height <= 50
        assert 0 <= top <= 50 - height and 0 <= left <= 80 - width


def test_batched_style_jitter_matches_tf_image_ops():
    images = tf.random.uniform([6, 24, 20, 3], seed=1)
    params = style_jitter_params(6, tf.constant([3, 4], tf.int64))
    for jittered in (apply_style_jitter(images, params),
                     _in_map(apply_style_jitter, images, params)):
        for index in range(6):
            expected = tf.image.adjust_brightness(images[index], params["brightness"][index])
            expected = tf.image.adjust_saturation(expected, params["saturation"][index])
            expected = tf.image.adjust_hue(expected, params["hue"][index])
            expected = tf.clip_by_value(expected, 0.0, 1.0).numpy()
            if params["flip_left_right"][index]:
                expected = expected[:, ::-1]
            if params["flip_up_down"][index]:
                expected = expected[::-1]
            np.testing.assert_allclose(jittered[index], expected, atol=1e-5)
    assert abs(float(tf.reduce_max(params["brightness"]))) <= 0.8
    assert all(0.5 <= float(value) <= 1.5 for value in params["saturation"])


def test_style_training_without_original(style_files):
    dataset = style_dataset(style_files, batch_size=4, image_size=SIZE, seed=0,
                            with_original=False, skipped=SkippedRecords())
    batch = next(iter(dataset))
    assert "image_original" not in batch and 128 <= batch["image"].shape[1] < 300


def test_evaluation_content_is_the_exact_reference_crop(tmp_path):
    image = fake_data.random_image(45, 61, seed=5)
    path = tmp_path / "photo.png"
    from PIL import Image
    Image.fromarray(image).save(path)
    (batch,) = content_dataset(str(tmp_path), batch_size=1, image_size=SIZE,
                               training=False, skipped=SkippedRecords())
    expected = preprocess_content_image(tf.constant(image), SIZE)
    np.testing.assert_array_equal(batch["image"][0].numpy(), expected.numpy())
