import os
import stat

import numpy as np
import pytest
from PIL import Image

from magenta_style import image_io


def test_save_image_is_atomic_readable_and_refuses_overwrite(tmp_path):
    path = str(tmp_path / "out.png")
    image_io.save_image(np.zeros((4, 5, 3), np.float32), path)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    assert mode == 0o666 & ~image_io.current_umask()
    with pytest.raises(FileExistsError, match="already exists"):
        image_io.save_image(np.ones((4, 5, 3), np.float32), path)
    assert sorted(os.listdir(tmp_path)) == ["out.png"]  # no temporaries left
    np.testing.assert_array_equal(image_io.load_image(path), np.zeros((4, 5, 3)))


def test_png_is_lossless_and_still_compressed(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    path = image_io.save_image(pixels, str(tmp_path / "noise.png"))
    with Image.open(path) as image:
        np.testing.assert_array_equal(np.asarray(image), pixels)
    smooth = np.broadcast_to(np.arange(64, dtype=np.uint8)[None, :, None], (64, 64, 3))
    fast = os.path.getsize(image_io.save_image(smooth, str(tmp_path / "smooth.png")))
    assert fast < smooth.nbytes / 10  # compressed all the same


def test_unreadable_inputs_are_one_line_errors(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(image_io.ImageError, match="notes.txt: not an image file"):
        image_io.load_image(str(tmp_path / "notes.txt"))
    with pytest.raises(image_io.ImageError, match="missing.png: file not found"):
        image_io.load_image(str(tmp_path / "missing.png"))


def test_full_disk_is_one_line_naming_the_output_and_keeps_earlier_ones(tmp_path):
    """Real ENOSPC on a tmpfs as root (else the file size limit, EFBIG): one line naming the
    output, no temporary left, earlier pictures (and the one being replaced) intact."""
    from magenta_style.errors import OutputWriteError
    from tests.helpers.full_disk import small_disk

    small = np.zeros((8, 8, 3), np.uint8)
    noise = np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8)  # ~270 KB
    with small_disk(tmp_path / "disk") as disk:
        earlier = image_io.save_image(small, os.path.join(disk.path, "earlier.png"))
        disk.fill(leave=64 << 10)
        big = os.path.join(disk.path, "big.png")
        with pytest.raises(OutputWriteError) as error:
            image_io.save_image(noise, big)
        assert str(error.value) == f"{big}: could not write ({disk.reason}); nothing was written"
        with pytest.raises(OutputWriteError) as error:
            image_io.save_image(noise, earlier, overwrite=True)
        assert str(error.value).endswith("nothing was written; the existing file is unchanged")
        assert os.listdir(disk.path) == ["earlier.png"]
        np.testing.assert_array_equal(image_io.load_image(earlier), small / 255.0)
