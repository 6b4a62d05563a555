"""Data: TFRecord formats, raw dataset sources and builders, image ops and tf.data pipelines.

`magenta_style.data.content_dataset`, `style_dataset`, `skipped_records` and
`SkippedRecords` are the pipelines' entry points (loaded on first use, so the
TF-free modules here, `sources` and `builders`' workers, import quickly).
"""
import importlib

_PIPELINE_NAMES = ("content_dataset", "style_dataset", "skipped_records", "SkippedRecords")


def __getattr__(name):
    if name in _PIPELINE_NAMES:
        return getattr(importlib.import_module("magenta_style.data.pipelines"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
