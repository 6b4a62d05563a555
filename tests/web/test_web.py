"""magenta-stylize-web in a real browser (Debian's Chromium) and through its API.

The page's pictures must be magenta-stylize's (same library, same inputs), downloaded from
the page as PNG; bad uploads get a readable message and the server keeps serving; nothing
outside the app's own files can be read through it; the page makes no outside request.
"""
import concurrent.futures
import io
import os
import re
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pytest
from PIL import Image

from magenta_style import gallery
from magenta_style.inference.image_files import stylize_images
from tests.helpers.images import photo, psnr


def reference(engine, content_path, style_paths, out_dir, strength, blend=None):
    """magenta-stylize's output for these inputs (stylize_images, what the command runs)."""
    written, failures = stylize_images(
        engine, [str(content_path)], [str(p) for p in style_paths], str(out_dir),
        interpolation_weights=[strength], style_blend_weights=blend, stream=io.StringIO())
    assert failures == 0
    with Image.open(written[0]) as image:
        return np.asarray(image)


def stylize_in_page(page, photo_path, style_name, strength, timeout_ms=60_000):
    """Upload, pick a gallery style, move the strength slider, click Stylize, download."""
    page.locator("#content-image input[type=file]").set_input_files(str(photo_path))
    page.wait_for_selector("#content-image img", timeout=timeout_ms)
    page.locator("#style-gallery .thumbnail-item").filter(has_text=style_name).click()
    page.wait_for_selector("#style-image img", timeout=timeout_ms)
    page.locator("#strength input[type=range]").fill(str(strength))
    page.locator("#stylize-button").click()
    page.wait_for_selector("#output-image img", timeout=timeout_ms)
    with page.expect_download(timeout=timeout_ms) as download:
        page.locator("#output-image a[download]").click()
    with Image.open(download.value.path()) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"))


def test_the_page_runs_the_default_engine_from_the_cached_files(server):
    log = server.log.read_text()
    assert "model pretrained:mobile loaded" in log and "(engine litert)" in log
    assert "building the LiteRT files" not in log  # the engine fixture built them


def test_page_stylizes_as_magenta_stylize_does_and_stays_offline(page, engine, tmp_path):
    photo_path = tmp_path / "cat.jpg"
    Image.fromarray(photo(240, 160)).save(photo_path, quality=92)
    downloaded = stylize_in_page(page, photo_path, "gravel", 0.7)
    expected = reference(engine, photo_path, [gallery.path_of("gravel")], tmp_path / "ref", 0.7)
    assert psnr(downloaded, expected) >= 50.0
    # Strength 0.7 is not the full style: the slider reached the server.
    full = reference(engine, photo_path, [gallery.path_of("gravel")], tmp_path / "full", 1.0)
    assert psnr(downloaded, full) < 40.0
    assert re.search(r"240x160 pixels in \d+\.\d\d s", page.locator("#stylize-time").inner_text())
    # Letting go of the slider redoes the picture (only the transfer network runs again).
    shown = page.locator("#output-image img").get_attribute("src")
    slider = page.locator("#strength input[type=range]")
    slider.fill("0.3")
    slider.dispatch_event("pointerup")
    page.wait_for_function(
        f"() => document.querySelector('#output-image img').src !== {shown!r}", timeout=60_000)
    with page.expect_download() as download:
        page.locator("#output-image a[download]").click()
    with Image.open(download.value.path()) as image:
        again = np.asarray(image.convert("RGB"))
    expected = reference(engine, photo_path, [gallery.path_of("gravel")], tmp_path / "ref3", 0.3)
    assert psnr(again, expected) >= 50.0
    outside = [url for url in page.requests if urllib.parse.urlsplit(url).hostname != "127.0.0.1"
               and not url.startswith(("data:", "blob:"))]
    assert page.requests and not outside, outside


@pytest.mark.slow
def test_12_megapixel_photo_at_full_resolution(page, engine, tmp_path):
    photo_path = tmp_path / "big.jpg"
    Image.fromarray(photo(4000, 3000)).save(photo_path, quality=90)
    downloaded = stylize_in_page(page, photo_path, "stain", 1.0, timeout_ms=240_000)
    assert downloaded.shape == (3000, 4000, 3)
    expected = reference(engine, photo_path, [gallery.path_of("stain")], tmp_path / "ref", 1.0)
    assert psnr(downloaded, expected) >= 50.0


