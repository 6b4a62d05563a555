"""tf.data content and style pipelines for training and evaluation, and the skipped-record counter."""
import tensorflow as tf

from magenta_style import defaults
from magenta_style.data.discovery import _shard, _stream
from magenta_style.data.graph import plain_graph
from magenta_style.data.image_ops import (
    _resize_crop,
    central_window,
    decode_central_crop,
    decode_crops,
    decode_image,
    jitter_style_images,
    preprocess_style_image,
    random_batch_size_resize,
    random_style_window,
    style_size_buckets,
)
from magenta_style.errors import UsageError


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
    dataset = dataset.map(plain_graph(prepare), num_parallel_calls=tf.data.AUTOTUNE,
                          deterministic=deterministic)
    dataset = dataset.ignore_errors(log_warning=True)
    dataset = dataset.filter(plain_graph(lambda element: skipped.count(element["valid"])))
    dataset = dataset.batch(batch_size, drop_remainder=training,
                            num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    # Dropping the flag per batch is cheaper than one more map per image.
    dataset = dataset.map(plain_graph(lambda batch: {k: v for k, v in batch.items()
                                                     if k != "valid"}))
    if after_batch is not None:
        dataset = after_batch(dataset)
    options = tf.data.Options()
    options.deterministic = deterministic
    return dataset.with_options(options).prefetch(tf.data.AUTOTUNE)


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
        image, valid = decode_central_crop(record["image_bytes"], image_size, exact=not training)
        return {"image": image, "label": record["label"], "valid": valid}
    return _finish(dataset, prepare, skipped, _batch_size(batch_size, input_context),
                   training, deterministic)


def style_dataset(sources, batch_size=defaults.BATCH_SIZE,
                  image_size=defaults.STYLE_IMAGE_SIZE, training=True,
                  augment_style_images=True, random_style_image_size=True, center_crop=False,
                  weights=None, seed=None, input_context=None, num_styles=None,
                  shuffle_buffer=defaults.STYLE_SHUFFLE_BUFFER, skipped=None,
                  tfds_data_dir=None, with_original=True, size_buckets=0):
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
      size_buckets: with random_style_image_size, draw the size from this many
        fixed sizes (image_ops.style_size_buckets; 0: any, as the reference), so
        an XLA / TPU step compiles one program per size.
      with_original: also return image_original when augmenting (False saves
        decoding and resizing its window).
    Returns:
      dataset of dicts: image float32 [B, S, S, 3] (or [B, R, R, 3]) in [0, 1],
      image_original [B, S, S, 3] when augmenting and with_original, label int64 [B], metadata
      strings [B].
    """
    skipped = skipped or skipped_records()
    sources = list(sources) if isinstance(sources, (list, tuple)) else [sources]
    if weights is not None and len(weights) != len(sources):
        raise UsageError(f"got {len(weights)} weights for {len(sources)} style sources")
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
        image_bytes = record.pop("image_bytes")
        if augment_style_images:
            # Only the random window (and the central one) are decoded and resized;
            # the colour jitter runs per batch, vectorized (augment_batches).
            def windows(height, width):
                random = random_style_window(height, width, image_size, element_seed)
                if not with_original:
                    return random[None]
                return tf.stack([random, central_window(height, width, image_size)])
            crops, valid = decode_crops(image_bytes, windows)
            record["image"] = _resize_crop(crops[0], image_size)
            if with_original:
                record["image_original"] = _resize_crop(crops[1], image_size)
        elif center_crop:
            record["image"], valid = decode_central_crop(image_bytes, image_size,
                                                         exact=not training)
        else:
            image, valid = decode_image(image_bytes)
            record["image"] = preprocess_style_image(image, image_size, center_crop=False)
        record["valid"] = valid
        return record

    buckets = style_size_buckets(size_buckets) if size_buckets else ()

    def augment_batches(batches):
        def augment(batch, batch_seed):
            jitter_seed, size_seed = tf.unstack(
                tf.random.experimental.stateless_split(batch_seed, num=2))
            if augment_style_images:
                batch["image"] = jitter_style_images(batch["image"], jitter_seed)
            if random_style_image_size:
                batch["image"] = random_batch_size_resize(batch["image"], size_seed,
                                                          buckets=buckets)
            return batch
        return _with_seeds(batches, None if seed is None else seed + 1).map(
            plain_graph(augment), num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)

    return _finish(_with_seeds(dataset, seed), prepare, skipped,
                   _batch_size(batch_size, input_context), training, deterministic,
                   augment_batches if augment_style_images or random_style_image_size else None)
