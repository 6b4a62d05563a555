"""Round-robin timing shared by the benchmarks: on shared CPUs every
configuration must see the same machine load, so they alternate within a round."""
import os
import platform
import statistics
import time


def interleaved_times(functions, rounds, warmup=0, on_round=None):
    """Wall seconds of each call: [per function: [rounds floats]].

    Each function first runs `warmup` untimed times; then every round calls
    each function once, in order. on_round(index) is called after each round.
    """
    for function in functions:
        for _ in range(warmup):
            function()
    times = [[] for _ in functions]
    for index in range(rounds):
        for function, spent in zip(functions, times):
            start = time.perf_counter()
            function()
            spent.append(time.perf_counter() - start)
        if on_round is not None:
            on_round(index)
    return times


def min_median(seconds):
    """(min, median) of a list of floats."""
    return min(seconds), statistics.median(seconds)


def best_median(rates):
    """(max, median) of a list of rates (higher is better)."""
    return max(rates), statistics.median(rates)


def conditions():
    """Load average and thread count, printed before and after each measurement."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel  (keeps this module cheap)
    threads = tf.config.threading.get_intra_op_parallelism_threads()
    load = "/".join(f"{v:.1f}" for v in os.getloadavg())
    return (f"load average {load} (1/5/15 min); {os.cpu_count()} CPUs, TF intra-op threads "
            f"{threads or f'{os.cpu_count()} (default)'}")


def cpu_name():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            return next(line.split(":", 1)[1].strip() for line in info
                        if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"
