r"""Images/s of the content and style pipelines versus raw JPEG decoding, same files, same cores.

  python benchmarks/data_pipeline.py                       # temp dataset from skimage photos
  python benchmarks/data_pipeline.py --content_source=/data/imagenet \
      --style_source='/data/records/pbn_train-*.tfrecord'

Raw decoding = TFRecord read + tf.io.decode_jpeg with parallel map (AUTOTUNE),
the floor any pipeline pays. Goal: each pipeline >= 0.8x that rate. Every measurement
(PIL included) runs once per round, rounds alternating them; best and median per pipeline,
ratios to raw decode from the same rounds.
"""
import io
import os
import sys
import tempfile
import time

from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tensorflow as tf

from benchmarks import timing
from magenta_style import defaults
from magenta_style.cli import runner
from magenta_style.data.image_ops import decode_content_image
from magenta_style.data.pipelines import content_dataset, style_dataset

AUTOTUNE = tf.data.AUTOTUNE
from magenta_style.data import records

flags.DEFINE_string("content_source", None, "Content TFRecords (default: generated).")
flags.DEFINE_string("style_source", None, "Style TFRecords (default: generated).")
flags.DEFINE_integer("num_generated", 256, "Images in the generated dataset.", lower_bound=8)
flags.DEFINE_integer("num_images", 1024, "Images timed per pipeline (after warm-up).",
                     lower_bound=8)
flags.DEFINE_integer("image_size", defaults.IMAGE_SIZE, "Crop size S.")
flags.DEFINE_integer("batch_size", defaults.BATCH_SIZE, "Batch size.")
flags.DEFINE_integer("rounds", 5, "Timing rounds, each measuring every pipeline once.",
                     lower_bound=1)
FLAGS = flags.FLAGS


def generate(directory, num_images):
    """Writes `num_images` ~500x375 JPEG crops of skimage photos as content and style records."""
    import numpy as np  # pylint: disable=import-outside-toplevel
    import skimage.data  # pylint: disable=import-outside-toplevel
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    from PIL import Image  # pylint: disable=import-outside-toplevel
    photos = [getattr(skimage.data, name)() for name in
              ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "motorcycle_left")
              if hasattr(skimage.data, name)]
    rng = np.random.default_rng(0)
    content = os.path.join(directory, "train-00000-of-00001")
    style = os.path.join(directory, "style.tfrecord")
    with tf.io.TFRecordWriter(content) as content_writer, \
            tf.io.TFRecordWriter(style) as style_writer:
        for index in range(num_images):
            photo = Image.fromarray(photos[index % len(photos)]).convert("RGB")
            scale = rng.uniform(0.9, 1.3)
            photo = photo.resize((int(500 * scale), int(375 * scale)), Image.BILINEAR)
            if rng.random() < 0.5:
                photo = photo.transpose(Image.FLIP_LEFT_RIGHT)
            buffer = io.BytesIO()
            photo.save(buffer, format="JPEG", quality=90)
            jpeg = buffer.getvalue()
            content_writer.write(records.content_example(jpeg, 1, photo.height, photo.width))
            style_writer.write(records.style_example(jpeg, index))
    return content, style


