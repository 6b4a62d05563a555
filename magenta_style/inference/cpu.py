"""What the engines need to know of this machine's CPU (no TensorFlow)."""
import os


def num_threads_default():
    """The CPUs this process may run on (LiteRT's own default is one thread)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def cpu_flags():
    """The CPU feature flags (/proc/cpuinfo's), or None where there is no such file."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as stream:
            text = stream.read()
    except OSError:
        return None
    return set(text.split())


def has_amx(flags=None):
    """Whether the CPU has AMX tiles (where TensorFlow's oneDNN graph outruns LiteRT).
    flags: a set of flag names, or /proc/cpuinfo's text (default: this machine's)."""
    if flags is None:
        flags = cpu_flags() or set()
    elif isinstance(flags, str):
        flags = set(flags.split())
    return "amx_tile" in flags
