"""The web page (magenta-stylize-web) against the library, in Debian's Chromium, in one run.

  python benchmarks/web.py                      # all parts at the sizes BENCHMARKS.md quotes
  python benchmarks/web.py --parts=click --rounds=3 --megapixels=0.1   # a quick check
  python benchmarks/web.py --parts=screenshots --screenshots_dir=docs  # README's pictures

click: click-to-image time in the page (Stylize clicked -> the stylized picture shown) for a
  photo of --megapixels (scikit-image's astronaut, resized), against the time magenta-stylize's
  library (inference/image_files.stylize_images: read, style, stylize, write the PNG) takes for the
  same photo and style in this process, rounds interleaved (a fresh copy of the photo each
  round, uploaded before the clock starts, so neither side reuses the other's result). Prints
  min and median of each and the page's overhead.
webcam: live webcam frames/s at Chromium's fake camera (640x480) with the mobile model, as the
  page shows it (server side) and as stylized frames arriving in the page (client side).
concurrent: --clients API clients (gradio_client, /stylize) at once on the --megapixels photo:
  all must be served; the server's peak RSS (VmHWM) and wall time.
screenshots: one PNG per tab into --screenshots_dir (kept small: 256-colour PNG).
The server runs pretrained:mobile (tests/helpers/live_server.py), the load average is printed
before and after.
"""
import concurrent.futures
import logging
import os
import sys
import tempfile
import time

import numpy as np
from absl import app, flags
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.timing import best_median, conditions, min_median  # noqa: E402
from magenta_style import defaults, gallery  # noqa: E402  (after the path fix above)
from tests.helpers.live_server import chromium, live_server  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_list("parts", ["click", "webcam", "concurrent"],
                  "Any of click, webcam, concurrent, screenshots.")
flags.DEFINE_integer("rounds", 10, "Timed rounds of the click part (after one warm-up).")
flags.DEFINE_float("megapixels", 1.0, "Size of the photo of the click and concurrent parts.")
flags.DEFINE_float("webcam_seconds", 20.0, "How long the webcam part streams (after 5 s).")
flags.DEFINE_integer("clients", 8, "Concurrent API clients.")
flags.DEFINE_string("screenshots_dir", None, "Where the screenshots part writes its PNGs.")
flags.DEFINE_string("style", "stain", "Gallery style used throughout.")

STYLE_TIMEOUT_MS = 600_000


def _photo(path, megapixels, seed=0):
    from skimage import data

    image = Image.fromarray(data.astronaut())
    side = int(round((megapixels * 1e6) ** 0.5))
    picture = np.asarray(image.resize((side, side), Image.LANCZOS), np.int16)
    picture[0, 0] = (picture[0, 0] + seed) % 256  # a new file (and content hash) per round
    Image.fromarray(picture.astype(np.uint8)).save(path)
    return path


def _open(browser, url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url)
    page.wait_for_selector("#stylize-button", timeout=60_000)
    return page


def _pick_style(page, name):
    page.locator("#style-gallery .thumbnail-item").filter(has_text=name).click()
    page.wait_for_selector("#style-image img")


def _click_to_image(page, photo):
    """Seconds from the Stylize click to the new picture shown (upload excluded)."""
    page.locator("#content-image input[type=file]").set_input_files(str(photo))
    page.wait_for_selector("#content-image img")
    before = page.evaluate("() => (document.querySelector('#output-image img') || {}).src || ''")
    start = time.perf_counter()
    page.locator("#stylize-button").click()
    page.wait_for_function(
        "old => { const i = document.querySelector('#output-image img');"
        " return i && i.src !== old && i.complete && i.naturalWidth > 0; }", arg=before,
        timeout=STYLE_TIMEOUT_MS)
    return time.perf_counter() - start


def click_part(browser, url, work):
    from magenta_style.inference.engines import load_engine
    from magenta_style.inference.image_files import stylize_images

    engine = load_engine(defaults.PRETRAINED_MOBILE)
    style = gallery.path_of(FLAGS.style)
    page = _open(browser, url)
    _pick_style(page, FLAGS.style)

    def library(photo, index):
        out = os.path.join(work, f"cli{index}")
        start = time.perf_counter()
        stylize_images(engine, [str(photo)], [style], out, stream=open(os.devnull, "w"))
        return time.perf_counter() - start

    page_times, library_times = [], []
    for index in range(FLAGS.rounds + 1):  # round 0 warms both up
        photo = _photo(os.path.join(work, f"photo{index}.png"), FLAGS.megapixels, seed=index)
        page_s, library_s = _click_to_image(page, photo), library(photo, index)
        if index:
            page_times.append(page_s)
            library_times.append(library_s)
    side = Image.open(photo).size
    (page_min, page_median), (lib_min, lib_median) = min_median(page_times), min_median(library_times)
    print(f"click-to-image {side[0]}x{side[1]} ({FLAGS.rounds} rounds): page min {page_min:.3f} s "
          f"median {page_median:.3f} s; library (magenta-stylize's) min {lib_min:.3f} s median "
          f"{lib_median:.3f} s; page overhead {100 * (page_median / lib_median - 1):+.0f} % "
          f"(median), {100 * (page_min / lib_min - 1):+.0f} % (min)", flush=True)
    page.close()


def _start_webcam(page):
    page.get_by_role("tab", name="Live webcam").click()
    page.locator("#webcam-input").get_by_text("Click to Access Webcam").click()
    page.locator("#webcam-input").get_by_role("button", name="capture photo").click()
    page.wait_for_selector("#webcam-output img", timeout=120_000)


