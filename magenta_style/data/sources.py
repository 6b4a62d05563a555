"""Listing the images of raw datasets (PBN, DTD, ILSVRC, any folder) and their splits.

Pure Python (no TensorFlow), shared by the TFRecord builders and the tfds
builder. Every lister returns `Entry` tuples sorted by path; nothing is opened
here, so unreadable files surface later as skipped entries with a reason.
"""
import csv
import os
import random
import re
from typing import NamedTuple

from magenta_style.errors import MagentaStyleError

SPLITS = ("train", "test", "all")
PBN_CSV = "all_data_info.csv"
PBN_COLUMNS = ("artist", "date", "genre", "pixelsx", "pixelsy", "size_bytes", "source",
               "style", "title", "artist_group", "in_train", "new_filename")
_SYNSET = re.compile(r"^n\d{8}$")


class DatasetError(MagentaStyleError, ValueError):
    """A raw dataset folder that does not have the expected layout (one line)."""


class Entry(NamedTuple):
    """One image to encode: file path, int label and string metadata."""
    path: str
    label: int
    metadata: dict


def _check_split(split, allowed=SPLITS):
    if split not in allowed:
        raise DatasetError(f"unknown split {split!r}; expected one of {', '.join(allowed)}")


def _require_dir(path, what):
    if not os.path.isdir(path):
        raise DatasetError(f"{path}: {what} not found (not a directory)")


def list_pbn(input_dir, split="train", holdout_artists=False):
    """Painter by Numbers (Kaggle) entries of one split.

    Args:
      input_dir: folder with `all_data_info.csv`, `train/` and `test/`.
      split: "train" (rows with in_train True, files in train/), "test" or "all".
      holdout_artists: drop from train every artist that has a test painting,
        so the test split holds truly unseen painters (only for train/test).
    Returns:
      list of Entry; label = index of the artist among all artists of the CSV
      (the same across splits); metadata: source, artist, style, genre, filename.
    """
    _check_split(split)
    if holdout_artists and split == "all":
        raise DatasetError("holdout_artists needs split 'train' or 'test', not 'all'")
    csv_path = os.path.join(input_dir, PBN_CSV)
    if not os.path.isfile(csv_path):
        raise DatasetError(f"{csv_path}: not found (expected the Kaggle Painter by Numbers "
                           f"layout: {PBN_CSV}, train/, test/)")
    with open(csv_path, newline="", encoding="utf-8") as stream:
        reader = csv.DictReader(stream)
        missing = [name for name in ("artist", "in_train", "new_filename")
                   if name not in (reader.fieldnames or ())]
        if missing:
            raise DatasetError(f"{csv_path}: missing column(s) {', '.join(missing)}")
        rows = list(reader)
    artists = {artist: index for index, artist in enumerate(sorted({r["artist"] for r in rows}))}
    in_train = {"true": True, "1": True, "false": False, "0": False}
    by_split = {"train": [], "test": []}
    for line, row in enumerate(rows, start=2):
        flag = in_train.get(row["in_train"].strip().lower())
        if flag is None:
            raise DatasetError(f"{csv_path}:{line}: in_train is {row['in_train']!r}, "
                               "expected True or False")
        by_split["train" if flag else "test"].append(row)
    if holdout_artists:
        test_artists = {row["artist"] for row in by_split["test"]}
        by_split["train"] = [r for r in by_split["train"] if r["artist"] not in test_artists]
    chosen = ["train", "test"] if split == "all" else [split]
    entries = []
    for folder in chosen:  # PBN keeps train images in train/, test images in test/
        for row in by_split[folder]:
            entries.append(Entry(
                path=os.path.join(input_dir, folder, row["new_filename"]),
                label=artists[row["artist"]],
                metadata={"source": "pbn", "artist": row["artist"], "style": row.get("style", ""),
                          "genre": row.get("genre", ""), "filename": row["new_filename"]}))
    return sorted(entries, key=lambda entry: entry.path)


