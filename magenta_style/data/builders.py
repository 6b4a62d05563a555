"""Building sharded style and content TFRecords from raw image folders.

Images are re-encoded in parallel worker processes (PIL only) as RGB JPEGs
with a bounded shorter side; the main process serializes and writes shards
under temporary names and renames them only when everything succeeded. Every
skipped file is listed with its reason in `<prefix>.skipped.txt`, and a JSON
summary lands in `<prefix>.summary.json`.

TensorFlow is imported only when shards are written: spawned workers re-import the
entry script and this module, and stay TF-free (fast start, little memory).
"""
import concurrent.futures
import functools
import glob
import json
import multiprocessing
import os
import sys
import time

from magenta_style import defaults, image_io
from magenta_style.data import sources
from magenta_style.errors import MagentaStyleError, OutputExistsError
from magenta_style.progress import Progress


class BuildError(MagentaStyleError, RuntimeError):
    """A build that cannot produce output (one readable line)."""


def _encode(path, max_shorter_side, quality):
    """Worker: path -> (jpeg_bytes, width, height, None) or (None, 0, 0, reason)."""
    try:
        return (*image_io.encode_rgb_jpeg(path, max_shorter_side, quality=quality), None)
    except image_io.ImageError as error:
        return None, 0, 0, error.reason
    except Exception as error:  # pylint: disable=broad-except  # one file must not kill a build
        return None, 0, 0, f"{type(error).__name__}: {error}"