def webcam_part(browser, url):
    page = _open(browser, url)
    _start_webcam(page)
    time.sleep(5)  # tracing and the first frames
    page.evaluate("""() => { window.frames_seen = 0;
        new MutationObserver(() => window.frames_seen++).observe(
            document.querySelector('#webcam-output'),
            {subtree: true, attributes: true, attributeFilter: ['src']}); }""")
    start = time.perf_counter()
    rates = []
    while time.perf_counter() - start < FLAGS.webcam_seconds:
        time.sleep(1.0)
        text = page.locator("#fps textarea, #fps input").first.input_value()
        rates.append(float(text.split()[0]) if text else 0.0)
    seen = page.evaluate("() => window.frames_seen") / (time.perf_counter() - start)
    size = page.evaluate("() => { const v = document.querySelector('#webcam-input video');"
                         " return v ? v.videoWidth + 'x' + v.videoHeight : '?'; }")
    best, median = best_median(rates)
    print(f"webcam {size} (Chromium's fake camera), {FLAGS.webcam_seconds:.0f} s: page shows "
          f"best {best:.1f} median {median:.1f} frames/s; {seen:.1f} stylized frames/s arrived",
          flush=True)
    page.close()


def _peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def concurrent_part(url, process, work):
    from gradio_client import Client, handle_file

    photo = _photo(os.path.join(work, "concurrent.png"), FLAGS.megapixels, seed=99)
    style = gallery.path_of(FLAGS.style)
    before = _peak_rss_mb(process.pid)

    def call(index):
        folder = os.path.join(work, f"client{index}")
        os.makedirs(folder, exist_ok=True)
        start = time.perf_counter()
        try:
            Client(url, verbose=False, download_files=folder).predict(
                handle_file(photo), handle_file(style), 1.0 - index / 100, api_name="/stylize")
            return "served", time.perf_counter() - start
        except Exception as error:  # pylint: disable=broad-except  (counted and shown)
            return f"refused: {str(error)[:80]}", time.perf_counter() - start

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(FLAGS.clients) as pool:
        results = list(pool.map(call, range(FLAGS.clients)))
    wall = time.perf_counter() - start
    served = sum(result == "served" for result, _ in results)
    latencies = sorted(seconds for _, seconds in results)
    print(f"{FLAGS.clients} concurrent API clients, {FLAGS.megapixels:g} MP each: {served} served "
          f"in {wall:.1f} s (latency min {latencies[0]:.1f} s, max {latencies[-1]:.1f} s); "
          f"server peak RSS {_peak_rss_mb(process.pid):.0f} MB (before: {before:.0f} MB)",
          flush=True)
    for result, _ in results:
        if result != "served":
            print(f"  {result}")


def _save_small(page, path, full_page=False):
    page.screenshot(path=path, full_page=full_page)
    Image.open(path).convert("RGB").quantize(128).save(path, optimize=True)  # < 300 kB
    print(f"wrote {path} ({os.path.getsize(path) // 1024} kB)", flush=True)


def screenshots_part(browser, url, work):
    from tests.helpers.video_clips import Pan, astronaut, write_clip

    folder = FLAGS.screenshots_dir
    os.makedirs(folder, exist_ok=True)
    page = _open(browser, url)
    _pick_style(page, FLAGS.style)
    _click_to_image(page, _photo(os.path.join(work, "shot.png"), 0.25))
    _save_small(page, os.path.join(folder, "web_stylize.png"), full_page=True)
    _start_webcam(page)
    time.sleep(4)
    _save_small(page, os.path.join(folder, "web_webcam.png"))
    page.close()
    page = _open(browser, url)
    page.get_by_role("tab", name="Video").click()
    clip = write_clip(os.path.join(work, "clip.mp4"), Pan((240, 320), 24, step=2).render(astronaut()),
                      rate=24)
    page.locator("#video-input input[type=file]").set_input_files(clip)
    page.wait_for_selector("#video-input video", timeout=60_000)
    page.locator("#video-button").click()
    page.wait_for_selector("#video-output video[src]", timeout=STYLE_TIMEOUT_MS)
    time.sleep(1)
    _save_small(page, os.path.join(folder, "web_video.png"))
    page.close()


def main(argv):
    del argv
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per HTTP request otherwise
    unknown = set(FLAGS.parts) - {"click", "webcam", "concurrent", "screenshots"}
    if unknown:
        raise app.UsageError(f"unknown --parts: {', '.join(sorted(unknown))}")
    if "screenshots" in FLAGS.parts and not FLAGS.screenshots_dir:
        raise app.UsageError("--parts=screenshots needs --screenshots_dir")
    print(conditions(), flush=True)
    with tempfile.TemporaryDirectory(prefix="web-benchmark-") as work:
        with live_server(os.path.join(work, "server.log")) as (url, process):
            print(f"server {url} (pretrained:mobile)", flush=True)
            with chromium() as browser:
                if "click" in FLAGS.parts:
                    click_part(browser, url, work)
                if "webcam" in FLAGS.parts:
                    webcam_part(browser, url)
                if "screenshots" in FLAGS.parts:
                    screenshots_part(browser, url, work)
            if "concurrent" in FLAGS.parts:
                concurrent_part(url, process, work)
    print(conditions(), flush=True)


if __name__ == "__main__":
    app.run(main)