def test_bad_upload_shows_its_message_and_the_page_keeps_working(page, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    page.locator("#content-image input[type=file]").set_input_files(str(text))
    page.locator("#style-gallery .thumbnail-item").filter(has_text="brick").click()
    page.wait_for_selector("#style-image img")
    page.locator("#stylize-button").click()
    page.get_by_text("notes.png: not an image file").wait_for(timeout=60_000)
    huge = tmp_path / "huge.png"
    with open(huge, "wb") as stream:
        stream.truncate(101 * 2 ** 20)  # over the page's 100 MB (sparse: costs no disk)
    page.locator("#content-image input[type=file]").set_input_files(str(huge))
    page.get_by_text("exceed the maximum allowed size of 100.0 Mb").first.wait_for(timeout=60_000)


def test_a_full_queue_is_said_in_the_pages_own_words(page, tmp_path):
    from magenta_style.web.app import BUSY_MESSAGE

    photo_path = tmp_path / "cat.png"
    Image.fromarray(photo(64, 48)).save(photo_path)
    page.locator("#content-image input[type=file]").set_input_files(str(photo_path))
    page.wait_for_selector("#content-image img")
    page.locator("#style-gallery .thumbnail-item").filter(has_text="brick").click()
    page.wait_for_selector("#style-image img")
    # From now on the server answers as when its queue is full (Gradio: HTTP 503 from
    # /queue/join; every event of the page goes through it).
    page.route("**/queue/join*", lambda route: route.fulfill(
        status=503, content_type="application/json", body='{"detail": "Queue is full."}'))
    page.locator("#stylize-button").click()
    page.get_by_text(BUSY_MESSAGE).first.wait_for(timeout=30_000)
    assert page.get_by_text("This application is currently busy").count() == 0


def _client(server, tmp_path):
    from gradio_client import Client

    return Client(server.url, verbose=False, download_files=str(tmp_path))


def test_api_stylize_call_as_in_the_readme(server, engine, tmp_path):
    from gradio_client import handle_file

    photo_path = tmp_path / "cat.png"
    Image.fromarray(photo(120, 96)).save(photo_path)
    style = gallery.path_of("retina")
    result = _client(server, tmp_path).predict(handle_file(str(photo_path)), handle_file(style),
                                               0.8, api_name="/stylize")
    with Image.open(result) as image:
        got = np.asarray(image.convert("RGB"))
    assert psnr(got, reference(engine, photo_path, [style], tmp_path / "ref", 0.8)) >= 50.0


def test_the_users_styles_join_the_gallery_under_their_file_names(page):
    captions = page.locator("#style-gallery .thumbnail-item").all_inner_texts()
    assert [c.strip() for c in captions] == list(gallery.CREDITS) + ["my painting"]


def _bomb(path):
    """A PNG of 10000 x 10000 pixels (100 MP, over the page's limit) in a few hundred kB."""
    Image.new("L", (10_000, 10_000)).save(path, optimize=True)


@pytest.mark.parametrize("kind, message", [
    ("truncated", "truncated or corrupt image data"),
    ("bomb", "image too large to decode (10000x10000 pixels)"),
    ("text", "not an image file"),
])
def test_bad_files_through_the_api_get_a_message(server, tmp_path, kind, message):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    bad = tmp_path / f"{kind}.png"
    if kind == "truncated":
        buffer = io.BytesIO()
        Image.fromarray(photo(120, 96)).save(buffer, format="PNG")
        bad.write_bytes(buffer.getvalue()[:4000])
    elif kind == "bomb":
        _bomb(bad)
    else:
        bad.write_text("hello")
    with pytest.raises(AppError, match=re.escape(message)):
        _client(server, tmp_path).predict(handle_file(str(bad)), handle_file(gallery.path_of("brick")),
                                          1.0, api_name="/stylize")


def _get(url, data=None, headers=None):
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_upload_over_the_size_limit_is_refused_and_the_server_keeps_serving(server):
    boundary = "magentaboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.png\""
            "\r\nContent-Type: image/png\r\n\r\n").encode() + b"\0" * (101 * 2 ** 20) + \
        f"\r\n--{boundary}--\r\n".encode()
    status, answer = _get(f"{server.url}/gradio_api/upload", data=body,
                          headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert status == 413, (status, answer[:200])
    assert _get(server.url)[0] == 200


@pytest.mark.parametrize("path", ["/etc/passwd", "{tmp}/secret.txt", "{cwd}/secret.txt",
                                  "../../../../etc/passwd", "%2Fetc%2Fpasswd"])
def test_no_file_outside_the_apps_own_can_be_read(server, path):
    for folder in ("tmp", "cwd"):
        (server.dirs[folder] / "secret.txt").write_text("magenta secret")
    try:
        path = path.format(tmp=server.dirs["tmp"], cwd=server.dirs["cwd"])
        for route in ("/gradio_api/file=", "/file=", "/gradio_api/file/"):
            status, answer = _get(server.url + route + path)
            assert b"root:" not in answer and b"magenta secret" not in answer, (route, status)
            assert status != 200, (route, status)
    finally:
        for folder in ("tmp", "cwd"):
            os.remove(server.dirs[folder] / "secret.txt")


def test_eight_clients_at_once_each_get_their_picture(server, engine, tmp_path):
    from gradio_client import handle_file

    photo_path = tmp_path / "cat.png"
    Image.fromarray(photo(96, 72)).save(photo_path)

    def call(index):
        folder = tmp_path / f"client{index}"
        folder.mkdir()
        return _client(server, folder).predict(
            handle_file(str(photo_path)), handle_file(gallery.path_of("coffee")), index / 8,
            api_name="/stylize")

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(call, range(8)))
    expected = [reference(engine, photo_path, [gallery.path_of("coffee")], tmp_path / f"ref{i}",
                          i / 8) for i in range(8)]
    for index, result in enumerate(results):  # each client got its own strength's picture
        with Image.open(result) as image:
            got = np.asarray(image.convert("RGB"))
        assert got.shape == (72, 96, 3)
        similarity = [psnr(got, picture) for picture in expected]
        assert similarity[index] >= 50.0 and int(np.argmax(similarity)) == index, similarity


