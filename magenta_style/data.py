"""tf.data input pipelines: content photos and style images, as in Magenta.

Sources (one string, or a list for styles):
  * TFRecords: a file, a glob or a directory, local or `gs://` (tf.io.gfile).
    Content records are slim ImageNet records (a directory means its
    `train-*-of-*` shards, or `validation-*-of-*` when not training); style
    records are Magenta records (`image_raw`, `label`, optional metadata).
  * `tfds:NAME[@SPLIT]`, e.g. `tfds:imagenet2012`, `tfds:dtd@test`,
    `tfds:painter_by_numbers` (registered by magenta_style.tfds_pbn).
  * A folder of image files (label = index of the sorted top-level subfolder).

Batches are dicts. Content: image float32 [B, S, S, 3] in [0, 1], label int64
[B]. Style: image [B, S, S, 3] (or [B, R, R, 3] with a random per-batch size R),
image_original (un-augmented central crop, only when augmenting), label and
the string metadata of records.STYLE_METADATA_KEYS ("" when unknown).

A record whose image cannot be decoded is dropped and counted in a
`SkippedRecords` counter, never ending the run.
"""
import os

import tensorflow as tf

from magenta_style import defaults, records

AUTOTUNE = tf.data.AUTOTUNE
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
_TFDS_PREFIX = "tfds:"


# ----------------------------------------------------------------------------
# Skipped-record counter.

class SkippedRecords:
    """Counts records dropped because their image bytes are not a complete image.

    Holds an int64 tf.Variable updated from inside tf.data; the training loop
    reads `result()` to log it. Create it outside any distribution scope.
    """

    def __init__(self, name="skipped_records"):
        with tf.init_scope():
            self.variable = tf.Variable(0, dtype=tf.int64, trainable=False, name=name)

    def count(self, valid):
        """Adds 1 when `valid` (bool scalar) is False; returns `valid` (a filter predicate)."""
        self.variable.assign_add(tf.cast(tf.logical_not(valid), tf.int64))
        return valid

    def result(self):
        return int(self.variable.numpy())

    def reset(self):
        self.variable.assign(0)


_DEFAULT_SKIPPED = []


def skipped_records():
    """The process-wide counter used when a pipeline is given none."""
    if not _DEFAULT_SKIPPED:
        _DEFAULT_SKIPPED.append(SkippedRecords())
    return _DEFAULT_SKIPPED[0]


# ----------------------------------------------------------------------------
# Decoding and preprocessing of one image (pure functions, eager or in map).

def _starts_with(data, prefix):
    return tf.equal(tf.strings.substr(data, 0, len(prefix)), prefix)


def _ends_with(data, suffix, skip=0):
    return tf.equal(tf.strings.substr(data, -len(suffix) - skip, len(suffix)), suffix)


def _png_pixels(image_bytes):
    """Width * height from a PNG's IHDR chunk (bytes 16-23, big-endian)."""
    digits = tf.cast(tf.io.decode_raw(tf.strings.substr(image_bytes, 16, 8), tf.uint8), tf.int64)
    weights = tf.constant([1 << 24, 1 << 16, 1 << 8, 1], tf.int64)
    return tf.reduce_sum(digits[:4] * weights) * tf.reduce_sum(digits[4:] * weights)


def is_complete_image(image_bytes, max_pixels=defaults.PIPELINE_MAX_DECODE_PIXELS):
    """bool scalar: the bytes look like a whole JPEG/PNG/GIF/BMP/WebP file.

    Checks signatures and, for JPEG and PNG, the end marker, which catches
    empty, garbage and truncated records before decode_image would raise; a
    PNG claiming more than max_pixels is refused before allocating it.
    """
    def check():
        jpeg = _starts_with(image_bytes, b"\xff\xd8\xff") & _ends_with(image_bytes, b"\xff\xd9")
        png = (_starts_with(image_bytes, b"\x89PNG\r\n\x1a\n")
               & _ends_with(image_bytes, b"IEND", skip=4)  # IEND precedes its 4-byte CRC
               & (_png_pixels(image_bytes) <= max_pixels))
        others = (_starts_with(image_bytes, b"GIF8") | _starts_with(image_bytes, b"BM")
                  | (_starts_with(image_bytes, b"RIFF")
                     & tf.equal(tf.strings.substr(image_bytes, 8, 4), b"WEBP")))
        return jpeg | png | others
    return tf.cond(tf.strings.length(image_bytes) >= 24, check, lambda: tf.constant(False))


