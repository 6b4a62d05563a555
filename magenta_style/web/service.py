"""What the web page does, without the page: files in, stylized pictures and videos out.

`StylizeService` reads uploads as magenta-stylize reads its files (image_io.load_prepared,
bounded in pixels), runs them through an inference/engines.py engine (the same code as
magenta-stylize, so a picture from the page equals the command's) and caches per model
the style embeddings (by file content) and the photo's own style (identity interpolation):
moving the strength or mix reruns only the transfer network. Errors a user can cause raise
MagentaStyleError subclasses with one readable line.
"""
import collections
import hashlib
import os
import shutil
import tempfile
import threading
import time
import uuid

import numpy as np

from magenta_style import defaults, image_io
from magenta_style.errors import UsageError
from magenta_style.inference import engines, pictures


class _Cache:
    """A small thread-safe LRU mapping."""

    def __init__(self, entries):
        self.entries, self.items, self.lock = entries, collections.OrderedDict(), threading.Lock()

    def get(self, key, compute):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = compute()
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.entries:
                self.items.popitem(last=False)
        return value


def _read(path, what):
    if not path:
        raise UsageError(f"no {what} given")
    try:
        with open(path, "rb") as stream:
            return stream.read()
    except OSError as error:
        raise UsageError(f"{what}: cannot read the upload ({error.strerror or error})") from None


