"""benchmarks/device_suite.sh --dry: every section of the device benchmark runs, one table.

The float32 train step only: the bfloat16 and XLA steps are the same one_device_step that
tests/training/test_accelerated.py runs in those modes (and their compiles are minutes here).
"""
import os
import subprocess
import sys

import pytest

from tests import ROOT


@pytest.mark.slow
def test_dry_device_suite_prints_every_row():
    env = dict(os.environ, PYTHON=sys.executable, DEVICE_SUITE_TIMEOUT_S="1500")
    result = subprocess.run([os.path.join(ROOT, "benchmarks", "device_suite.sh"), "--dry",
                             "--budget_s=1400", "--step_modes=float32"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=1600)
    assert result.returncode == 0, result.stderr[-3000:]
    table = result.stdout[result.stdout.index("| section |"):]
    # Data rows: every "| " line after the header (the |---| rule does not start with "| ").
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| ")][1:]
    assert "skipped" not in table
    sections = [row[0].strip("| ") for row in rows]
    assert sections.count("train step") == 1  # mobile float32
    assert sections.count("pipeline") == 3  # content, style, both
    assert sections.count("stylize") == 3  # three sizes
    assert sections.count("evaluation") == 1
    assert all("images/s" in row[2] for row in rows if row[0] == "| train step")
    assert "(extrapolated)" in rows[-1][2]


def test_unknown_step_mode_is_one_line():
    result = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "device_suite.py"),
                             "--dry", "--step_modes=float32,float8"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "device_suite.py: error: --step_modes: unknown mode(s) float8; known: float32, "
        "float16, bfloat16, xla, xla_bfloat16")
