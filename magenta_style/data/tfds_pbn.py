"""`painter_by_numbers`: a tensorflow-datasets builder for Kaggle's Painter by Numbers.

Importing this module registers the builder, so `tfds.load("painter_by_numbers")`
works; the pipeline source `tfds:painter_by_numbers` imports it itself. Manual download: put
the Kaggle files (train/, test/, all_data_info.csv) in `<manual_dir>`
(default `<data_dir>/downloads/manual/`, i.e. ~/tensorflow_datasets/downloads/manual/, or
`DownloadConfig(manual_dir=...)` / `tfds build --manual_dir`); the first read prepares it. Images are stored as RGB JPEGs with the shorter
side at most defaults.BUILDER_MAX_SHORTER_SIDE; unreadable files are skipped
and logged. Splits: train (in_train) and test.
"""
import io

import numpy as np
import tensorflow_datasets as tfds
from absl import logging

from magenta_style import defaults, image_io
from magenta_style.data import sources


class PainterByNumbers(tfds.core.GeneratorBasedBuilder):
    """Painter by Numbers paintings with artist label and style/genre metadata."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release: RGB JPEG, shorter side <= 512."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        "Download train.zip, test.zip and all_data_info.csv from "
        "https://www.kaggle.com/c/painter-by-numbers/data, unzip so that the manual "
        "dir holds train/, test/ and all_data_info.csv.")

    def _info(self):
        text = tfds.features.Text()
        return self.dataset_info_from_configs(
            description="Painter by Numbers (Kaggle): ~100k paintings from WikiArt.",
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(None, None, 3), encoding_format="jpeg"),
                "label": tfds.features.Scalar(dtype=np.int64, doc="artist index (sorted names)"),
                "artist": text, "style": text, "genre": text, "file_name": text,
            }),
            supervised_keys=("image", "label"),
            homepage="https://www.kaggle.com/c/painter-by-numbers")

    def _split_generators(self, dl_manager):
        manual_dir = str(dl_manager.manual_dir)
        return {split: self._generate_examples(manual_dir, split) for split in ("train", "test")}

    def _generate_examples(self, manual_dir, split):
        for entry in sources.list_pbn(manual_dir, split):
            try:
                jpeg, _, _ = image_io.encode_rgb_jpeg(entry.path, defaults.BUILDER_MAX_SHORTER_SIDE)
            except image_io.ImageError as error:
                logging.warning("painter_by_numbers: skipped %s", error)
                continue
            metadata = entry.metadata
            yield metadata["filename"], {
                "image": io.BytesIO(jpeg), "label": entry.label, "artist": metadata["artist"],
                "style": metadata["style"], "genre": metadata["genre"],
                "file_name": metadata["filename"]}