def decode_image(image_bytes):
    """Encoded bytes -> (uint8 [H, W, 3], valid bool scalar).

    Gray becomes RGB, alpha is dropped, CMYK JPEGs are converted. An invalid
    record yields a 1x1 black image and valid=False (filter on it). Stays
    uint8: resizing casts anyway, and only the crop needs scaling to [0, 1].
    """
    valid = is_complete_image(image_bytes)

    def decode():
        return tf.io.decode_image(image_bytes, channels=3, expand_animations=False)
    image = tf.cond(valid, decode, lambda: tf.zeros([1, 1, 3], tf.uint8))
    image.set_shape([None, None, 3])
    return image, valid


def _unit_float(image, source_dtype):
    """Float pixels in the units of `source_dtype` -> float32 in [0, 1]."""
    if source_dtype.is_integer:
        return tf.cast(image, tf.float32) / float(source_dtype.max)
    return tf.cast(image, tf.float32)


def resize_shorter_side(image, size):
    """[H, W, C] or [B, H, W, C] -> shorter side `size` (int or scalar), aspect kept, bilinear."""
    shape = tf.shape(image)
    height, width = tf.cast(shape[-3], tf.float32), tf.cast(shape[-2], tf.float32)
    scale = tf.cast(size, tf.float32) / tf.minimum(height, width)
    new_size = tf.cast(tf.math.rint(tf.stack([height, width]) * scale), tf.int32)
    return tf.image.resize(image, tf.maximum(new_size, 1), method="bilinear")


def central_crop(image, size):
    """[H, W, C] with H, W >= size -> central [size, size, C]."""
    shape = tf.shape(image)
    top, left = (shape[0] - size) // 2, (shape[1] - size) // 2
    return image[top:top + size, left:left + size, :]


def preprocess_content_image(image, image_size):
    """Reference content preprocessing: shorter side -> S + 2, central S x S crop.

    image: uint8 or [0, 1] float [H, W, 3] -> float32 [S, S, 3] in [0, 1].
    (Resizing the whole uint8 image with ResizeBilinear measured cheaper than
    sampling only the crop with crop_and_resize or ScaleAndTranslate.)
    """
    crop = central_crop(resize_shorter_side(image, image_size + 2), image_size)
    return tf.ensure_shape(_unit_float(crop, image.dtype), [image_size, image_size, 3])


def preprocess_style_image(image, image_size, center_crop=True):
    """Un-augmented style image -> float32 [S, S, 3]: central crop, or a plain resize."""
    if center_crop:
        return preprocess_content_image(image, image_size)
    resized = tf.image.resize(image, [image_size, image_size])
    return tf.ensure_shape(_unit_float(resized, image.dtype), [image_size, image_size, 3])


def augment_style_image(image, image_size, seed,
                        brightness_max_delta=defaults.STYLE_BRIGHTNESS_MAX_DELTA,
                        saturation_range=defaults.STYLE_SATURATION_RANGE,
                        hue_max_delta=defaults.STYLE_HUE_MAX_DELTA,
                        random_size_extra=defaults.STYLE_RANDOM_SIZE_EXTRA):
    """Reference style augmentation: uint8 or [0, 1] float image -> float32 [S, S, 3] in [0, 1].

    As the reference, a random S x S crop of the image resized so its shorter
    side is a random int in [S + 2, S + extra); then random brightness,
    saturation and hue, left-right and up-down flips, clipped to [0, 1].
    Cheaper, same distribution (up to a pixel of rounding): the matching
    window (S * shorter / target source pixels) is cropped first and only it is
    resized, and the pixelwise colour jitter, which the reference applies
    before resizing, runs on the S x S crop. seed: int [2] (stateless).
    """
    seeds = tf.random.experimental.stateless_split(seed, num=7)
    target = tf.random.stateless_uniform([], seeds[0], minval=image_size + 2,
                                         maxval=image_size + random_size_extra, dtype=tf.int32)
    shorter = tf.reduce_min(tf.shape(image)[:2])
    window = tf.cast(tf.math.rint(image_size * tf.cast(shorter, tf.float32)
                                  / tf.cast(target, tf.float32)), tf.int32)
    window = tf.clip_by_value(window, 1, shorter)
    crop = tf.image.stateless_random_crop(image, [window, window, 3], seeds[1])
    image = _unit_float(tf.image.resize(crop, [image_size, image_size]), image.dtype)
    image = tf.image.stateless_random_brightness(image, brightness_max_delta, seeds[2])
    image = tf.image.stateless_random_saturation(image, *saturation_range, seeds[3])
    image = tf.image.stateless_random_hue(image, hue_max_delta, seeds[4])
    image = tf.clip_by_value(image, 0.0, 1.0)
    image = tf.image.stateless_random_flip_left_right(image, seeds[5])
    image = tf.image.stateless_random_flip_up_down(image, seeds[6])
    return tf.ensure_shape(image, [image_size, image_size, 3])


