"""Subprocess driver for the strategy tests: trains from a JSON TrainConfig, dumps the weights.

  python tests/train_worker.py CONFIG_JSON OUT_NPZ

TF_CONFIG, if set, drives --strategy=multi_worker. OUT_NPZ holds the
trainable weights after training.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(config_path, out_path):
    from magenta_style.training import config as train_config
    from magenta_style.training.loop import train
    with open(config_path, encoding="utf-8") as f:
        config = train_config.validate(train_config.TrainConfig(**json.load(f)))
    from magenta_style.training.preemption import TrainingInterrupted
    try:
        model = train(config)
    except TrainingInterrupted as error:  # as cli.runner: the message, then 128 + signal
        print(f"train_worker: stopped: {error}", flush=True)
        sys.exit(error.exit_code)
    # Trainable weights only: BatchNorm moving statistics are per replica (not synchronized).
    np.savez(out_path, *[np.asarray(w) for w in model.trainable_weights])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
