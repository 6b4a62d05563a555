"""Round-robin timing shared by the benchmarks: on shared CPUs every
configuration must see the same machine load, so they alternate within a round."""
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
