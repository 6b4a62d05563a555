"""Where records come from: files, globs, image folders and tensorflow-datasets sources, as streams of examples."""
import os
import re

import tensorflow as tf

from magenta_style.data import checks, records
from magenta_style.data.graph import plain_graph
from magenta_style.errors import DataError
from magenta_style.image_io import TF_IMAGE_EXTENSIONS


_TFDS_PREFIX = "tfds:"


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
                  if name.lower().endswith(TF_IMAGE_EXTENSIONS) and not name.startswith(".")]
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
        plain_graph(lambda path: tf.data.TFRecordDataset(path, buffer_size=8 << 20)),
        cycle_length=min(len(files), 16), block_length=1, num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=deterministic)
    if not shard_files:
        dataset = _shard(dataset, input_context)
    return dataset.map(plain_graph(parse), num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)


def _folder_stream(directory, training, seed, input_context, metadata_keys):
    paths, labels = _image_folder_files(directory)
    if not paths:
        raise DataError(f"{directory}: no image files ({', '.join(TF_IMAGE_EXTENSIONS)}) found")
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
    return dataset.map(plain_graph(read), num_parallel_calls=tf.data.AUTOTUNE)


def _tfds_stream(source, default_split, training, seed, input_context, metadata_keys,
                 data_dir=None):
    """`tfds:NAME[@SPLIT]` -> records with the image left encoded (decoded by us)."""
    import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
    name, _, split = source[len(_TFDS_PREFIX):].partition("@")
    if name.split(":")[0].split("/")[0] == "painter_by_numbers":
        # Importing the module registers our builder with tfds (only needed for it).
        from magenta_style.data import tfds_pbn  # pylint: disable=import-outside-toplevel,unused-import  # noqa: F401
    read_config = tfds.ReadConfig(input_context=input_context, shuffle_seed=seed)
    try:
        dataset = tfds.load(name, split=split or default_split, data_dir=data_dir,
                            shuffle_files=training, read_config=read_config,
                            decoders={"image": tfds.decode.SkipDecoding()})
    except Exception as error:  # pylint: disable=broad-except  # re-raised unless a download's
        if not _is_download_failure(error):
            raise
        root = data_dir or tfds.core.constants.DATA_DIR
        raise DataError(
            f"{source}: tensorflow-datasets could not download it ({_download_reason(error)}); it "
            f"prepares the dataset under {root} (downloads in {root}/downloads, files put there "
            f"by hand in {root}/downloads/manual): run `tfds build {name} --data_dir={root}` "
            "where there is network access and copy that folder here, or use local TFRecords "
            "or an image folder") from None
    tfds_names = {"filename": "file_name"}  # our key -> tfds feature name

    def to_record(example):
        record = {"image_bytes": example["image"],
                  "label": tf.cast(example.get("label", tf.constant(-1)), tf.int64)}
        for key in metadata_keys:
            value = example.get(tfds_names.get(key, key))
            is_text = value is not None and value.dtype == tf.string
            record[key] = value if is_text else tf.constant("")
        return record
    return dataset.map(plain_graph(to_record), num_parallel_calls=tf.data.AUTOTUNE)


def _is_download_failure(error):
    """Whether tfds.load failed fetching files: tfds' DownloadError, any `requests` error
    (what tfds downloads with), or a network OSError on the way."""
    import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
    for cause in _causes(error):
        module = type(cause).__module__
        if (isinstance(cause, tfds.download.DownloadError) or module.startswith(("requests",
                                                                                "urllib3"))
                or isinstance(cause, (ConnectionError, TimeoutError))):
            return True
    return False


def _causes(error):
    while error is not None:
        yield error
        error = error.__cause__ or error.__context__


def _download_reason(error):
    """'Connection refused', 'HTTP code: 404', ...: the innermost errno text, else a first line."""
    text = " ".join(str(cause) for cause in _causes(error))
    match = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text) or re.search(r"HTTP code: \d+", text)
    if match:
        return (match.group(1) if match.groups() else match.group(0)).strip()
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]


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
        if not _image_folder_files(os.fspath(source))[0]:
            raise DataError(f"{source}: no {' or '.join(patterns)} TFRecord shards and no image "
                            f"files ({', '.join(TF_IMAGE_EXTENSIONS)}) in it; it "
                            f"{checks.describe_directory(os.fspath(source))}")
        stream = _folder_stream(os.fspath(source), training, seed, input_context, metadata_keys)
    else:
        files = _list_files(source, patterns)
        if not files:
            raise DataError(f"{source}: no {kind} TFRecord files or images found")
        checks.check_record_files(files)
        parse = records.parse_content_record if kind == "content" else records.parse_style_record

        def keep_keys(serialized):
            record = parse(serialized)
            return {key: record[key] for key in ("image_bytes", "label", *metadata_keys)}
        stream = _record_stream(files, keep_keys, training, seed, input_context, deterministic)
    # Training pipelines skip bad records and repeat: without one good record they would
    # look for one forever.
    checks.require_decodable(stream, source, kind)
    return stream