def dtd_root(input_dir):
    """The DTD folder holding images/ and labels/ (input_dir itself or input_dir/dtd)."""
    for candidate in (input_dir, os.path.join(input_dir, "dtd")):
        if os.path.isdir(os.path.join(candidate, "images")) and \
                os.path.isdir(os.path.join(candidate, "labels")):
            return candidate
    raise DatasetError(f"{input_dir}: not a DTD folder (expected images/<category>/*.jpg "
                       "and labels/{train,val,test}N.txt, or a dtd/ folder holding them)")


def list_dtd(input_dir, split="train", partition=1):
    """Describable Textures Dataset entries of one split of partition N (1..10).

    "train" is DTD's train + val lists (we tune nothing on val, so both train),
    "test" its test list, "all" the three together (every image once).
    Returns list of Entry; label = index of the category (sorted, 0..46);
    metadata: source, category, filename.
    """
    _check_split(split)
    root = dtd_root(input_dir)
    parts = {"train": ("train", "val"), "test": ("test",), "all": ("train", "val", "test")}
    categories = sorted(name for name in os.listdir(os.path.join(root, "images"))
                        if os.path.isdir(os.path.join(root, "images", name)))
    index = {name: label for label, name in enumerate(categories)}
    names = set()
    for part in parts[split]:
        list_path = os.path.join(root, "labels", f"{part}{partition}.txt")
        if not os.path.isfile(list_path):
            raise DatasetError(f"{list_path}: not found (DTD partitions are 1..10)")
        with open(list_path, encoding="utf-8") as stream:
            names.update(line.strip() for line in stream if line.strip())
    entries = []
    for name in sorted(names):
        category = name.split("/")[0]
        if category not in index:
            raise DatasetError(f"{root}/labels: {name!r} names unknown category {category!r}")
        entries.append(Entry(os.path.join(root, "images", name), index[category],
                             {"source": "dtd", "category": category, "filename": name}))
    return entries


def list_folder(input_dir, label_offset=0):
    """Every non-hidden file below input_dir (non-images are skipped later).

    Label = label_offset + index of the top-level subfolder (sorted); files
    directly in input_dir get label 0. Metadata: category (subfolder), filename
    (path relative to input_dir).
    """
    _require_dir(input_dir, "image folder")
    classes = sorted(name for name in os.listdir(input_dir)
                     if not name.startswith(".") and os.path.isdir(os.path.join(input_dir, name)))
    index = {name: label_offset + label for label, name in enumerate(classes)}
    entries = []
    for directory, subdirs, files in os.walk(input_dir):
        subdirs[:] = [name for name in subdirs if not name.startswith(".")]
        for name in files:
            if name.startswith("."):
                continue
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, input_dir)
            category = relative.split(os.sep)[0] if os.sep in relative else ""
            entries.append(Entry(path, index.get(category, 0),
                                 {"category": category, "filename": relative}))
    return sorted(entries, key=lambda entry: entry.path)


def list_imagenet(input_dir):
    """ILSVRC layout (`n01440764/*.JPEG`, ...) or any folder tree of images.

    Labels follow slim: 1 + index of the sorted class folder (0 = background,
    used for loose files). Metadata: filename (base name), synset (the folder
    name when it is a WordNet id like n01440764, else "").
    """
    entries = []
    for entry in list_folder(input_dir, label_offset=1):
        category = entry.metadata["category"]
        entries.append(entry._replace(metadata={
            "filename": os.path.basename(entry.path),
            "synset": category if _SYNSET.match(category) else ""}))
    return entries


def candidate_order(entries, num_images=None, seed=0):
    """Entries in the order to try: as given, or a seeded shuffle for a subset.

    When only `num_images` are wanted the builder encodes candidates in this
    order until that many succeeded, so the same seed gives the same set.
    """
    if num_images is None:
        return list(entries)
    shuffled = sorted(entries, key=lambda entry: entry.path)
    random.Random(seed).shuffle(shuffled)
    return shuffled