def _encoded_stream(candidates, wanted, encode, num_workers):
    """Yields (entry, jpeg, width, height, reason) until `wanted` succeeded.

    Candidates are encoded in order, in chunks, so a seeded subset tries only
    about as many files as it needs and replaces failures by the next ones.
    """
    executor = None
    if num_workers > 1:
        executor = concurrent.futures.ProcessPoolExecutor(
            num_workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        position, succeeded = 0, 0
        while position < len(candidates) and succeeded < wanted:
            size = len(candidates) if wanted >= len(candidates) else max(wanted - succeeded, 64)
            chunk = candidates[position:position + size]
            position += len(chunk)
            paths = [entry.path for entry in chunk]
            results = executor.map(encode, paths, chunksize=4) if executor else map(encode, paths)
            for entry, result in zip(chunk, results):
                if succeeded >= wanted:
                    break
                succeeded += result[0] is not None
                yield (entry, *result)
    finally:
        if executor:
            executor.shutdown(cancel_futures=True)


def _shard_paths(template, num_shards):
    return [template.format(index=index, count=num_shards) for index in range(num_shards)]


def _temporary(path):
    return os.path.join(os.path.dirname(path) or ".",
                        f".tmp-{os.getpid()}-{os.path.basename(path)}")


def _refuse_existing(paths, stale_glob, overwrite):
    existing = [path for path in paths if os.path.exists(path)]
    existing += [path for path in glob.glob(stale_glob) if path not in paths]
    if existing and not overwrite:
        raise OutputExistsError(f"{existing[0]}: already exists ({len(existing)} output file(s)); "
                              "pass --overwrite to replace")


def _encode_to_shards(stream, temporaries, to_example, progress):
    """Writes encoded entries round-robin into the shard files; returns (counts, skipped, labels).

    On any error, interrupt included, the temporary shards are removed.
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel  # see module docstring
    counts, skipped, labels = [0] * len(temporaries), [], set()
    try:
        writers = [tf.io.TFRecordWriter(path) for path in temporaries]
        for entry, jpeg, width, height, reason in stream:
            if jpeg is None:
                skipped.append((entry.path, reason))
            else:
                shard = sum(counts) % len(writers)
                writers[shard].write(to_example(entry, jpeg, width, height))
                counts[shard] += 1
                labels.add(entry.label)
            progress.update(sum(counts), f"{len(skipped)} skipped")
        for writer in writers:
            writer.close()
        if not sum(counts):
            first = f" (first: {skipped[0][0]}: {skipped[0][1]})" if skipped else ""
            raise BuildError(f"{progress.name}: no usable images, {len(skipped)} skipped{first}")
    except BaseException:
        for path in temporaries:
            if os.path.exists(path):
                os.remove(path)
        raise
    return counts, skipped, labels


def _write_text(path, text):
    with image_io.atomic_path(path, overwrite=True) as temporary:
        with open(temporary, "w", encoding="utf-8") as stream:
            stream.write(text)


def _write(entries, shard_template, stale_glob, report_prefix, num_shards, to_example,
           name, num_images=None, seed=0, max_shorter_side=defaults.BUILDER_MAX_SHORTER_SIDE,
           num_workers=None, overwrite=False, quality=defaults.JPEG_QUALITY, details=None, log=None):
    """Encodes `entries` into `num_shards` shards atomically; returns the summary dict."""
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    if num_shards < 1:
        raise BuildError(f"num_shards must be >= 1, got {num_shards}")
    shards = _shard_paths(shard_template, num_shards)
    skipped_path, summary_path = report_prefix + ".skipped.txt", report_prefix + ".summary.json"
    _refuse_existing(shards + [skipped_path, summary_path], stale_glob, overwrite)
    if not entries:
        raise BuildError(f"{name}: no input files found")
    os.makedirs(os.path.dirname(os.path.abspath(shards[0])), exist_ok=True)
    wanted = len(entries) if num_images is None else num_images
    encode = functools.partial(_encode, max_shorter_side=max_shorter_side, quality=quality)
    stream = _encoded_stream(sources.candidate_order(entries, num_images, seed), wanted,
                             encode, num_workers or os.cpu_count() or 1)
    progress = Progress(min(wanted, len(entries)), "images", name=name,
                        interval=defaults.PROGRESS_INTERVAL_S, log=log)
    temporaries = [_temporary(path) for path in shards]
    start = time.monotonic()
    counts, skipped, labels = _encode_to_shards(stream, temporaries, to_example, progress)
    progress.update(sum(counts), f"{len(skipped)} skipped", final=True)
    for temporary, path in zip(temporaries, shards):
        os.replace(temporary, path)
    for path in glob.glob(stale_glob):  # shards of an earlier build with another count
        if path not in shards:
            os.remove(path)
    _write_text(skipped_path, "".join(f"{path}\t{reason}\n" for path, reason in skipped))
    summary = {
        **(details or {}), "num_written": sum(counts), "num_skipped": len(skipped),
        "num_labels": len(labels), "num_images_requested": num_images, "seed": seed,
        "max_shorter_side": max_shorter_side, "num_shards": num_shards,
        "shards": [{"path": path, "records": count} for path, count in zip(shards, counts)],
        "skipped_file": skipped_path, "seconds": round(time.monotonic() - start, 2)}
    _write_text(summary_path, json.dumps(summary, indent=2))
    for path, reason in skipped:
        log(f"skipped {path}: {reason}")
    if num_images is not None and sum(counts) < num_images:
        log(f"{name}: WARNING only {sum(counts)} usable images of {num_images} requested")
    log(f"{name}: wrote {sum(counts)} records to {num_shards} shard(s) "
        f"{shard_template.format(index=0, count=num_shards)}{' ...' if num_shards > 1 else ''}; "
        f"skipped {len(skipped)} (list: {skipped_path}); summary: {summary_path}")
    return summary


def list_style_entries(source, input_dir, split=None, holdout_artists=False, dtd_partition=1):
    """Entries of a style source: "pbn", "dtd" or "folder" (split None = default)."""
    if source == "pbn":
        return sources.list_pbn(input_dir, split or "train", holdout_artists)
    if source == "dtd":
        return sources.list_dtd(input_dir, split or "train", dtd_partition)
    if source == "folder":
        if split not in (None, "all"):
            raise sources.DatasetError(
                f"source 'folder' has no splits; got split {split!r} (use 'all')")
        return [entry._replace(metadata={"source": "folder", **entry.metadata})
                for entry in sources.list_folder(input_dir)]
    raise sources.DatasetError(f"unknown style source {source!r}; "
                                       "expected pbn, dtd or folder")


def build_style_tfrecords(source, input_dir, output_prefix, split=None, num_shards=1,
                          num_images=None, seed=0, holdout_artists=False, dtd_partition=1,
                          max_shorter_side=defaults.BUILDER_MAX_SHORTER_SIDE,
                          num_workers=None, overwrite=False):
    """Writes Magenta-format style shards `<prefix>-XXXXX-of-YYYYY.tfrecord`.

    Records hold `image_raw` (RGB JPEG, shorter side <= max_shorter_side),
    `label` (artist / category / subfolder index) and metadata strings.
    `num_images` + `seed` select a reproducible random subset (failures are
    replaced by the next candidates). Returns the summary dict.
    """
    split = split or ("all" if source == "folder" else "train")
    entries = list_style_entries(source, input_dir, split, holdout_artists, dtd_partition)

    def to_example(entry, jpeg, width, height):
        del width, height
        from magenta_style.data import records
        return records.style_example(jpeg, entry.label, entry.metadata)

    details = {"kind": "style", "source": source, "input_dir": input_dir,
               "split": split, "holdout_artists": holdout_artists,
               "dtd_partition": dtd_partition if source == "dtd" else None,
               "glob": f"{output_prefix}-*-of-*.tfrecord"}
    return _write(entries, output_prefix + "-{index:05d}-of-{count:05d}.tfrecord",
                  f"{glob.escape(output_prefix)}-[0-9]*-of-[0-9]*.tfrecord", output_prefix,
                  num_shards, to_example, name=f"style {source} {split}",
                  num_images=num_images, seed=seed, max_shorter_side=max_shorter_side,
                  num_workers=num_workers, overwrite=overwrite, details=details)


def default_num_shards(num_images):
    """About 1000 images per shard, as slim's ImageNet shards (1024 for 1.28M)."""
    return max(1, min(1024, round(num_images / 1000)))


def build_content_tfrecords(input_dir, output_dir, split_name="train", num_shards=None,
                            max_shorter_side=defaults.BUILDER_MAX_SHORTER_SIDE,
                            num_workers=None, overwrite=False):
    """Writes slim ImageNet-format shards `<output_dir>/<split_name>-XXXXX-of-YYYYY`.

    Records hold image/encoded (RGB JPEG), image/class/label (1-based class
    folder index, 0 for loose files), image/height, image/width, image/format,
    image/filename and image/class/synset. Returns the summary dict.
    """
    entries = sources.list_imagenet(input_dir)
    num_shards = num_shards or default_num_shards(len(entries))

    def to_example(entry, jpeg, width, height):
        from magenta_style.data import records
        return records.content_example(jpeg, entry.label, height, width,
                                       entry.metadata["filename"], entry.metadata["synset"])

    prefix = os.path.join(output_dir, split_name)
    details = {"kind": "content", "input_dir": input_dir, "split_name": split_name,
               "glob": f"{prefix}-*-of-*"}
    return _write(entries, prefix + "-{index:05d}-of-{count:05d}",
                  f"{glob.escape(prefix)}-[0-9]*-of-[0-9]*", prefix, num_shards, to_example,
                  name=f"content {split_name}", max_shorter_side=max_shorter_side,
                  num_workers=num_workers, overwrite=overwrite, details=details)
