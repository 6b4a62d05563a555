"""An export write that fails for real (file size limit in a child process, SIGXFSZ ignored so
the write gets EFBIG; a full disk in this process) is one line, leaves no output folder and
keeps an existing one as it was."""
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from magenta_style import image_io
from magenta_style.errors import ExportError
from magenta_style.export.pipeline import _staging_dir
from tests import ROOT
from tests.helpers.full_disk import small_disk
from tests.helpers.train_cli import environment

CHILD = """
import resource, signal, sys
import tensorflow as tf
from magenta_style.errors import ExportError
from magenta_style.export.pipeline import _staging_dir
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, resource.RLIM_INFINITY))
for writer in ("python", "tensorflow"):
    try:
        with _staging_dir(sys.argv[1], overwrite=True) as staging:
            path = staging + "/variables.data"
            if writer == "python":
                with open(path, "wb") as f:
                    f.write(bytes(1 << 20))
            else:
                tf.io.write_file(path, tf.zeros([1 << 18]).numpy().tobytes())
        print("no error")
    except ExportError as error:
        print(error)
"""


def test_failed_export_write_is_one_line_and_keeps_the_existing_output(tmp_path):
    output_dir = tmp_path / "exported"
    output_dir.mkdir()
    (output_dir / "verification.txt").write_text("the previous export")
    result = subprocess.run([sys.executable, "-c", CHILD, str(output_dir)], cwd=ROOT,
                            env=environment(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    expected = (f"{output_dir}: could not write the export (File too large); nothing written "
                "there; the existing one is unchanged")
    assert result.stdout.splitlines() == [expected, expected]
    assert os.listdir(output_dir) == ["verification.txt"]
    assert (output_dir / "verification.txt").read_text() == "the previous export"
    assert sorted(os.listdir(tmp_path)) == ["exported"]  # no staging folder left


def test_full_disk_export_is_one_line_and_keeps_the_existing_output(tmp_path):
    """In this process, on a disk that fills up (a real tmpfs as root, else the file size
    limit): a picture written atomically inside the export (verification.png) and a
    TensorFlow write both end as the export's one line; nothing else is left."""
    noise = np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8)
    writers = {"picture": lambda staging: image_io.save_image(noise, staging + "/verification.png"),
               "tensorflow": lambda staging: tf.io.write_file(staging + "/variables.data",
                                                              noise.tobytes())}
    with small_disk(tmp_path / "disk") as disk:
        output_dir = os.path.join(disk.path, "exported")
        os.makedirs(output_dir)
        with open(os.path.join(output_dir, "verification.txt"), "w", encoding="utf-8") as f:
            f.write("the previous export")
        disk.fill(leave=64 << 10)
        for name, write in writers.items():
            with pytest.raises(ExportError) as error:
                with _staging_dir(output_dir, overwrite=True) as staging:
                    write(staging)
            assert str(error.value) == (f"{output_dir}: could not write the export "
                                        f"({disk.reason}); nothing written there; the existing "
                                        "one is unchanged"), name
        assert os.listdir(disk.path) == ["exported"]  # no staging folder left
        assert os.listdir(output_dir) == ["verification.txt"]
