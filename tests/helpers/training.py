"""In-process training runs at tiny sizes: a validated TrainConfig, one repeated batch."""
import numpy as np
import tensorflow as tf

from magenta_style.training.config import TrainConfig, validate

SIZE = 32
# The tests' one tiny training run, as TrainConfig values: in process (tiny_config), as train.py's
# flags (train_cli.tiny_flags) and as tests/train_worker.py's JSON (test_preemption). Mobile model,
# random loss network and predictor (no downloads), one style size (a random size per step would
# be a new trace per step).
TINY = dict(model_type="mobile", vgg_weights="random", predictor_weights="random", batch_size=2,
            image_size=SIZE, train_steps=2, save_interval_steps=2, summary_interval_steps=2,
            log_interval_steps=1, seed=0, random_style_image_size=False)


def tiny_config(train_dir, **overrides):
    values = dict(TINY, train_dir=str(train_dir), style_dataset_file=("unused",),
                  imagenet_data_dir="unused")
    values.update(overrides)
    return validate(TrainConfig(**values))


def fixed_batches(num_images=2, size=SIZE, content_value=None, seed=0):
    """dataset_fn repeating one batch {content, style, style_original} (content_value: fill)."""
    def dataset_fn(input_context):
        batch = input_context.get_per_replica_batch_size(num_images)
        rng = np.random.default_rng(seed)
        content = rng.uniform(size=(batch, size, size, 3)).astype(np.float32)
        if content_value is not None:
            content[:] = content_value
        style = rng.uniform(size=(batch, size, size, 3)).astype(np.float32)
        return tf.data.Dataset.from_tensors(
            {"content": content, "style": style, "style_original": style}).repeat()
    return dataset_fn
