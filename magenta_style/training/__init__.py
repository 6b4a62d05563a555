"""Training a Stylizer: TrainConfig (train.py's flags), strategies, models, steps, summaries,
checkpoints, the train_dir lock, preemption and the loop (`loop.train`)."""