def random_batch_size_resize(images, seed, size_range=defaults.RANDOM_STYLE_IMAGE_SIZE_RANGE):
    """[B, H, W, 3] -> shorter side a random int in [low, high) (one size per batch)."""
    size = tf.random.stateless_uniform([], seed, minval=size_range[0], maxval=size_range[1],
                                       dtype=tf.int32)
    return resize_shorter_side(images, size)


# ----------------------------------------------------------------------------
# Sources -> streams of record dicts {"image_bytes", "label", ...strings}.

def _is_tfds(source):
    return isinstance(source, str) and source.startswith(_TFDS_PREFIX)


def _list_files(source, default_patterns):
    """File, glob, directory (matched against default_patterns), or list -> sorted files."""
    if isinstance(source, (list, tuple)):
        return sorted({path for item in source for path in _list_files(item, default_patterns)})
    source = os.fspath(source)
    if tf.io.gfile.isdir(source):
        for pattern in default_patterns:
            files = tf.io.gfile.glob(os.path.join(source, pattern))
            if files:
                return sorted(files)
        return []
    return sorted(tf.io.gfile.glob(source))


def _image_folder_files(directory):
    """(paths, labels) of the images below `directory`; label = top-level subfolder index."""
    paths = []
    for root, _, files in tf.io.gfile.walk(directory):
        paths += [os.path.join(root, name) for name in files
                  if name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith(".")]
    paths.sort()
    relative = [os.path.relpath(path, directory).split(os.sep) for path in paths]
    classes = sorted({parts[0] for parts in relative if len(parts) > 1})
    index = {name: label for label, name in enumerate(classes)}
    labels = [index.get(parts[0], 0) if len(parts) > 1 else 0 for parts in relative]
    return paths, labels


def _shard(dataset, input_context):
    if input_context is None or input_context.num_input_pipelines == 1:
        return dataset
    return dataset.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)


def _record_stream(files, parse, training, seed, input_context, deterministic):
    """TFRecord files -> parsed records, sharded per worker, files interleaved."""
    dataset = tf.data.Dataset.from_tensor_slices(files)
    workers = input_context.num_input_pipelines if input_context else 1
    shard_files = len(files) >= workers  # else every worker reads all, keeps 1/workers
    if shard_files:
        dataset = _shard(dataset, input_context)
    if training:
        dataset = dataset.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.interleave(
        lambda path: tf.data.TFRecordDataset(path, buffer_size=8 << 20),
        cycle_length=min(len(files), 16), block_length=1, num_parallel_calls=AUTOTUNE,
        deterministic=deterministic)
    if not shard_files:
        dataset = _shard(dataset, input_context)
    return dataset.map(parse, num_parallel_calls=AUTOTUNE, deterministic=deterministic)


def _folder_stream(directory, training, seed, input_context, metadata_keys):
    paths, labels = _image_folder_files(directory)
    if not paths:
        raise ValueError(f"{directory}: no image files ({', '.join(IMAGE_EXTENSIONS)}) found")
    dataset = _shard(tf.data.Dataset.from_tensor_slices((paths, tf.constant(labels, tf.int64))),
                     input_context)
    if training:
        dataset = dataset.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)

    def read(path, label):
        record = {"image_bytes": tf.io.read_file(path), "label": label}
        record.update({key: tf.constant("") for key in metadata_keys})
        if "filename" in metadata_keys:
            record["filename"] = tf.strings.split(path, os.sep)[-1]
        return record
    return dataset.map(read, num_parallel_calls=AUTOTUNE)


