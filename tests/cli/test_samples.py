"""cli/samples.py: the offline style and content folders from installed packages' pictures."""
import os

import numpy as np
import pytest

from magenta_style.cli import samples
from tests.helpers.optional import require

require("skimage")


def test_sample_folders_hold_rgb_pictures_and_reproducible_crops(tmp_path):
    folders = samples.write_sample_folders(str(tmp_path), num_crops=5, crop_size=40, seed=3)
    assert sorted(os.listdir(folders["content_train"])) == [f"{i:03d}.jpg" for i in range(5)]
    assert sorted(os.listdir(folders["content_eval"])) == sorted(
        os.path.splitext(name)[0] + ".png" for name in samples.CONTENTS)
    assert len(os.listdir(folders["styles"])) == len(samples.STYLE_PICTURES)
    assert "Minduka_Present_Blue_Pack.png" in os.listdir(folders["styles"])  # from matplotlib
    assert sorted(os.listdir(folders["styles_finetune"]) + os.listdir(
        folders["styles_heldout"])) == sorted(os.listdir(folders["styles"]))
    assert len(os.listdir(folders["styles_finetune"])) == len(samples.FINE_TUNING_STYLES)
    crops = samples.random_crops(samples.TRAINING_PHOTOS, 5, 40, seed=3)
    assert all(crop.shape == (40, 40, 3) and crop.dtype == np.uint8 for crop in crops)
    np.testing.assert_array_equal(crops[4], samples.random_crops(samples.TRAINING_PHOTOS, 5, 40,
                                                                 seed=3)[4])
    with pytest.raises(FileExistsError):
        samples.write_sample_folders(str(tmp_path), num_crops=1, crop_size=40)


def test_grey_and_transparent_pictures_become_rgb():
    assert samples.load_rgb("gravel.png").shape == (512, 512, 3)
    horse = samples.load_rgb("horse.png")  # RGBA: transparency onto white
    assert horse.shape[2] == 3 and horse[0, 0].tolist() == [255, 255, 255]
