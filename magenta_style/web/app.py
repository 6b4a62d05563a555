"""The Gradio page of magenta-stylize-web: tabs Stylize, Live webcam and Video, each also a
named API endpoint (/stylize, /webcam_frame, /stylize_video).

`serve` sets Gradio up offline (no analytics, no share tunnel; Gradio bundles its assets),
keeps every file it writes in one temporary folder of its own (removed on exit), queues
requests (defaults.WEB_CONCURRENCY at once, defaults.WEB_QUEUE_SIZE waiting, then a
"busy" message) and prints its URL when it is ready. The work is web/service.py's.
"""
import atexit
import collections
import functools
import ipaddress
import json
import os
import shutil
import sys
import time

from magenta_style import defaults, gallery
from magenta_style.errors import MagentaStyleError, UsageError
from magenta_style.inference import engines
from magenta_style.web import service as web_service

OWN_SIZE, SHORTER_SIDE = "The photo's own resolution (tiled when large)", "A chosen shorter side"
ENGINE_SLOT = "engine"  # every event that runs a network shares the queue's slots
BUSY_MESSAGE = (f"Busy: {defaults.WEB_QUEUE_SIZE} pictures are already waiting their turn. "
                "Nothing was lost: try again in a minute.")
# Gradio's page answers a full queue (HTTP 503 from /queue/join) with a text of its own; the
# page shows ours instead, as the message of an error answer. API clients still get the 503.
BUSY_SCRIPT = """<script>
(() => {
  const busy = %s;
  const fetched = window.fetch;
  window.fetch = async (...args) => {
    const response = await fetched(...args);
    const url = typeof args[0] === "string" ? args[0] : (args[0] && args[0].url) || "";
    if (response.status === 503 && url.includes("/queue/join")) {
      return new Response(JSON.stringify({detail: busy}),
                          {status: 429, headers: {"Content-Type": "application/json"}});
    }
    return response;
  };
})();
</script>"""


def _settle_environment(temp_root):
    """Gradio reads these on import: offline, and its files inside our folder."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["GRADIO_TEMP_DIR"] = os.path.join(temp_root, "gradio")
    os.environ.setdefault("GRADIO_SSR_MODE", "False")


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def model_choices(spec):
    """The page's models: `spec`, then the pretrained ones it offers always, and those it
    offers once cached (a choice never starts a download), weights/pretrained.MODELS' order."""
    from magenta_style.weights import pretrained

    offered = [model.name for model in pretrained.MODELS.values()
               if model.always_on_web_page or model.is_cached()]
    return list(dict.fromkeys([spec, *offered]))


def _copy_styles(styles, folder):
    """Gallery files copied into the app's folder: the page serves only its own files."""
    os.makedirs(folder, exist_ok=True)
    copies = []
    for index, style in enumerate(styles):
        target = os.path.join(folder, f"{index:03d}-{os.path.basename(style.path)}")
        shutil.copyfile(style.path, target)
        copies.append(gallery.Style(style.name, target, style.credit))
    return copies


