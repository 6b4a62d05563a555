"""Flag-free workloads shared by the benchmark scripts (train_step.py, device_suite.py).

Each builder returns a zero-argument callable that runs one unit of work to
completion (it waits for the device), ready for `timing.interleaved_times`.
Weights are random: speed does not depend on them.
"""
import time

import tensorflow as tf

from benchmarks.timing import interleaved_times
from magenta_style.training import config as train_config
from magenta_style.training import steps

# Step configurations: name -> (--mixed_precision, --jit_compile).
STEP_MODES = {
    "float32": ("off", False),
    "float16": ("float16", False),
    "bfloat16": ("bfloat16", False),
    "xla": ("off", True),
    "xla_bfloat16": ("bfloat16", True),
}


def train_step_call(model_type, mode, batch_size, image_size, seed=0, **config_values):
    """One compiled train step (train.py's, one device) on a fixed in-memory batch.

    mode: a STEP_MODES key; config_values: other TrainConfig fields (e.g. loss
    weights). Returns (call, train_step): call() runs one step and returns its
    total loss as a float.
    """
    mixed_precision, jit_compile = STEP_MODES[mode]
    config = train_config.TrainConfig(model_type=model_type, vgg_weights="random",
                                      predictor_weights="random", jit_compile=jit_compile,
                                      mixed_precision=mixed_precision, **config_values)
    train_config.resolve_loss_weights(config)  # validate()'s part that needs no run
    _, _, _, train_step = steps.one_device_step(config, seed)
    batch = {"content": tf.random.uniform([batch_size, image_size, image_size, 3], seed=1),
             "style": tf.random.uniform([batch_size, image_size, image_size, 3], seed=2)}
    return (lambda: float(train_step(batch)[0]["total_loss"])), train_step


def measure_steps(model_type, modes, batch_size, image_size, rounds, **config_values):
    """{mode: (step seconds per round, build + trace + compile seconds)}, modes interleaved."""
    calls, warm_up = [], []
    for mode in modes:
        start = time.perf_counter()
        call, _ = train_step_call(model_type, mode, batch_size, image_size, **config_values)
        call()  # trace + compile
        warm_up.append(time.perf_counter() - start)
        calls.append(call)
    times = interleaved_times(calls, rounds, warmup=1)
    return {mode: (spent, seconds) for mode, spent, seconds in zip(modes, times, warm_up)}


def stylize_call(model, size):
    """Batch-1 stylization of a size x size content (style bottleneck precomputed)."""
    stylize = tf.function(model.stylize, input_signature=[
        tf.TensorSpec([1, None, None, 3], tf.float32),
        tf.TensorSpec([1, model.bottleneck_dim], tf.float32)])
    content = tf.random.uniform([1, size, size, 3], seed=3)
    bottleneck = tf.random.normal([1, model.bottleneck_dim], seed=4)
    return lambda: stylize(content, bottleneck).numpy()