class StylizeService:
    """Stylizes uploaded files with one or more models, loaded on first use.

    Args:
      model_specs: model specs the page offers (magenta-stylize --model); the first is the
        default.
      work_dir: the only folder this writes to (videos); created if missing.
      load: model spec -> an Engine (inference.engines.load_engine, engine 'auto').
      max_pixels: uploads that would decode to more pixels are refused.
      cache_entries: style embeddings and photo identities kept per cache.
      tile_size: photos of more than 4 tile_size^2 pixels are stylized in tiles.
    """

    def __init__(self, model_specs, work_dir, load=engines.load_engine, max_pixels=defaults.WEB_MAX_PIXELS,
                 cache_entries=defaults.WEB_CACHE_ENTRIES, tile_size=defaults.STYLIZE_TILE_SIZE):
        self.model_specs = list(dict.fromkeys(model_specs))
        self.work_dir = work_dir
        os.makedirs(work_dir, exist_ok=True)
        self.load, self.max_pixels, self.tile_size = load, max_pixels, tile_size
        self._engines, self._engine_lock = {}, threading.Lock()
        self._styles = _Cache(cache_entries)
        self._identities = _Cache(cache_entries)
        self._contents = _Cache(2)  # decoded photos (12 MP: 144 MB each)
        self.counts = collections.Counter()  # networks run: "style", "identity", "transfer"

    def engine(self, spec=None):
        spec = spec or self.model_specs[0]
        if spec not in self.model_specs:
            raise UsageError(f"unknown model {spec!r} (this page offers {', '.join(self.model_specs)})")
        with self._engine_lock:
            if spec not in self._engines:
                self._engines[spec] = self.load(spec)
            return self._engines[spec]

    def _image(self, data, what, name, size):
        array = image_io.load_prepared(data, size, False, name=f"{what} {name}",
                                       max_pixels=self.max_pixels)
        if min(array.shape[:2]) < defaults.MIN_CONTENT_SIZE:
            raise image_io.ImageError(f"{what} {name}", f"image too small ({array.shape[1]}x"
                                      f"{array.shape[0]} pixels)")
        return array

    def style_bottleneck(self, path, spec=None, what="style"):
        """A style file's embedding [1, 100], computed once per model and file content."""
        data = _read(path, what)
        spec = spec or self.model_specs[0]
        size = defaults.STYLE_IMAGE_SIZE

        def compute():
            style = self._image(data, what, os.path.basename(path), size)
            self.counts["style"] += 1
            return self.engine(spec).style_bottleneck(style)
        return self._styles.get((spec, hashlib.sha256(data).hexdigest(), size), compute)

    def _content(self, path, shorter_side):
        data = _read(path, "photo")
        digest = hashlib.sha256(data).hexdigest()
        content = self._contents.get((digest, shorter_side), lambda: self._image(
            data, "photo", os.path.basename(path), shorter_side))
        return content, digest

    def stylize(self, content_path, style_path, strength=1.0, second_style_path=None, mix=0.5,
                preserve_colors=False, shorter_side=0, model=None):
        """Returns (uint8 [H, W, 3], seconds): magenta-stylize's picture for
        --interpolation_weights=[strength] --image_size=shorter_side, with
        --style_blend_weights=[1 - mix, mix] when there is a second style."""
        start = time.perf_counter()
        spec = model or self.model_specs[0]
        if not 0.0 <= strength <= 1.0 or not 0.0 <= mix <= 1.0:
            raise UsageError("strength and mix must be between 0 and 1")
        content, digest = self._content(content_path, int(shorter_side or 0))
        styles = [self.style_bottleneck(style_path, spec)]
        if second_style_path:
            styles.append(self.style_bottleneck(second_style_path, spec, what="second style"))
        style = pictures.style_of(styles, [1.0 - mix, mix] if second_style_path else None)
        engine = self.engine(spec)

        def identity():
            def compute():
                self.counts["identity"] += 1
                return engine.identity_bottleneck(content)
            return self._identities.get((spec, digest, content.shape), compute)

        self.counts["transfer"] += 1
        stylized = pictures.stylize_picture(
            engine, content, style, strength=float(strength), preserve_colors=preserve_colors,
            identity=identity, tile_size=self.tile_size, stream=_Quiet())
        return image_io.to_uint8(stylized), time.perf_counter() - start

    def picture_file(self, picture):
        """A stylized uint8 picture as a lossless PNG in work_dir (image_io's zlib level, not
        Gradio's own encoding at level 6: ~3x faster for a large picture); older files of
        this service are swept first."""
        self.sweep()
        return image_io.save_image(picture, os.path.join(
            self.work_dir, f"stylized-{uuid.uuid4().hex[:12]}.png"))

    def stylize_frame(self, frame, style_path, strength=1.0, model=None,
                      shorter_side=defaults.WEB_WEBCAM_SIDE):
        """One webcam frame (uint8 [H, W, 3]) -> uint8 stylized, shorter side at most
        `shorter_side`. The frame's own style (strength < 1) is computed per frame."""
        from PIL import Image

        spec = model or self.model_specs[0]
        image = Image.fromarray(np.asarray(frame, np.uint8)).convert("RGB")  # grey, RGBA: RGB
        content = np.asarray(image, np.float32) / np.float32(255.0)
        engine = self.engine(spec)
        stylized = pictures.stylize_picture(
            engine, content, self.style_bottleneck(style_path, spec), strength=float(strength),
            shorter_side=min(shorter_side, *content.shape[:2]), tile_size=self.tile_size)
        return image_io.to_uint8(stylized)

    def stylize_video(self, video_path, style_path, strength=1.0, preserve_colors=False,
                      model=None, on_frame=None):
        """A video file -> the path of its stylized MP4 (with its sound) in work_dir,
        through inference/video.py (flow stabilization, rotation applied)."""
        from magenta_style.inference import video_io
        from magenta_style.inference.video import stylize_video_file

        if not video_path:
            raise UsageError("no video given")
        spec = model or self.model_specs[0]
        video_io.probe(video_path)  # bad input is reported before any work
        bottleneck = self.style_bottleneck(style_path, spec)
        self.sweep()
        output = os.path.join(self.work_dir, f"stylized-{uuid.uuid4().hex[:12]}.mp4")
        stylize_video_file(self.engine(spec), video_path, output, bottleneck,
                           stream=_Quiet(), on_frame=on_frame, interpolation_weight=float(strength),
                           preserve_colors=preserve_colors)
        return output

    def sweep(self, age_s=defaults.WEB_TEMP_FILE_AGE_S):
        """Deletes this service's files older than `age_s` seconds."""
        now = time.time()
        for entry in os.scandir(self.work_dir):
            try:
                if now - entry.stat().st_mtime > age_s:
                    os.remove(entry.path)
            except OSError:
                pass


class _Quiet:
    """A stream that drops progress lines (the page shows its own)."""

    def write(self, text):
        return len(text)

    def flush(self):
        pass


def make_temp_root():
    """The app's own temporary folder (Gradio's uploads and cache go inside it too)."""
    return tempfile.mkdtemp(prefix="magenta-stylize-web-")


def remove_temp_root(path):
    shutil.rmtree(path, ignore_errors=True)