def _checked(function):
    """Runs function; a MagentaStyleError becomes the page's readable message."""
    import gradio as gr

    @functools.wraps(function)  # Gradio reads the signature (API parameters, gr.Progress)
    def run(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except MagentaStyleError as error:
            raise gr.Error(str(error), title="Cannot do that") from None
    return run


def _path_inputs(*components):
    """Image inputs hand over the uploaded file untouched: the service reads it (and says what
    is wrong with it) instead of Gradio's own decoding."""
    for component in components:
        original = component.preprocess

        def preprocess(payload, original=original):
            if payload is not None and payload.path and not (payload.url or "").startswith("data:"):
                return payload.path
            return original(payload)
        component.preprocess = preprocess


def _stylize_tab(service, styles):
    """Photo, style (gallery or upload), strength, a second style and its mix, colours, size,
    model -> the stylized picture and its size and time (API /stylize)."""
    import gradio as gr

    credits = "\n".join(f"- **{s.name}**: {s.credit}" for s in styles if s.credit)

    def stylize(content, style, strength=1.0, mix=0.5, preserve_colors=False, size=OWN_SIZE,
                shorter_side=defaults.WEB_SHORTER_SIDE, model=None, second_style=None):
        """Stylizes a photo: (content image, style image, strength) -> the stylized image."""
        if not content or not style:
            raise UsageError("give a photo and a style (pick one in the gallery or upload one)")
        picture, seconds = service.stylize(
            content, style, float(strength), second_style, float(mix), bool(preserve_colors),
            0 if size == OWN_SIZE else int(shorter_side), model)
        height, width = picture.shape[:2]
        return service.picture_file(picture), f"{width}x{height} pixels in {seconds:.2f} s"

    with gr.Tab("Stylize", id="stylize"):
        with gr.Row():
            with gr.Column():
                content = gr.Image(label="Photo (upload, webcam or paste)", type="filepath",
                                   sources=["upload", "webcam", "clipboard"], height=300,
                                   elem_id="content-image")
                style = gr.Image(label="Style (pick below, or upload your own)",
                                 type="filepath", sources=["upload", "clipboard"],
                                 height=220, elem_id="style-image")
                style_gallery = gr.Gallery(
                    value=[(s.path, s.name) for s in styles], label="Gallery", columns=6,
                    height=150, allow_preview=False, elem_id="style-gallery")
                strength = gr.Slider(0.0, 1.0, value=1.0, step=0.05, elem_id="strength",
                                     label="Strength (0: the photo's own style, 1: full)")
                with gr.Accordion("Mix in a second style", open=False):
                    second_style = gr.Image(label="Second style", type="filepath",
                                            sources=["upload", "clipboard"],
                                            elem_id="second-style-image")
                    mix = gr.Slider(0.0, 1.0, value=0.5, step=0.05, elem_id="mix",
                                    label="Mix (0: first style only, 1: second only)")
                preserve = gr.Checkbox(label="Preserve the photo's colours",
                                       elem_id="preserve-colors")
                with gr.Row():
                    size = gr.Radio([OWN_SIZE, SHORTER_SIDE], value=OWN_SIZE,
                                    label="Output size", elem_id="output-size")
                    shorter_side = gr.Slider(64, 4096, value=defaults.WEB_SHORTER_SIDE,
                                             step=8, label="Shorter side (pixels)",
                                             elem_id="shorter-side")
                model = gr.Dropdown(service.model_specs, value=service.model_specs[0],
                                    label="Model", elem_id="model")
                button = gr.Button("Stylize", variant="primary", elem_id="stylize-button")
            with gr.Column():
                output = gr.Image(label="Stylized (download: lossless PNG, full size)",
                                  type="filepath", format="png", interactive=False,
                                  buttons=["download", "fullscreen"], height=560,
                                  elem_id="output-image")
                timing = gr.Markdown(elem_id="stylize-time")
        if credits:
            with gr.Accordion("Where the gallery's styles come from", open=False):
                gr.Markdown(credits)
        _path_inputs(content, style, second_style)
        timing_state = gr.State("")
        # The second style reaches the handler through a State: an optional input that API
        # clients may leave out (an Image input would be a required parameter).
        second_state = gr.State(None)
        second_style.change(lambda path: path, second_style, second_state,
                            api_visibility="private")

        def pick(event: gr.SelectData):
            return styles[event.index].path
        style_gallery.select(pick, None, style, api_visibility="private")
        inputs = [content, style, strength, mix, preserve, size, shorter_side, model,
                  second_state]
        button.click(_checked(stylize), inputs, [output, timing_state], api_name="stylize",
                     concurrency_id=ENGINE_SLOT, concurrency_limit=defaults.WEB_CONCURRENCY
                     ).then(lambda text: text, timing_state, timing, api_visibility="private")

        def restylize(*values):
            """Once there is a picture, letting go of strength or mix redoes it (only the
            transfer network runs: the embeddings are cached)."""
            *values, shown = values
            return stylize(*values) if shown else (gr.skip(), gr.skip())
        for slider in (strength, mix):
            slider.release(_checked(restylize), inputs + [timing_state],
                           [output, timing_state], api_visibility="private",
                           concurrency_id=ENGINE_SLOT,
                           concurrency_limit=defaults.WEB_CONCURRENCY).then(
                lambda text: text, timing_state, timing, api_visibility="private")


def _webcam_tab(service, styles):
    """The camera's frames stylized live with a gallery style, and the frame rate (API
    /webcam_frame)."""
    import gradio as gr

    by_name = {style.name: style.path for style in styles}
    names = list(by_name)

    def webcam_frame(frame, style_name, strength=1.0, rate=None):
        """One camera frame (numpy image), a gallery style name and strength -> stylized frame."""
        if frame is None:
            return None, "", rate
        picture = service.stylize_frame(frame, by_name.get(style_name, styles[0].path),
                                        float(strength))
        times = rate if isinstance(rate, collections.deque) else collections.deque(maxlen=10)
        times.append(time.perf_counter())
        fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
        return picture, f"{fps:.1f} frames/s", times

    with gr.Tab("Live webcam", id="webcam"):
        with gr.Row():
            width, height = defaults.WEB_WEBCAM_SIZE
            camera = gr.Image(label="Camera", sources=["webcam"], streaming=True,
                              type="numpy", elem_id="webcam-input",
                              webcam_options=gr.WebcamOptions(constraints={"video": {
                                  "width": {"ideal": width}, "height": {"ideal": height}}}))
            live = gr.Image(label="Stylized", interactive=False,
                            buttons=["download", "fullscreen"], elem_id="webcam-output")
        with gr.Row():
            live_style = gr.Dropdown(names, value=names[0], label="Style",
                                     elem_id="webcam-style")
            live_strength = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Strength",
                                      elem_id="webcam-strength")
            fps = gr.Textbox(label="Speed", interactive=False, elem_id="fps")
        rate = gr.State(None)
        camera.stream(_checked(webcam_frame), [camera, live_style, live_strength, rate],
                      [live, fps, rate], stream_every=0.1, api_name="webcam_frame",
                      concurrency_id=ENGINE_SLOT, concurrency_limit=defaults.WEB_CONCURRENCY,
                      show_progress="hidden")