def _tfds_stream(source, default_split, training, seed, input_context, metadata_keys,
                 data_dir=None):
    """`tfds:NAME[@SPLIT]` -> records with the image left encoded (decoded by us)."""
    import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
    name, _, split = source[len(_TFDS_PREFIX):].partition("@")
    if name.split(":")[0].split("/")[0] == "painter_by_numbers":
        from magenta_style import tfds_pbn  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    read_config = tfds.ReadConfig(input_context=input_context, shuffle_seed=seed)
    dataset = tfds.load(name, split=split or default_split, data_dir=data_dir,
                        shuffle_files=training, read_config=read_config,
                        decoders={"image": tfds.decode.SkipDecoding()})
    tfds_names = {"filename": "file_name"}  # our key -> tfds feature name

    def to_record(example):
        record = {"image_bytes": example["image"],
                  "label": tf.cast(example.get("label", tf.constant(-1)), tf.int64)}
        for key in metadata_keys:
            value = example.get(tfds_names.get(key, key))
            is_text = value is not None and value.dtype == tf.string
            record[key] = value if is_text else tf.constant("")
        return record
    return dataset.map(to_record, num_parallel_calls=AUTOTUNE)


def _stream(source, kind, training, seed, input_context, deterministic, tfds_data_dir):
    """Any source -> record dicts. kind: "content" or "style"."""
    metadata_keys = records.STYLE_METADATA_KEYS if kind == "style" else ()
    if _is_tfds(source):
        default_split = "train" if training else ("validation" if kind == "content" else "test")
        return _tfds_stream(source, default_split, training, seed, input_context,
                            metadata_keys, tfds_data_dir)
    # What a directory holds: slim shard names, or any TFRecord names for styles.
    patterns = ((("train" if training else "validation") + "-*-of-*",)
                if kind == "content" else ("*.tfrecord*", "*-of-*"))
    is_dir = isinstance(source, (str, os.PathLike)) and tf.io.gfile.isdir(os.fspath(source))
    if is_dir and not _list_files(source, patterns):
        return _folder_stream(os.fspath(source), training, seed, input_context, metadata_keys)
    files = _list_files(source, patterns)
    if not files:
        raise ValueError(f"{source}: no {kind} TFRecord files or images found")
    parse = records.parse_content_record if kind == "content" else records.parse_style_record

    def keep_keys(serialized):
        record = parse(serialized)
        return {key: record[key] for key in ("image_bytes", "label", *metadata_keys)}
    return _record_stream(files, keep_keys, training, seed, input_context, deterministic)


def _batch_size(batch_size, input_context):
    """Global batch size -> this worker's batch size."""
    if input_context is None:
        return batch_size
    return input_context.get_per_replica_batch_size(batch_size)


def _with_seeds(dataset, seed):
    """Pairs each element with an int64 [2] stateless seed (same seed, same sequence)."""
    return tf.data.Dataset.zip((dataset, tf.data.Dataset.random(seed=seed).batch(2)))


def _finish(dataset, prepare, skipped, batch_size, training, deterministic, after_batch=None):
    """Decode/preprocess in parallel, drop + count invalid, batch, prefetch.

    Records failing the validity check are counted in `skipped`; a record that
    passes it yet still fails to decode (corrupt inside) is dropped by
    ignore_errors as a last resort, with a logged warning, not counted.
    """
    dataset = dataset.map(prepare, num_parallel_calls=AUTOTUNE, deterministic=deterministic)
    dataset = dataset.ignore_errors(log_warning=True)
    dataset = dataset.filter(lambda element: skipped.count(element["valid"]))
    dataset = dataset.batch(batch_size, drop_remainder=training,
                            num_parallel_calls=AUTOTUNE, deterministic=deterministic)
    # Dropping the flag per batch is cheaper than one more map per image.
    dataset = dataset.map(lambda batch: {k: v for k, v in batch.items() if k != "valid"})
    if after_batch is not None:
        dataset = after_batch(dataset)
    options = tf.data.Options()
    options.deterministic = deterministic
    return dataset.with_options(options).prefetch(AUTOTUNE)


# ----------------------------------------------------------------------------
# Public pipelines.

