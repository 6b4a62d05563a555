"""The gallery of named styles shared by magenta-stylize (`--style_images_paths=gallery:NAME`)
and the web page (magenta-stylize-web, which adds every image of its --styles_dir).

The shipped styles are pictures from scikit-image's `skimage/data` whose licences allow it
(CC0 or public domain, see CREDITS), their shorter side reduced to 384 pixels and saved as
JPEG (quality 90) in `styles/` beside this file.
"""
import dataclasses
import os

from magenta_style.errors import UsageError
from magenta_style.image_io import IMAGE_EXTENSIONS

PREFIX = "gallery:"
FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "styles")
# name -> where it comes from and its licence (the file is styles/<name>.jpg).
CREDITS = {
    "stain": "scikit-image data.immunohistochemistry(): IHC stain of colonic glands, Center for "
             "Microscopy And Molecular Imaging; no known copyright restrictions",
    "deep-field": "scikit-image data.hubble_deep_field(): Hubble eXtreme Deep Field, NASA; public "
                  "domain",
    "retina": "scikit-image data.retina(): human retina, Häggström, Mikael (2014); CC0 1.0",
    "gravel": "scikit-image data.gravel(): Gravel04 texture, CC0Textures; CC0",
    "brick": "scikit-image data.brick(): Bricks25 texture, CC0Textures; CC0",
    "coffee": "scikit-image data.coffee(): coffee cup, Rachel Michetti; CC0",
}


@dataclasses.dataclass(frozen=True)
class Style:
    name: str
    path: str
    credit: str  # source and licence; "" for the user's own


def shipped():
    """The shipped styles, in CREDITS order."""
    return [Style(name, os.path.join(FOLDER, f"{name}.jpg"), credit)
            for name, credit in CREDITS.items()]


def path_of(name):
    """'gravel' -> the shipped file; an unknown name is a UsageError listing the names."""
    if name not in CREDITS:
        raise UsageError(f"{PREFIX}{name}: no such gallery style (there are "
                         f"{', '.join(CREDITS)})")
    return os.path.join(FOLDER, f"{name}.jpg")


def resolve(spec):
    """A path, or 'gallery:NAME' -> its file."""
    return path_of(spec[len(PREFIX):]) if spec.startswith(PREFIX) else spec


def collect(styles_dir=None):
    """The shipped styles, then every image of `styles_dir` named by its file name (without
    the extension; a name already taken gets the extension too), sorted by name."""
    styles = shipped()
    if not styles_dir:
        return styles
    if not os.path.isdir(styles_dir):
        raise UsageError(f"{styles_dir}: no such folder (--styles_dir)")
    taken = {style.name for style in styles}
    for filename in sorted(os.listdir(styles_dir)):
        path = os.path.join(styles_dir, filename)
        stem, extension = os.path.splitext(filename)
        if extension.lower() not in IMAGE_EXTENSIONS or not os.path.isfile(path):
            continue
        name = stem if stem not in taken else filename
        taken.add(name)
        styles.append(Style(name, os.path.abspath(path), ""))
    return styles
