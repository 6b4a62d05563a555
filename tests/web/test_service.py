"""web/service.py in this process: the caches that make the sliders cheap, and the page's
start-up checks (log-in off loopback)."""
import os

import numpy as np
import pytest
from PIL import Image

from magenta_style import gallery
from magenta_style.errors import MagentaStyleError, UsageError
from magenta_style.web import app
from magenta_style.web.service import StylizeService
from tests.helpers.images import photo


@pytest.fixture(scope="module")
def service(engine, tmp_path_factory):
    return StylizeService(["pretrained:mobile"], str(tmp_path_factory.mktemp("work")),
                          load=lambda spec: engine)


def test_strength_and_mix_rerun_only_the_transfer_network(service, tmp_path):
    content = tmp_path / "cat.png"
    Image.fromarray(photo(80, 64)).save(content)
    first, second = gallery.path_of("gravel"), gallery.path_of("coffee")
    copy = tmp_path / "same gravel, other name.jpg"
    copy.write_bytes(open(first, "rb").read())
    pictures = [service.stylize(str(content), first, strength)[0] for strength in (1.0, 0.5, 0.2)]
    pictures.append(service.stylize(str(content), str(copy), 0.5)[0])  # same file content
    for mix in (0.3, 0.7):
        pictures.append(service.stylize(str(content), first, 0.5, second, mix)[0])
    assert dict(service.counts) == {"style": 2, "identity": 1, "transfer": 6}
    assert np.array_equal(pictures[1], pictures[3])
    for a, b in [(0, 1), (1, 2), (4, 5), (1, 4)]:
        assert not np.array_equal(pictures[a], pictures[b])
    assert pictures[0].shape == (64, 80, 3) and pictures[0].dtype == np.uint8


def test_chosen_shorter_side_and_a_too_small_photo(service, tmp_path):
    content = tmp_path / "cat.png"
    Image.fromarray(photo(120, 90)).save(content)
    picture, _ = service.stylize(str(content), gallery.path_of("brick"), shorter_side=60)
    assert picture.shape == (60, 80, 3)
    Image.fromarray(photo(4, 3)).save(tmp_path / "tiny.png")
    with pytest.raises(MagentaStyleError, match=r"photo tiny.png: image too small \(4x3 pixels\)"):
        service.stylize(str(tmp_path / "tiny.png"), gallery.path_of("brick"))


def test_other_hosts_need_a_login(tmp_path):
    for host in ("0.0.0.0", "192.168.1.2", "::"):
        with pytest.raises(UsageError, match="give --username and --password"):
            app.serve("pretrained:mobile", host=host, load=None)
    with pytest.raises(UsageError, match="both --username and --password"):
        app.serve("pretrained:mobile", username="me", load=None)
    assert app.is_loopback("127.0.0.1") and app.is_loopback("::1") and app.is_loopback("localhost")


def test_the_engine_choice_reaches_load_engine(monkeypatch):
    for name in ("GRADIO_ANALYTICS_ENABLED", "GRADIO_TEMP_DIR", "GRADIO_SSR_MODE"):
        monkeypatch.setenv(name, "")  # serve sets them; restored after the test
    with pytest.raises(UsageError, match="engine must be one of auto, tf, litert, got 'onnx'"):
        app.serve("pretrained:mobile", engine="onnx")


def test_mix_strength_and_colours_are_magenta_stylizes(service, engine, tmp_path):
    from magenta_style.inference.image_files import stylize_images

    content = tmp_path / "cat.png"
    Image.fromarray(photo(72, 56)).save(content)
    first, second = gallery.path_of("stain"), gallery.path_of("deep-field")
    got, _ = service.stylize(str(content), first, 0.6, second, 0.25, preserve_colors=True)
    written, failures = stylize_images(
        engine, [str(content)], [first, second], str(tmp_path / "ref"),
        interpolation_weights=[0.6], style_blend_weights=[0.75, 0.25], preserve_colors=True,
        stream=open(os.devnull, "w"))
    assert failures == 0
    with Image.open(written[0]) as image:
        assert np.array_equal(got, np.asarray(image))


def test_video_reports_progress_per_frame_and_writes_only_in_its_folder(service, tmp_path):
    from tests.helpers.video_clips import Pan, astronaut, read_clip, write_clip

    source = write_clip(tmp_path / "clip.mp4", Pan((48, 64), 6, step=2).render(astronaut()), rate=6)
    seen = []
    output = service.stylize_video(str(source), gallery.path_of("brick"), 0.5,
                                   on_frame=lambda done, total: seen.append((done, total)))
    assert os.path.dirname(output) == service.work_dir
    assert [done for done, _ in seen] == [1, 2, 3, 4, 5, 6] and seen[-1][1] == 6
    clip = read_clip(output)
    assert clip.frames.shape == (6, 48, 64, 3) and clip.audio_codec == "aac"
    with pytest.raises(MagentaStyleError, match="notes.mp4"):
        (tmp_path / "notes.mp4").write_text("not a video")
        service.stylize_video(str(tmp_path / "notes.mp4"), gallery.path_of("brick"))