def content_dataset(source, batch_size=defaults.BATCH_SIZE, image_size=defaults.IMAGE_SIZE,
                    training=True, seed=None, input_context=None,
                    shuffle_buffer=defaults.CONTENT_SHUFFLE_BUFFER, skipped=None,
                    tfds_data_dir=None):
    """Content photos: {"image": float32 [B, S, S, 3] in [0, 1], "label": int64 [B]}.

    Args:
      source: ImageNet TFRecords (file / glob / directory, local or gs://),
        `tfds:NAME[@SPLIT]`, or a folder of images.
      batch_size: global batch size (divided among workers with input_context).
      image_size: S; reference preprocessing (shorter side S + 2, central crop).
      training: shuffle + repeat + drop_remainder; else one deterministic pass.
      seed: shuffling seed (with a seed, training order is reproducible too).
      input_context: tf.distribute.InputContext for per-worker sharding.
      skipped: SkippedRecords counting undecodable records (default: the
        process-wide `skipped_records()`).
    """
    skipped = skipped or skipped_records()
    deterministic = not training or seed is not None
    dataset = _stream(source, "content", training, seed, input_context, deterministic,
                      tfds_data_dir)
    if training:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed).repeat()

    def prepare(record):
        image, valid = decode_image(record["image_bytes"])
        return {"image": preprocess_content_image(image, image_size),
                "label": record["label"], "valid": valid}
    return _finish(dataset, prepare, skipped, _batch_size(batch_size, input_context),
                   training, deterministic)


def style_dataset(sources, batch_size=defaults.BATCH_SIZE,
                  image_size=defaults.STYLE_IMAGE_SIZE, training=True,
                  augment_style_images=True, random_style_image_size=True, center_crop=False,
                  weights=None, seed=None, input_context=None, num_styles=None,
                  shuffle_buffer=defaults.STYLE_SHUFFLE_BUFFER, skipped=None,
                  tfds_data_dir=None):
    """Style images with labels and metadata, optionally augmented as in Magenta.

    Args:
      sources: one source or a list (Magenta TFRecords file / glob / directory,
        `tfds:NAME[@SPLIT]`, or an image folder), mixed by `weights`
        (default equal) with tf.data.Dataset.sample_from_datasets.
      batch_size: global batch size (divided among workers with input_context).
      image_size: S, the crop size.
      training: False = evaluation: one deterministic pass over the sources in
        order, no augmentation, no random size, central crop.
      augment_style_images, random_style_image_size, center_crop: the
        reference flags (random per-batch shorter side in [128, 300); central
        crop instead of a plain resize when not augmenting).
      seed: makes shuffling, augmentation and sizes reproducible.
      num_styles: train on the first N style records only (sources
        concatenated in order, files sorted; weights are then not used).
    Returns:
      dataset of dicts: image float32 [B, S, S, 3] (or [B, R, R, 3]) in [0, 1],
      image_original [B, S, S, 3] when augmenting, label int64 [B], metadata
      strings [B].
    """
    skipped = skipped or skipped_records()
    sources = list(sources) if isinstance(sources, (list, tuple)) else [sources]
    if weights is not None and len(weights) != len(sources):
        raise ValueError(f"got {len(weights)} weights for {len(sources)} style sources")
    if not training:
        augment_style_images = random_style_image_size = False
        center_crop = True
    deterministic = not training or seed is not None
    # num_styles needs a fixed record order: read sequentially, then cut.
    ordered = deterministic or num_styles is not None
    streams = [_stream(source, "style", training and num_styles is None, seed,
                       None if num_styles else input_context, ordered, tfds_data_dir)
               for source in sources]
    if num_styles is not None or not training:
        dataset = streams[0]
        for stream in streams[1:]:
            dataset = dataset.concatenate(stream)
        if num_styles is not None:
            dataset = _shard(dataset.take(num_styles).cache(), input_context)
        if training:
            dataset = dataset.shuffle(min(shuffle_buffer, num_styles), seed=seed).repeat()
    else:
        streams = [stream.shuffle(shuffle_buffer, seed=seed).repeat() for stream in streams]
        dataset = streams[0] if len(streams) == 1 else tf.data.Dataset.sample_from_datasets(
            streams, weights=weights, seed=seed)

    def prepare(record, element_seed):
        record = dict(record)
        image, valid = decode_image(record.pop("image_bytes"))
        if augment_style_images:
            record["image"] = augment_style_image(image, image_size, element_seed)
            record["image_original"] = preprocess_style_image(image, image_size, True)
        else:
            record["image"] = preprocess_style_image(image, image_size, center_crop)
        record["valid"] = valid
        return record

    def resize_batches(batches):
        def resize(batch, batch_seed):
            batch["image"] = random_batch_size_resize(batch["image"], batch_seed)
            return batch
        return _with_seeds(batches, None if seed is None else seed + 1).map(
            resize, num_parallel_calls=AUTOTUNE, deterministic=deterministic)

    return _finish(_with_seeds(dataset, seed), prepare, skipped,
                   _batch_size(batch_size, input_context), training, deterministic,
                   resize_batches if random_style_image_size else None)
