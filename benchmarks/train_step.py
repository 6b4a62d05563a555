"""Training-step throughput (images/s) vs the input pipeline's rate, in one run.

  python benchmarks/train_step.py --steps=5 --batch_size=8 --image_size=256

For each model (full, mobile) and XLA off/on: the compiled train step of
magenta_style.training on one in-memory batch (style images at --image_size;
compile steps excluded). Then train.py's tf.data pipeline (data.py content +
augmented style, random style size) on generated JPEG TFRecords of realistic
size. Goal: pipeline >= 3x what the fastest step consumes. Weights are
random: speed does not depend on them.
"""
import os
import sys
import tempfile
import time

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

flags.DEFINE_integer("steps", 5, "Measured steps per configuration (after 2 warm-up steps).")
flags.DEFINE_integer("batch_size", 8, "Global batch size.")
flags.DEFINE_integer("image_size", 256, "Content and style image size.")
flags.DEFINE_list("models", ["mobile", "full"], "Model types to measure (empty: pipeline only).")
flags.DEFINE_list("xla", ["off", "on"], "XLA settings to measure (off, on).")
flags.DEFINE_integer("pipeline_batches", 50, "Measured input batches (after 3 warm-up).")
flags.DEFINE_integer("record_images", 64, "Images in the generated style / content records.")
flags.DEFINE_boolean("mixed_precision", False, "Also set --mixed_precision for the step.")
FLAGS = flags.FLAGS


def measure_step(model_type, jit_compile, batch_size, image_size, steps, mixed_precision):
    import keras  # pylint: disable=import-outside-toplevel
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from magenta_style.training import config as train_config
    from magenta_style.training.models import build_models
    from magenta_style.training.steps import make_optimizer, make_train_step
    from magenta_style.training.strategies import make_strategy
    config = train_config.TrainConfig(model_type=model_type, vgg_weights="random",
                                      predictor_weights="random", jit_compile=jit_compile,
                                      mixed_precision=mixed_precision)
    keras.config.set_dtype_policy("mixed_float16" if mixed_precision else "float32")
    strategy = make_strategy("default")
    with strategy.scope():
        models = build_models(config)
        optimizer = make_optimizer(config.learning_rate, mixed_precision)
        optimizer.build(models.model.trainable_variables)
        step = tf.Variable(0, dtype=tf.int64)
    train_step = make_train_step(
        strategy, models, optimizer, step, config.content_weights, config.style_weights,
        config.total_variation_weight, jit_compile=jit_compile)
    batch = {"content": tf.random.uniform([batch_size, image_size, image_size, 3], seed=1),
             "style": tf.random.uniform([batch_size, image_size, image_size, 3], seed=2)}
    start = time.perf_counter()
    for _ in range(2):
        float(train_step(batch)[0]["total_loss"])
    compile_seconds = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(steps):
        float(train_step(batch)[0]["total_loss"])
    seconds = (time.perf_counter() - start) / steps
    keras.config.set_dtype_policy("float32")
    return batch_size / seconds, seconds, compile_seconds


def measure_pipeline(batch_size, image_size, batches, record_images):
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from magenta_style.data.pipelines import SkippedRecords
    from magenta_style.training import config as train_config
    from magenta_style.training.loop import make_dataset_fn
    from tests import fake_data  # pylint: disable=import-outside-toplevel
    root = tempfile.mkdtemp(prefix="train_step_benchmark_")
    # Builders store images with the shorter side <= 512; these are 384 x ~400.
    style = fake_data.write_style_tfrecord(os.path.join(root, "style.tfrecord"),
                                           record_images, size=384)
    fake_data.write_imagenet_shards(os.path.join(root, "imagenet"), num_shards=4,
                                    images_per_shard=record_images // 4, size=384)
    config = train_config.TrainConfig(
        train_dir=root, style_dataset_file=(style,), imagenet_data_dir=os.path.join(root, "imagenet"),
        batch_size=batch_size, image_size=image_size)
    dataset = make_dataset_fn(config, SkippedRecords())(tf.distribute.InputContext())
    iterator = iter(dataset)
    for _ in range(3):
        next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * batch_size / (time.perf_counter() - start)


def main(argv):
    del argv
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    device = "GPU" if tf.config.list_physical_devices("GPU") else f"CPU ({os.cpu_count()} cores)"
    print(f"device: {device}; batch {FLAGS.batch_size}, {FLAGS.image_size} px, "
          f"{FLAGS.steps} measured steps")
    rows = []
    for model_type in FLAGS.models:
        for xla in FLAGS.xla:
            rate, seconds, compile_seconds = measure_step(
                model_type, xla == "on", FLAGS.batch_size, FLAGS.image_size, FLAGS.steps,
                FLAGS.mixed_precision)
            rows.append((model_type, xla, rate))
            print(f"  step {model_type:6s} XLA {xla:3s}: {rate:8.2f} images/s "
                  f"({seconds * 1000:.0f} ms/step; warm-up {compile_seconds:.0f} s)", flush=True)
    pipeline = measure_pipeline(FLAGS.batch_size, FLAGS.image_size, FLAGS.pipeline_batches,
                                FLAGS.record_images)
    print(f"  input pipeline: {pipeline:8.2f} images/s")
    if not rows:
        return
    fastest = max(rate for _, _, rate in rows)
    print()
    print("| model | XLA | step images/s | pipeline / step |")
    print("|---|---|---|---|")
    for model_type, xla, rate in rows:
        print(f"| {model_type} | {xla} | {rate:.2f} | {pipeline / rate:.1f}x |")
    print(f"| input pipeline | - | {pipeline:.2f} | goal >= 3x the fastest step: "
          f"{'met' if pipeline >= 3 * fastest else 'NOT met'} ({pipeline / fastest:.1f}x) |")


if __name__ == "__main__":
    app.run(main)
