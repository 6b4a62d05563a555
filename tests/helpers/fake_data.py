"""Tiny fake datasets in the real layouts, for tests of any module.

Style / content TFRecords for training and evaluation tests:
  write_style_tfrecord(path, num_images, size, seed)
  write_imagenet_shards(directory, num_shards, images_per_shard, size)
Raw folders for builder tests: make_pbn, make_dtd, make_image_folder, plus
`write_messy_files` (CMYK, gray, RGBA, truncated, non-image, huge header).
"""
import csv
import io
import os
import struct
import zlib

import numpy as np
from PIL import Image

from magenta_style.data import records


def random_image(height, width=None, seed=0):
    """uint8 [H, W, 3]: smooth colour gradients plus noise (JPEG-friendly)."""
    width = width or height
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    phases = rng.uniform(0, 2 * np.pi, size=(3, 2))
    scale = rng.uniform(0.05, 0.2)
    channels = [np.sin(x * scale + phases[c, 0]) + np.cos(y * scale + phases[c, 1])
                for c in range(3)]
    image = (np.stack(channels, -1) + 2) / 4 * 255 + rng.normal(0, 8, (height, width, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def encode(array, image_format="JPEG", mode=None):
    """uint8 array -> encoded bytes (optionally converted to PIL `mode` first)."""
    image = Image.fromarray(array)
    if mode:
        image = image.convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


def huge_png_header(width=20000, height=20000):
    """A valid PNG start claiming width x height pixels (beyond PIL's limit), ~60 bytes."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


# File name -> reason fragment for files a builder must skip; others must be kept.
MESSY_FILES = {
    "cmyk.jpg": None, "gray.png": None, "rgba.png": None,
    "truncated.jpg": "truncated", "notes.jpg": "not an image", "huge.png": "too large",
}


def write_messy_files(directory, size=48, seed=0):
    """Writes the MESSY_FILES into `directory`; returns their paths by name."""
    os.makedirs(directory, exist_ok=True)
    pixels = random_image(size, size + 8, seed)
    rgba = np.concatenate([pixels, np.full(pixels.shape[:2] + (1,), 128, np.uint8)], -1)
    contents = {
        "cmyk.jpg": encode(pixels, "JPEG", "CMYK"),
        "gray.png": encode(pixels, "PNG", "L"),
        "rgba.png": encode(rgba, "PNG"),
        "truncated.jpg": encode(pixels)[:300],
        "notes.jpg": b"this is not an image\n",
        "huge.png": huge_png_header(),
    }
    paths = {}
    for name, data in contents.items():
        paths[name] = os.path.join(directory, name)
        with open(paths[name], "wb") as stream:
            stream.write(data)
    return paths


def _write_jpeg(path, size, seed):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as stream:
        stream.write(encode(random_image(size, size + seed % 17, seed)))


def write_style_tfrecord(path, num_images=8, size=64, seed=0, labels=None, corrupt=()):
    """Writes a Magenta-format style TFRecord; returns path.

    labels: per-image int labels (default 0..num_images-1). corrupt: indices
    whose image_raw is replaced by garbage (for robustness tests).
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with tf.io.TFRecordWriter(os.fspath(path)) as writer:
        for index in range(num_images):
            data = encode(random_image(size, size + 8 * (index % 3), seed * 1000 + index))
            if index in corrupt:
                data = data[: len(data) // 3]
            label = labels[index] if labels is not None else index
            writer.write(records.style_example(
                data, label, {"source": "fake", "artist": f"artist{label}",
                              "filename": f"{seed}_{index}.jpg"}))
    return os.fspath(path)


def write_imagenet_shards(directory, num_shards=2, images_per_shard=4, size=64,
                          split="train", seed=0):
    """Writes slim-format `<split>-0000i-of-0000n` shards; returns their paths."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    os.makedirs(directory, exist_ok=True)
    paths = []
    for shard in range(num_shards):
        path = os.path.join(directory, f"{split}-{shard:05d}-of-{num_shards:05d}")
        with tf.io.TFRecordWriter(path) as writer:
            for index in range(images_per_shard):
                image_seed = seed * 100000 + shard * 1000 + index
                pixels = random_image(size, size + 8 * (index % 3), image_seed)
                writer.write(records.content_example(
                    encode(pixels), 1 + index % 3, pixels.shape[0], pixels.shape[1],
                    f"img_{image_seed}.JPEG", f"n{index % 3:08d}"))
        paths.append(path)
    return paths


def make_pbn(root, size=40):
    """A Painter by Numbers folder: train/, test/, all_data_info.csv.

    Artists: a, b only in train; c in train and test; d only in test. One
    train row is the messy truncated file. Returns root.
    """
    rows = []  # (artist, in_train, filename)
    plan = [("a", True, 2), ("b", True, 2), ("c", True, 2), ("c", False, 1), ("d", False, 2)]
    number = 0
    for artist, in_train, count in plan:
        for _ in range(count):
            number += 1
            folder = "train" if in_train else "test"
            _write_jpeg(os.path.join(root, folder, f"{number}.jpg"), size, number)
            rows.append((artist, in_train, f"{number}.jpg"))
    with open(os.path.join(root, "train", "99.jpg"), "wb") as stream:  # truncated file
        stream.write(encode(random_image(size))[:200])
    rows.append(("b", True, "99.jpg"))
    with open(os.path.join(root, "all_data_info.csv"), "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["artist", "date", "genre", "pixelsx", "pixelsy", "size_bytes", "source",
                         "style", "title", "artist_group", "in_train", "new_filename"])
        for artist, in_train, name in rows:
            writer.writerow([artist, "1900", "portrait", size, size, 1000, "wikiart",
                             f"style_{artist}", f"title {name}", "train_and_test",
                             str(in_train), name])
    return root


def make_dtd(root, categories=("banded", "dotted", "zigzagged"), per_category=4, size=40):
    """A DTD tree root/dtd/{images,labels}: per category 2 train, 1 val, 1 test."""
    dtd = os.path.join(root, "dtd")
    parts = {"train": [], "val": [], "test": []}
    seed = 0
    for category in categories:
        for index in range(per_category):
            seed += 1
            name = f"{category}/{category}_{index:04d}.jpg"
            _write_jpeg(os.path.join(dtd, "images", name), size, seed)
            parts[("train", "train", "val", "test")[index % 4]].append(name)
    os.makedirs(os.path.join(dtd, "labels"))
    for partition in (1, 2):
        for part, names in parts.items():
            with open(os.path.join(dtd, "labels", f"{part}{partition}.txt"), "w") as stream:
                stream.writelines(name + "\n" for name in names)
    return root


def make_image_folder(root, classes=("n01440764", "n01443537"), per_class=3, size=48):
    """An ILSVRC-style folder tree root/<synset>/*.JPEG; returns root."""
    seed = 0
    for synset in classes:
        for index in range(per_class):
            seed += 1
            _write_jpeg(os.path.join(root, synset, f"{synset}_{index}.JPEG"), size, seed)
    return root
