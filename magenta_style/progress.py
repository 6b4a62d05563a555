"""Progress lines for long work: counts, rate and ETA in one format for every tool.

    name: done/total unit (pct%), elapsed HH:MM:SS, rate unit/s, ETA HH:MM:SS, extras...

Standard library only: dataset builders use it in TF-free worker processes.
"""
import contextlib
import math
import sys
import time


def format_duration(seconds):
    """Seconds -> `[Nd ]HH:MM:SS` (rounded); `?` when unknown (None, inf, nan, negative)."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "?"
    days, rest = divmod(int(seconds + 0.5), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, rest = divmod(rest, 60)
    return (f"{days}d " if days else "") + f"{hours:02d}:{minutes:02d}:{rest:02d}"


def _format_rate(rate):
    return f"{rate:.2f}" if rate < 10 else f"{rate:.1f}"


class Progress:
    """Counts finished work of `total` units and logs progress lines.

    Args:
      total: units expected (may be lowered later by assigning `total`).
      unit: plural word for the units ("images", "styles", "steps").
      name: line prefix ("" for none).
      interval: seconds between lines from `update` (0 = every call); final lines always print.
      log: one-argument function taking a line; default prints to `stream`.
      stream: file for the default log (default stderr), flushed per line.
      clock: seconds function (injectable for tests).
    The rate is measured since construction or the last `restart`, the elapsed
    time always since construction.
    """

    def __init__(self, total, unit, name="", interval=0.0, log=None, stream=None,
                 clock=time.perf_counter):
        self.total, self.unit, self.name, self.interval = total, unit, name, interval
        self.log = log or (lambda line: print(line, file=stream or sys.stderr, flush=True))
        self.clock, self.done = clock, 0
        self.started = self.last_line = clock()
        self.mark_time, self.mark_done = self.started, 0

    def restart(self, done=None):
        """Restarts the rate window now, at `done` units (default: the current count)."""
        if done is not None:
            self.done = done
        self.mark_time, self.mark_done = self.clock(), self.done

    def elapsed(self):
        """Seconds since construction."""
        return self.clock() - self.started

    def rate(self):
        """Units per second since the last restart (0.0 before any time passed)."""
        seconds = self.clock() - self.mark_time
        return (self.done - self.mark_done) / seconds if seconds > 0 else 0.0

    def eta(self):
        """Seconds left at the current rate; 0.0 when done, None when unknown."""
        remaining = self.total - self.done
        if remaining <= 0:
            return 0.0
        rate = self.rate()
        return remaining / rate if rate > 0 else None

    def line(self, *extras):
        """The progress line now, with `extras` (strings) appended."""
        percent = 100.0 * self.done / max(self.total, 1)
        parts = [f"{self.done}/{self.total} {self.unit} ({percent:.1f}%)",
                 f"elapsed {format_duration(self.elapsed())}",
                 f"{_format_rate(self.rate())} {self.unit}/s",
                 f"ETA {format_duration(self.eta())}", *extras]
        return (f"{self.name}: " if self.name else "") + ", ".join(parts)

    def update(self, done, *extras, final=False):
        """Sets the count; logs a line if `final` or `interval` passed. Returns the line or None."""
        self.done = done
        now = self.clock()
        if not final and now - self.last_line < self.interval:
            return None
        self.last_line = now
        text = self.line(*extras)
        self.log(text)
        return text

    def advance(self, *extras, count=1):
        """Adds `count` finished units and logs like `update` (final once done reaches total)."""
        return self.update(self.done + count, *extras, final=self.done + count >= self.total)

    @contextlib.contextmanager
    def timed(self, label):
        """Context: one unit of work named `label`; on success advances with `label in T s`."""
        began = self.clock()
        yield
        self.advance(f"{label} in {self.clock() - began:.1f} s")
