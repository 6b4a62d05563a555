"""Images for int8 calibration and verification: user files, records, or built-in photos."""
import glob
import os

import numpy as np
import tensorflow as tf

from magenta_style import image_io
from magenta_style.data.image_ops import preprocess_content_image
from magenta_style.data.pipelines import content_dataset, style_dataset
from magenta_style.errors import DataError


def _photo_pool():
    """A few photos of different kinds, float32 [H, W, 3] in [0, 1] (scikit-image's samples)."""
    try:
        from skimage import data as samples
    except ImportError:
        return []
    names = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field",
             "immunohistochemistry", "retina", "colorwheel")
    return [np.asarray(getattr(samples, name)(), np.float32)[..., :3] / 255.0 for name in names]


def _synthetic_image(rng, size):
    """Smooth colour gradients, blobs and noise: a stand-in photo [size, size, 3] in [0, 1]."""
    y, x = np.mgrid[0:1:size * 1j, 0:1:size * 1j]
    channels = []
    for _ in range(3):
        fx, fy, phase = rng.uniform(0.5, 6, 2).tolist() + [rng.uniform(0, 2 * np.pi)]
        channels.append(0.5 + 0.35 * np.sin(2 * np.pi * (fx * x + fy * y) + phase))
    image = np.stack(channels, -1) + rng.normal(0, 0.05, (size, size, 3))
    return np.clip(image, 0, 1).astype(np.float32)


def builtin_images(count, size, seed=0, first=0):
    """`count` images [count, size, size, 3] in [0, 1]: random crops of

    scikit-image's sample photos (random scale, flips; photo `first` first),
    or synthetic gradients and noise when scikit-image is not installed.
    Deterministic for a seed.
    """
    rng = np.random.default_rng(seed)
    pool = _photo_pool()
    images = []
    for index in range(count):
        if not pool:
            images.append(_synthetic_image(rng, size))
            continue
        photo = pool[(first + index) % len(pool)]
        height, width = photo.shape[:2]
        side = int(rng.integers(min(height, width) // 3, min(height, width) + 1))
        top, left = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
        crop = tf.image.resize(photo[top:top + side, left:left + side], [size, size]).numpy()
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        images.append(np.clip(crop, 0, 1))
    return np.stack(images).astype(np.float32)


def _image_files(pattern):
    paths = sorted(glob.glob(pattern))
    return [p for p in paths if os.path.splitext(p)[1].lower() in image_io.IMAGE_EXTENSIONS]


def load_representative_images(sources, kind, count, size):
    """Calibration images from user sources: [<= count, size, size, 3] in [0, 1].

    sources: comma-separated globs of image files, or anything the data
    pipelines read (TFRecords: Magenta style records for kind 'style', ImageNet
    records for 'content'; image folders; `tfds:NAME`). Reference central
    crops. Raises ValueError when nothing is found.
    """
    images = []
    for source in [s.strip() for s in sources.split(",") if s.strip()]:
        files = _image_files(source)
        if files:
            for path in files[:count - len(images)]:
                image = image_io.load_image(path, max_shorter_side=4 * size)
                images.append(preprocess_content_image(tf.constant(image), size).numpy())
        else:
            pipeline = content_dataset if kind == "content" else style_dataset
            dataset = pipeline(source, batch_size=1, image_size=size, training=False)
            images += [batch["image"][0].numpy() for batch in dataset.take(count - len(images))]
        if len(images) >= count:
            break
    if not images:
        raise DataError(f"{sources}: no representative {kind} images found")
    return np.stack(images).astype(np.float32)


def calibration_images(style_sources, content_sources, count, style_image_size,
                       content_image_size, seed=0):
    """(style [N, S, S, 3], content [N, C, C, 3]) for int8 calibration; built-in set by default."""
    def images(sources, kind, size, offset):
        if sources:
            return load_representative_images(sources, kind, count, size)
        return builtin_images(count, size, seed + offset, first=offset)
    return (images(style_sources, "style", style_image_size, 4),
            images(content_sources, "content", content_image_size, 0))
