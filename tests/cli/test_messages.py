"""First and last lines users see: TensorFlow's start-up notices stay out of the way unless
--verbosity asks, and errors about paths are one line with the path and the reason."""
import os
import subprocess
import sys

import numpy as np
import pytest
from absl import flags
from absl.testing import flagsaver
from PIL import Image

from magenta_style.cli import stylize
from magenta_style.errors import UsageError
from tests import ROOT
from tests.helpers.train_cli import environment


def run_export(*flags):
    env = environment()
    env.pop("TF_CPP_MIN_LOG_LEVEL")  # as a user runs it
    return subprocess.run([sys.executable, os.path.join(ROOT, "export.py"), *flags], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=180)


def test_only_the_tools_own_line_unless_verbosity_asks(tmp_path):
    missing = str(tmp_path / "missing.keras")
    flags = [f"--checkpoint={missing}", f"--output_dir={tmp_path / 'out'}"]
    result = run_export(*flags)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines == [f"export.py: error: {missing}: file not found"], result.stderr
    assert not (tmp_path / "out").exists()
    verbose = run_export(*flags, "--verbosity=1")
    assert verbose.returncode == 1
    assert len(verbose.stderr.strip().splitlines()) > 1  # TensorFlow's own notices are back


def test_stylize_output_path_that_is_a_file_is_one_line(tmp_path):
    flags.FLAGS.mark_as_parsed()
    existing = tmp_path / "taken"
    existing.write_text("not a folder")
    image = tmp_path / "a.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(image)
    settings = dict(content_images_paths=str(image), style_images_paths=str(image))
    for output_dir, where in [(existing, ""), (existing / "sub", f" ({existing})")]:
        with flagsaver.flagsaver(output_dir=str(output_dir), **settings):
            with pytest.raises(UsageError) as raised:
                stylize.main(["stylize"])
        assert str(raised.value) == (f"--output_dir={output_dir}: exists and is not a "
                                     f"directory{where}")
