"""The gallery shared by magenta-stylize and the web page."""
import pytest
from PIL import Image

from magenta_style import gallery
from magenta_style.cli.common_flags import expand_paths
from magenta_style.errors import UsageError


def test_shipped_styles_are_images_with_credits():
    styles = gallery.shipped()
    assert len(styles) >= 5
    for style in styles:
        with Image.open(style.path) as image:
            assert image.mode == "RGB" and min(image.size) == 384
        assert "CC0" in style.credit or "public domain" in style.credit or \
            "no known copyright" in style.credit


def test_magenta_stylize_resolves_gallery_names(tmp_path):
    (tmp_path / "mine.png").write_bytes(b"")
    paths = expand_paths(f"gallery:gravel,{tmp_path}/mine.png,gallery:gravel", "style_images_paths")
    assert paths == [gallery.path_of("gravel"), f"{tmp_path}/mine.png"]
    with pytest.raises(UsageError, match="gallery:starry: no such gallery style .*gravel"):
        expand_paths("gallery:starry", "style_images_paths")


def test_styles_dir_images_join_under_their_file_names(tmp_path):
    for name in ("Water Lilies.jpg", "gravel.png", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub.png").mkdir()
    names = [s.name for s in gallery.collect(str(tmp_path))]
    assert names == list(gallery.CREDITS) + ["Water Lilies", "gravel.png"]
    with pytest.raises(UsageError, match="no such folder"):
        gallery.collect(str(tmp_path / "missing"))
