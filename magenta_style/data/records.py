"""The two TFRecord formats: Magenta style records and slim ImageNet records.

One place defines feature names, how builders serialize a record and how
pipelines parse one, so writers, readers and test fixtures cannot drift.

Style (Magenta format): `image_raw` (encoded JPEG), `label` (int64), plus our
optional metadata strings (absent in Magenta's own files; parsed as "").
Content (slim/inception ImageNet format): `image/encoded`, `image/class/label`
(1-based, 0 = background), `image/height`, `image/width`, `image/format`, ...
"""
import tensorflow as tf

STYLE_IMAGE_KEY = "image_raw"
STYLE_LABEL_KEY = "label"
# Metadata strings a style record may carry; every parsed record has all of
# them (empty when absent) so batches from mixed sources share one structure.
STYLE_METADATA_KEYS = ("source", "artist", "style", "genre", "category", "filename")

CONTENT_IMAGE_KEY = "image/encoded"
CONTENT_LABEL_KEY = "image/class/label"
CONTENT_STRING_KEYS = ("image/format", "image/filename", "image/class/synset",
                       "image/colorspace")
CONTENT_INT_KEYS = ("image/height", "image/width", "image/channels")


def _bytes_feature(value):
    value = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _int64_feature(value):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))


def style_example(image_bytes, label, metadata=None):
    """Serialized Magenta-format style record.

    Args:
      image_bytes: encoded JPEG bytes.
      label: int style label.
      metadata: optional {key: str} with keys from STYLE_METADATA_KEYS.
    Returns:
      bytes of a serialized tf.train.Example.
    """
    feature = {STYLE_IMAGE_KEY: _bytes_feature(image_bytes),
               STYLE_LABEL_KEY: _int64_feature(label)}
    for key, value in (metadata or {}).items():
        if key not in STYLE_METADATA_KEYS:
            raise ValueError(f"unknown style metadata key {key!r} (known: {STYLE_METADATA_KEYS})")
        feature[key] = _bytes_feature(value or "")
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def content_example(image_bytes, label, height, width, filename="", synset=""):
    """Serialized slim/inception ImageNet-format record of an RGB JPEG."""
    feature = {
        CONTENT_IMAGE_KEY: _bytes_feature(image_bytes),
        CONTENT_LABEL_KEY: _int64_feature(label),
        "image/height": _int64_feature(height),
        "image/width": _int64_feature(width),
        "image/channels": _int64_feature(3),
        "image/colorspace": _bytes_feature("RGB"),
        "image/format": _bytes_feature("JPEG"),
        "image/filename": _bytes_feature(filename),
        "image/class/synset": _bytes_feature(synset),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


_STYLE_SPEC = {
    STYLE_IMAGE_KEY: tf.io.FixedLenFeature([], tf.string, default_value=""),
    STYLE_LABEL_KEY: tf.io.FixedLenFeature([], tf.int64, default_value=-1),
    **{key: tf.io.FixedLenFeature([], tf.string, default_value="")
       for key in STYLE_METADATA_KEYS},
}

_CONTENT_SPEC = {
    CONTENT_IMAGE_KEY: tf.io.FixedLenFeature([], tf.string, default_value=""),
    CONTENT_LABEL_KEY: tf.io.FixedLenFeature([], tf.int64, default_value=-1),
    **{key: tf.io.FixedLenFeature([], tf.string, default_value="") for key in CONTENT_STRING_KEYS},
    **{key: tf.io.FixedLenFeature([], tf.int64, default_value=0) for key in CONTENT_INT_KEYS},
}


def parse_style_record(serialized):
    """Serialized style record -> {"image_bytes", "label", *STYLE_METADATA_KEYS}."""
    parsed = tf.io.parse_single_example(serialized, _STYLE_SPEC)
    record = {"image_bytes": parsed[STYLE_IMAGE_KEY], "label": parsed[STYLE_LABEL_KEY]}
    record.update({key: parsed[key] for key in STYLE_METADATA_KEYS})
    return record


def parse_content_record(serialized):
    """Serialized ImageNet record -> {"image_bytes", "label", "filename", "synset"}."""
    parsed = tf.io.parse_single_example(serialized, _CONTENT_SPEC)
    return {"image_bytes": parsed[CONTENT_IMAGE_KEY], "label": parsed[CONTENT_LABEL_KEY],
            "filename": parsed["image/filename"], "synset": parsed["image/class/synset"]}