def images_per_second(dataset, num_images, batch_size, warm_up_batches=10):
    """(images per wall second, images per CPU second of this process) for `num_images`.

    CPU seconds, summed over all threads, measure the pipeline's cost even when
    other processes share the cores; wall seconds measure what training sees.

    Each measurement owns its iterator and drops it afterwards: a live idle
    iterator keeps filling its prefetch buffers in the background, which would
    steal cores from (and later flatter) the other measurements.
    """
    iterator = iter(dataset)
    for _ in range(warm_up_batches):
        next(iterator)
    batches = max(1, num_images // batch_size)
    start, start_cpu = time.perf_counter(), time.process_time()
    for _ in range(batches):
        next(iterator)
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    del iterator
    return batches * batch_size / wall, batches * batch_size / cpu


def raw_decode_records(pattern):
    """The TFRecords of a file, glob or (content) directory."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    files = tf.io.gfile.glob(pattern) if not tf.io.gfile.isdir(pattern) else \
        tf.io.gfile.glob(os.path.join(pattern, "train-*-of-*"))
    return tf.data.TFRecordDataset(files, num_parallel_reads=AUTOTUNE)


def raw_decode(pattern, parse, batch_size):
    """Read + decode only, batched as shapes (no resize possible without a size)."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    dataset = raw_decode_records(pattern).repeat()
    dataset = dataset.map(lambda r: tf.shape(tf.io.decode_jpeg(parse(r)["image_bytes"],
                                                               channels=3)),
                          num_parallel_calls=AUTOTUNE, deterministic=False)
    return dataset.batch(batch_size).prefetch(AUTOTUNE)


def preprocess_only(pattern, parse, batch_size, image_size):
    """Read + decode_content_image (window decode + resize) without the pipeline machinery."""
    dataset = raw_decode_records(pattern).repeat()
    dataset = dataset.map(lambda r: decode_content_image(parse(r)["image_bytes"],
                                                              image_size)[0],
                          num_parallel_calls=AUTOTUNE, deterministic=False)
    return dataset.batch(batch_size).prefetch(AUTOTUNE)


def pil_decode(pattern, parse, num_images):
    """A callable measuring PIL decoding the same JPEG bytes in one Python thread (a naive
    loader): (images per wall second, images per CPU second), as images_per_second."""
    from PIL import Image  # pylint: disable=import-outside-toplevel
    jpegs = [record["image_bytes"].numpy() for record in
             raw_decode_records(pattern).map(parse).take(num_images)]

    def measure():
        start, start_cpu = time.perf_counter(), time.process_time()
        for jpeg in jpegs:
            Image.open(io.BytesIO(jpeg)).convert("RGB").load()
        wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        return len(jpegs) / wall, len(jpegs) / cpu
    return measure


def main(argv):
    del argv
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    with tempfile.TemporaryDirectory() as directory:
        content, style = FLAGS.content_source, FLAGS.style_source
        if not (content and style):
            generated = generate(directory, FLAGS.num_generated)
            content, style = content or generated[0], style or generated[1]
        size, batch, count = FLAGS.image_size, FLAGS.batch_size, FLAGS.num_images
        pipelines = {
            "raw decode (content records)": raw_decode(content, records.parse_content_record,
                                                       batch),
            "content_dataset": content_dataset(content, batch, size),
            "  its decode + resize alone (no pipeline)": preprocess_only(
                content, records.parse_content_record, batch, size),
            "raw decode (style records)": raw_decode(style, records.parse_style_record, batch),
            "style_dataset (augment + random size)": style_dataset(style, batch, size),
            "style_dataset (same, no image_original)": style_dataset(
                style, batch, size, with_original=False),
            "style_dataset (eval, central crop)": style_dataset(
                style, batch, size, training=False).repeat(),
        }
        measurements = {name: lambda dataset=dataset: images_per_second(dataset, count, batch)
                        for name, dataset in pipelines.items()}
        measurements["PIL decode, one Python thread"] = pil_decode(
            content, records.parse_content_record, min(count, 256))
        print(f"TensorFlow {tf.__version__}, S={size}, batch={batch}, {FLAGS.rounds} interleaved "
              f"rounds of {count} images, every pipeline once per round")
        print(f"before: {timing.conditions()}", flush=True)
        rounds = {name: [] for name in measurements}
        for _ in range(FLAGS.rounds):
            for name, measure in measurements.items():
                rounds[name].append(measure())
        print(f"after: {timing.conditions()}")
    # name -> ((best, median) images per wall second, (best, median) per CPU second)
    rates = {name: tuple(timing.best_median(column) for column in zip(*measured))
             for name, measured in rounds.items()}
    print("x raw: ratio to raw decode of the same records, best to best and median to median")
    print(f"  {'pipeline':42s} {'img/s best':>10s} {'x raw':>6s} {'median':>8s} {'x raw':>6s} "
          f"{'img/CPU-s best':>14s} {'x raw':>6s} {'median':>8s} {'x raw':>6s}")
    for name in rates:
        raw = "raw decode (style records)" if "style" in name else "raw decode (content records)"
        values, raws = (sum(rates[key], ()) for key in (name, raw))
        print(f"  {name:42s} " + " ".join(f"{value:{width}.1f} {value / raw_value:6.2f}" for
                                          value, raw_value, width in zip(values, raws,
                                                                         (10, 8, 14, 8))))


if __name__ == "__main__":
    runner.run(main)
