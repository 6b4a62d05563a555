"""Real sample pictures for the demo, from the installed scikit-image package (`skimage/data`).

Photos as content; an immunohistochemistry stain, the Hubble deep field and a
gravel texture as styles. Nothing is downloaded: these files ship in the wheel.
"""
import importlib.resources

CONTENTS = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg")
STYLES = ("ihc.png", "hubble_deep_field.jpg", "gravel.png")


def sample_path(name):
    """Path of a sample image inside the installed scikit-image package."""
    try:
        path = importlib.resources.files("skimage.data") / name
    except ModuleNotFoundError:
        raise FileNotFoundError("the demo needs scikit-image's sample photos: "
                                "pip install scikit-image (or pip install -e '.[demo]')") from None
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not shipped with this scikit-image version")
    return str(path)