def _video_tab(service, styles):
    """A clip stylized with a gallery style, flow-stabilized, with its sound (API
    /stylize_video)."""
    import gradio as gr

    by_name = {style.name: style.path for style in styles}
    names = list(by_name)

    def stylize_video(video, style_name, strength=1.0, preserve_colors=False,
                      progress=gr.Progress()):
        """Stylizes a clip (flow-stabilized, with its sound) -> the MP4."""
        def on_frame(done, total):
            progress((done, max(total, done)), desc="stylizing frames", unit="frames")
        return service.stylize_video(video, by_name.get(style_name, styles[0].path),
                                     float(strength), bool(preserve_colors), on_frame=on_frame)

    with gr.Tab("Video", id="video"):
        with gr.Row():
            with gr.Column():
                clip = gr.Video(label="Clip", sources=["upload"], elem_id="video-input")
                clip_style = gr.Dropdown(names, value=names[0], label="Style",
                                         elem_id="video-style")
                clip_strength = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Strength",
                                          elem_id="video-strength")
                clip_preserve = gr.Checkbox(label="Preserve the clip's colours",
                                            elem_id="video-preserve-colors")
                clip_button = gr.Button("Stylize video", variant="primary",
                                        elem_id="video-button")
            stylized_clip = gr.Video(label="Stylized (MP4 with the clip's sound)",
                                     interactive=False, buttons=["download"],
                                     elem_id="video-output")
        clip_button.click(_checked(stylize_video), [clip, clip_style, clip_strength,
                                                     clip_preserve], stylized_clip,
                          api_name="stylize_video", concurrency_id=ENGINE_SLOT,
                          concurrency_limit=defaults.WEB_CONCURRENCY)


def build(service, styles):
    """gr.Blocks of the page. `styles`: gallery.Style list (files the page may serve)."""
    import gradio as gr

    with gr.Blocks(title="magenta-stylize", delete_cache=(600, defaults.WEB_TEMP_FILE_AGE_S)) as page:
        gr.Markdown("## magenta-stylize: arbitrary style transfer (Ghiasi et al. 2017)")
        _stylize_tab(service, styles)
        _webcam_tab(service, styles)
        _video_tab(service, styles)
    page.queue(default_concurrency_limit=defaults.WEB_CONCURRENCY,
               max_size=defaults.WEB_QUEUE_SIZE)
    return page


def serve(model_spec, host=defaults.WEB_HOST, port=defaults.WEB_PORT, styles_dir=None,
          username=None, password=None, engine=defaults.STYLIZE_ENGINE,
          precision=defaults.STYLIZE_PRECISION, tile_size=defaults.STYLIZE_TILE_SIZE, load=None,
          stream=None):
    """Loads the model, starts the page and blocks until interrupted. Prints
    `magenta-stylize-web: serving http://HOST:PORT` once it accepts requests.

    engine, precision, tile_size: what runs every model the page offers and how
    (inference/engines.load_engine); load: model spec -> Engine, instead of that.
    """
    stream = stream or sys.stdout
    if load is None:
        load = functools.partial(engines.load_engine, engine=engine, precision=precision,
                                 tile_size=tile_size,
                                 log=lambda line: print(line, file=stream, flush=True))
    if not is_loopback(host) and not (username and password):
        raise UsageError(f"--host={host} is reachable from other machines: give --username and "
                         "--password")
    if bool(username) != bool(password):
        raise UsageError("give both --username and --password, or neither")
    styles = gallery.collect(styles_dir)
    temp_root = web_service.make_temp_root()
    atexit.register(web_service.remove_temp_root, temp_root)
    _settle_environment(temp_root)
    try:
        service = web_service.StylizeService(model_choices(model_spec),
                                             os.path.join(temp_root, "work"), load=load,
                                             tile_size=tile_size)
        start = time.perf_counter()
        loaded = service.engine()  # a bad --model is reported now, and the first picture is quick
        print(f"model {service.model_specs[0]} loaded in {time.perf_counter() - start:.1f} s "
              f"(engine {loaded.name})", file=stream, flush=True)
        page = build(service, _copy_styles(styles, os.path.join(temp_root, "styles")))
        page.launch(server_name=host, server_port=port, share=False, quiet=True,
                    prevent_thread_lock=True, auth=(username, password) if username else None,
                    max_file_size=defaults.WEB_MAX_UPLOAD, footer_links=["api"],
                    head=BUSY_SCRIPT % json.dumps(BUSY_MESSAGE),
                    ssr_mode=False, mcp_server=False)
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        print(f"magenta-stylize-web: serving http://{shown}:{page.server_port}", file=stream,
              flush=True)
        page.block_thread()
    finally:
        web_service.remove_temp_root(temp_root)
