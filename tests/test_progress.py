"""magenta_style.progress: rate / ETA arithmetic, throttling, final lines, wording."""
import io

import pytest

from magenta_style.progress import Progress, format_duration


class Clock:
    """A settable clock (seconds)."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def _progress(total, unit="images", **kwargs):
    clock, lines = Clock(), []
    return Progress(total, unit, log=lines.append, clock=clock, **kwargs), clock, lines


@pytest.mark.parametrize("seconds, text", [
    (0, "00:00:00"), (59.4, "00:00:59"), (59.6, "00:01:00"), (3661, "01:01:01"),
    (2 * 86400 + 5, "2d 00:00:05"), (None, "?"), (float("inf"), "?"), (float("nan"), "?"),
    (-1, "?")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_rate_and_eta_from_the_clock():
    progress, clock, lines = _progress(100, name="build")
    clock.now += 10
    assert progress.update(25, "3 skipped") == (
        "build: 25/100 images (25.0%), elapsed 00:00:10, 2.50 images/s, ETA 00:00:30, 3 skipped")
    assert progress.rate() == 2.5 and progress.eta() == 30.0 and lines == [progress.line("3 skipped")]
    clock.now += 5
    progress.update(100)
    assert progress.rate() == pytest.approx(100 / 15) and progress.eta() == 0.0
    assert lines[-1] == "build: 100/100 images (100.0%), elapsed 00:00:15, 6.67 images/s, ETA 00:00:00"


def test_unknown_rate_and_zero_total():
    progress, _, _ = _progress(0, "styles")
    assert progress.rate() == 0.0 and progress.eta() == 0.0
    assert progress.line() == "0/0 styles (0.0%), elapsed 00:00:00, 0.00 styles/s, ETA 00:00:00"
    progress, clock, _ = _progress(5, "steps")
    clock.now += 3
    assert progress.eta() is None and "ETA ?" in progress.line()


def test_throttling_and_final_line():
    progress, clock, lines = _progress(10, interval=2.0)
    clock.now += 1
    assert progress.update(1) is None and lines == []  # within the interval
    clock.now += 1.5
    assert progress.update(2) is not None and len(lines) == 1
    clock.now += 0.5
    assert progress.update(3) is None
    assert progress.update(3, final=True) is not None and len(lines) == 2  # final always prints
    assert lines[-1].startswith("3/10 images (30.0%)")
    progress.update(9)
    assert progress.advance() is not None  # reaching total forces the last line
    assert lines[-1].startswith("10/10 images (100.0%)") and "ETA 00:00:00" in lines[-1]


def test_restart_measures_the_window():
    progress, clock, lines = _progress(1000, "steps", name="train")
    clock.now += 60  # tracing and compiling the first step
    progress.restart(101)
    clock.now += 4
    progress.update(121, "total_loss=1.5", "40.0 images/s")
    assert progress.rate() == 5.0 and progress.eta() == pytest.approx(879 / 5)
    assert lines[-1] == ("train: 121/1000 steps (12.1%), elapsed 00:01:04, 5.00 steps/s, "
                         "ETA 00:02:56, total_loss=1.5, 40.0 images/s")
    progress.restart()
    assert progress.rate() == 0.0 and progress.done == 121


def test_timed_items_name_and_duration():
    progress, clock, lines = _progress(2, "steps", name="export")
    with progress.timed("saved_model"):
        clock.now += 1.25
    assert lines == ["export: 1/2 steps (50.0%), elapsed 00:00:01, 0.80 steps/s, ETA 00:00:01, "
                     "saved_model in 1.2 s"]
    with pytest.raises(KeyError):
        with progress.timed("broken"):
            raise KeyError("x")
    assert progress.done == 1 and len(lines) == 1  # a failed item is not counted


def test_large_rates_and_default_stream():
    stream = io.StringIO()
    clock = Clock()
    progress = Progress(5000, "images", stream=stream, clock=clock)
    clock.now += 2
    progress.update(1000)
    assert stream.getvalue() == ("1000/5000 images (20.0%), elapsed 00:00:02, 500.0 images/s, "
                                 "ETA 00:00:08\n")
