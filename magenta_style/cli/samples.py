"""Real sample pictures that ship with installed packages (scikit-image's `skimage/data`,
matplotlib's `mpl-data/sample_data`): nothing is downloaded.

Photos as content; for the demo an immunohistochemistry stain, the Hubble deep field and a
gravel texture as styles. `STYLE_PICTURES` (every non-photo picture of both packages that
is large enough) and `write_sample_folders` make the offline style and content sets that
BENCHMARKS.md's VGG-19 numbers and README's training demonstrations use.
"""
import importlib.resources
import os

import numpy as np
from PIL import Image

from magenta_style import image_io

CONTENTS = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg")
STYLES = ("ihc.png", "hubble_deep_field.jpg", "gravel.png")
# Styles offline: textures, stains, scans, graphics (grey ones become grey RGB).
STYLE_PICTURES = (
    "ihc.png", "hubble_deep_field.jpg", "retina.jpg", "gravel.png", "grass.png", "brick.png",
    "coins.png", "moon.png", "text.png", "cell.png", "color.png", "chessboard_RGB.png",
    "logo.png", "phantom.png", "horse.png", "matplotlib:Minduka_Present_Blue_Pack.png",
)
# The four on which the released mobile model's VGG-19 style loss is highest relative to
# the identity's (BENCHMARKS.md): README's fine-tuning demonstration trains on them.
FINE_TUNING_STYLES = ("chessboard_RGB.png", "color.png", "logo.png",
                      "matplotlib:Minduka_Present_Blue_Pack.png")
# Training content: random crops of these photos (coffee stays out: the held-out photo).
TRAINING_PHOTOS = ("astronaut.png", "chelsea.png", "rocket.jpg", "motorcycle_left.png")
PACKAGES = {"skimage": ("skimage.data", ""), "matplotlib": ("matplotlib", "mpl-data/sample_data")}


def sample_path(name):
    """Path of a sample picture: 'ihc.png' (scikit-image) or 'matplotlib:<file>'."""
    package, _, filename = name.rpartition(":")
    module, folder = PACKAGES[package or "skimage"]
    try:
        path = importlib.resources.files(module).joinpath(folder, filename) if folder else \
            importlib.resources.files(module) / filename
    except ModuleNotFoundError:
        raise FileNotFoundError("the sample pictures need scikit-image: pip install "
                                "scikit-image (or pip install -e '.[demo]')") from None
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not shipped with the installed {module}")
    return str(path)


def load_rgb(name):
    """A sample picture as uint8 [H, W, 3] (grey expanded, transparency onto white)."""
    with Image.open(sample_path(name)) as image:
        if image.mode in ("RGBA", "LA", "P"):
            image = image.convert("RGBA")
            background = Image.new("RGBA", image.size, (255, 255, 255, 255))
            image = Image.alpha_composite(background, image)
        return np.asarray(image.convert("RGB"))


def random_crops(names, count, size, seed=0):
    """`count` uint8 [size, size, 3] crops of the pictures `names`, in turn: a random square
    of half to all of the shorter side, bilinear resize, random left-right flip."""
    rng = np.random.default_rng(seed)
    photos = [load_rgb(name) for name in names]
    crops = []
    for index in range(count):
        photo = photos[index % len(photos)]
        height, width = photo.shape[:2]
        side = int(rng.integers(min(height, width) // 2, min(height, width) + 1))
        top, left = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
        crop = Image.fromarray(photo[top:top + side, left:left + side]).resize(
            (size, size), Image.BILINEAR)
        crop = np.asarray(crop)
        crops.append(np.ascontiguousarray(crop[:, ::-1]) if rng.random() < 0.5 else crop)
    return crops


def write_sample_folders(output_dir, num_crops=96, crop_size=160, seed=0, overwrite=False):
    """Writes image folders the data pipelines read (folder sources):

      content_train/NNN.jpg   `num_crops` crops of TRAINING_PHOTOS
      content_eval/<photo>.png  the CONTENTS photos, whole
      styles/<picture>.png    every STYLE_PICTURES picture, whole, and the same split into
      styles_finetune/ (FINE_TUNING_STYLES) and styles_heldout/ (the others)
    Returns {folder name: path}.
    """
    folders = {name: os.path.join(output_dir, name) for name in (
        "content_train", "content_eval", "styles", "styles_finetune", "styles_heldout")}
    for index, crop in enumerate(random_crops(TRAINING_PHOTOS, num_crops, crop_size, seed)):
        image_io.save_image(crop, os.path.join(folders["content_train"], f"{index:03d}.jpg"),
                            overwrite=overwrite, quality=92)
    for name in CONTENTS:
        image_io.save_image(load_rgb(name), os.path.join(
            folders["content_eval"], os.path.splitext(name)[0] + ".png"), overwrite=overwrite)
    for name in STYLE_PICTURES:
        stem = os.path.splitext(name.rpartition(":")[2])[0]
        split = "styles_finetune" if name in FINE_TUNING_STYLES else "styles_heldout"
        for folder in ("styles", split):
            image_io.save_image(load_rgb(name), os.path.join(folders[folder], stem + ".png"),
                                overwrite=overwrite)
    return folders