def test_webcam_tab_streams_stylized_frames(page):
    page.get_by_role("tab", name="Live webcam").click()
    page.locator("#webcam-input").get_by_text("Click to Access Webcam").click()
    page.locator("#webcam-input").get_by_role("button", name="capture photo").click()
    page.wait_for_selector("#webcam-output img", timeout=60_000)
    fps = page.locator("#fps textarea, #fps input").first
    page.wait_for_function(
        "e => parseFloat(e.value) > 0", arg=fps.element_handle(), timeout=60_000)
    assert re.fullmatch(r"\d+\.\d frames/s", fps.input_value())
    page.locator("#webcam-style input").click()  # another style while it runs
    page.get_by_role("option", name="coffee").click()
    assert page.locator("#webcam-style input").input_value() == "coffee"
    for _ in range(2):  # frames keep coming
        last = page.locator("#webcam-output img").get_attribute("src")
        page.wait_for_function(
            f"() => document.querySelector('#webcam-output img').src !== {last!r}",
            timeout=30_000)


def test_video_tab_returns_a_playable_mp4_with_sound(page, server, tmp_path):
    from tests.helpers.video_clips import Pan, astronaut, read_clip, write_clip

    frames = Pan((64, 96), 12, step=2).render(astronaut())
    source = write_clip(tmp_path / "clip.mp4", frames, rate=12)
    page.get_by_role("tab", name="Video").click()
    page.locator("#video-input input[type=file]").set_input_files(str(source))
    page.wait_for_selector("#video-input video", timeout=60_000)
    page.evaluate("""() => { window.progress_seen = [];
        new MutationObserver(() => window.progress_seen.push(
            document.querySelector('#video-output').innerText)).observe(
            document.querySelector('#video-output'),
            {subtree: true, childList: true, characterData: true}); }""")
    page.locator("#video-button").click()
    video = page.wait_for_selector("#video-output video[src]", timeout=120_000)
    seen = " ".join(page.evaluate("() => window.progress_seen"))
    assert re.search(r"\d+/12 frames", seen), seen[:500]  # progress shown in the page
    status, data = _get(urllib.parse.urljoin(server.url, video.get_attribute("src")))
    assert status == 200
    (tmp_path / "out.mp4").write_bytes(data)
    clip = read_clip(tmp_path / "out.mp4")
    assert clip.video_codec == "h264" and clip.frames.shape == (12, 64, 96, 3)
    # Every frame stylized, not passed through: far from its source frame (H.264 itself moves
    # pixels by ~0.01 on average).
    source_frames = np.asarray(frames, np.float32)  # Pan.render: float in [0, 1]
    stylized = clip.frames.astype(np.float32) / 255.0
    assert np.abs(stylized - source_frames).mean(axis=(1, 2, 3)).min() > 0.08
    assert clip.audio_codec == "aac" and clip.audio_samples > 0
    # The page can play it: the browser reads its duration.
    duration = page.wait_for_function(
        "() => { const v = document.querySelector('#video-output video');"
        " return v && v.readyState >= 1 && v.duration; }", timeout=30_000).json_value()
    assert duration == pytest.approx(1.0, abs=0.2)


def test_an_api_call_cannot_name_a_file_on_the_server(server):
    """A client passes file paths only for files it uploaded: naming a picture that lies on
    the server (here a gallery original) is refused, not stylized and sent back."""
    import json

    named = {"path": gallery.path_of("gravel"), "meta": {"_type": "gradio.FileData"}}
    status, answer = _get(f"{server.url}/gradio_api/call/stylize",
                          data=json.dumps({"data": [named, named, 1.0]}).encode(),
                          headers={"Content-Type": "application/json"})
    assert status == 200, answer
    status, events = _get(f"{server.url}/gradio_api/call/stylize/{json.loads(answer)['event_id']}")
    assert b"event: error" in events and b"image.png" not in events, events
