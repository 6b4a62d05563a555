"""A full disk while writing a stylized video (a real tmpfs as root, else the file size limit):
one line naming the output, no temporary left, earlier outputs intact."""
import os

import numpy as np
import pytest

from magenta_style.errors import OutputWriteError
from magenta_style.inference import video_io
from tests.helpers import video_clips
from tests.helpers.full_disk import small_disk


def _identity(frames):
    yield from frames


def test_full_disk_while_writing_a_video_is_one_line_and_keeps_earlier_ones(tmp_path):
    rng = np.random.default_rng(0)
    small = video_clips.write_clip(tmp_path / "small.mp4", np.full((4, 32, 32, 3), 128, np.uint8),
                                   audio_codec=None)
    noise = video_clips.write_clip(tmp_path / "noise.mp4",  # ~1 MB: noise does not compress
                                   rng.integers(0, 256, (24, 128, 128, 3), dtype=np.uint8))
    with small_disk(tmp_path / "disk") as disk:
        earlier = os.path.join(disk.path, "earlier.mp4")
        video_io.transcode(small, earlier, _identity)
        disk.fill(leave=64 << 10)
        big = os.path.join(disk.path, "big.mp4")
        with pytest.raises(OutputWriteError) as error:
            video_io.transcode(noise, big, _identity)
        assert str(error.value) == f"{big}: could not write ({disk.reason}); nothing was written"
        with pytest.raises(OutputWriteError, match="; the existing file is unchanged$"):
            video_io.transcode(noise, earlier, _identity, overwrite=True)
        assert os.listdir(disk.path) == ["earlier.mp4"]
        assert video_clips.read_clip(earlier).frames.shape == (4, 32, 32, 3)


def test_full_disk_while_caching_the_litert_files_is_one_line(stylizer_model, tmp_path):
    """The engine's cache inherits image_io.atomic_path: the file that did not fit is named,
    the ones written before it are whole, and the set is not taken as cached."""
    from magenta_style.inference.litert_files import build_litert_files, cached_files, file_paths

    with small_disk(tmp_path / "disk") as disk:
        if disk.kind != "tmpfs":  # said, not silent: the limit would stop the conversion first
            pytest.skip("a file size limit also stops the conversion's temporary SavedModel; "
                        "this needs the tmpfs (root)")
        directory = os.path.join(disk.path, "litert")
        disk.fill(leave=64 << 10)  # the style predictor's file alone is megabytes
        with pytest.raises(OutputWriteError) as error:
            build_litert_files(stylizer_model, directory)
        failed = str(error.value).split(": ", 1)[0]
        assert failed in file_paths(directory)
        assert str(error.value) == f"{failed}: could not write ({disk.reason}); nothing was written"
        left = os.listdir(directory)
        assert os.path.basename(failed) not in left and not [n for n in left if n.startswith(".")]
        assert cached_files(directory) is None
