"""The train step with our FusedAdam vs with keras.optimizers.Adam (the peer), in one run.

  python benchmarks/optimizer.py --rounds=3 --model_type=mobile --image_size=32

Per round, each optimizer's step is built from the same seed and measured in turn
(alternating which goes first): ops in the traced graph, trace seconds, first call
(graph optimization + executor creation) seconds; then --steps interleaved steps of
both on one in-memory batch. Build + trace time is what every train.py start and
every training test pays; the step time is the steady state.
"""
import os
import sys
import time

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.timing import conditions, interleaved_times, min_median  # noqa: E402

flags.DEFINE_integer("rounds", 3, "Build + trace rounds per optimizer.", lower_bound=1)
flags.DEFINE_integer("steps", 10, "Interleaved steady-state steps per optimizer.")
flags.DEFINE_enum("model_type", "mobile", ["mobile", "full"], "Stylizer to train.")
flags.DEFINE_integer("batch_size", 2, "Batch size.")
flags.DEFINE_integer("image_size", 32, "Content and style image size.")
FLAGS = flags.FLAGS


def build_step(optimizer_name):
    """(train step, batch) of train.py's step with `optimizer_name`'s Adam, seed 0."""
    import keras  # pylint: disable=import-outside-toplevel
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from magenta_style.training import config as train_config  # pylint: disable=import-outside-toplevel
    from magenta_style.training.optimizer import FusedAdam  # pylint: disable=import-outside-toplevel
    from magenta_style.training.steps import one_device_step  # pylint: disable=import-outside-toplevel
    config = train_config.TrainConfig(model_type=FLAGS.model_type, vgg_weights="random",
                                      predictor_weights="random")
    train_config.resolve_loss_weights(config)
    adam = {"FusedAdam": FusedAdam, "keras Adam": keras.optimizers.Adam}[optimizer_name]
    _, _, _, train_step = one_device_step(config, seed=0, adam=adam)
    shape = [FLAGS.batch_size, FLAGS.image_size, FLAGS.image_size, 3]
    batch = {"content": tf.random.uniform(shape, seed=1), "style": tf.random.uniform(shape, seed=2)}
    return train_step, batch


def main(argv):
    del argv
    names = ["FusedAdam", "keras Adam"]
    print(f"{FLAGS.model_type} step, batch {FLAGS.batch_size}, {FLAGS.image_size} px")
    print(f"before: {conditions()}", flush=True)
    warm_up = {name: {"ops": [], "trace": [], "first call": []} for name in names}
    calls = {}
    for index in range(FLAGS.rounds):
        for name in names if index % 2 == 0 else names[::-1]:
            train_step, batch = build_step(name)
            start = time.perf_counter()
            graph = train_step.get_concrete_function(batch).graph
            warm_up[name]["trace"].append(time.perf_counter() - start)
            warm_up[name]["ops"].append(len(graph.get_operations()))
            start = time.perf_counter()
            train_step(batch)[0]["total_loss"].numpy()
            warm_up[name]["first call"].append(time.perf_counter() - start)
            calls[name] = (lambda step, data: lambda: step(data)[0]["total_loss"].numpy())(
                train_step, batch)
            print(f"  round {index + 1} {name}: {warm_up[name]['ops'][-1]} ops, trace "
                  f"{warm_up[name]['trace'][-1]:.1f} s, first call "
                  f"{warm_up[name]['first call'][-1]:.1f} s", flush=True)
    steps = interleaved_times([calls[name] for name in names], FLAGS.steps, warmup=1)
    print(f"after: {conditions()}\n")
    print("| optimizer | graph ops | trace s (min / median) | first call s (min / median) | "
          "step ms (min / median) |")
    print("|---|---:|---:|---:|---:|")
    for name, spent in zip(names, steps):
        cells = [f"{warm_up[name]['ops'][0]}"]
        for key in ("trace", "first call"):
            cells.append("%.1f / %.1f" % min_median(warm_up[name][key]))
        cells.append("%.0f / %.0f" % tuple(1e3 * value for value in min_median(spent)))
        print(f"| {name} | {' | '.join(cells)} |")


if __name__ == "__main__":
    app.run(main)
