"""benchmarks/device_suite.sh --dry: every section of the device benchmark runs, one table."""
import os
import subprocess
import sys

import pytest

from tests import ROOT


@pytest.mark.slow
def test_dry_device_suite_prints_every_row():
    env = dict(os.environ, PYTHON=sys.executable, DEVICE_SUITE_TIMEOUT_S="1500")
    result = subprocess.run([os.path.join(ROOT, "benchmarks", "device_suite.sh"), "--dry",
                             "--budget_s=1400"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=1600)
    assert result.returncode == 0, result.stderr[-3000:]
    table = result.stdout[result.stdout.index("| section |"):]
    # Data rows: every "| " line after the header (the |---| rule does not start with "| ").
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| ")][1:]
    assert "skipped" not in table
    sections = [row[0].strip("| ") for row in rows]
    assert sections.count("train step") == 3  # mobile x float32 / bfloat16 / xla
    assert sections.count("pipeline") == 3  # content, style, both
    assert sections.count("stylize") == 3  # three sizes
    assert sections.count("evaluation") == 1
    assert all("images/s" in row[2] for row in rows if row[0] == "| train step")
    assert "(extrapolated)" in rows[-1][2]
