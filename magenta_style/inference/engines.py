"""`load_engine(spec, engine)`: the one place where a model spec becomes something that
stylizes pictures, for magenta-stylize, the video CLI, the web page and the demo.

    engine = load_engine("pretrained:mobile")               # engine="auto": the fastest exact
    bottleneck = engine.style_bottleneck(style)             # float32 [H, W, 3] in [0, 1] -> [1, D]
    stylized = engine.stylize(content, bottleneck)          # [H, W, 3] -> [H, W, 3] in [0, 1]

The engines (`ENGINES`, name -> factory; an engine is one entry here plus its module):
- `tf` (inference/tf_engine.py): TensorFlow, the fast graph and the folded predictor; tiles
  above the tiling size; the only engine for --precision=bfloat16.
- `litert` (inference/litert_engine.py): the same formulations converted once into resizable
  float32 TFLite files (inference/litert_files.py), run by LiteRT through XNNPACK without
  importing TensorFlow, tiled pictures too; equal to `tf` to float32 rounding.
- `auto` (the default): `litert`, except `tf` for bfloat16, and for a job the caller knows to
  be large (`work_pixels`, e.g. a whole video) on a CPU where TensorFlow is the faster one per
  pixel (`tf_faster_per_pixel`; measurements in BENCHMARKS.md, "Engines").
How a picture is made from an engine (strength, blends, colours): inference/pictures.py.
"""
import atexit
import shutil
import tempfile

from magenta_style import defaults
from magenta_style.errors import ModelSpecError, OutputWriteError, UsageError, describe_error
from magenta_style.inference import cpu, litert_files


def tf_faster_per_pixel(cpu_flags=None):
    """Whether TensorFlow's graph outruns LiteRT per image on this CPU: where it has AMX, of
    the CPUs measured. cpu_flags: /proc/cpuinfo's text (default: this machine's)."""
    return cpu.has_amx(cpu_flags)


def auto_engine(work_pixels, cpu_flags=None):
    """What --engine=auto loads for a job of `work_pixels` content pixels (None: unknown,
    a few images): 'tf' where that much work pays for TF's start-up, else 'litert'."""
    large = work_pixels is not None and work_pixels >= defaults.AUTO_ENGINE_TF_WORK_PIXELS
    return "tf" if large and tf_faster_per_pixel(cpu_flags) else "litert"


class _Model:
    """The Stylizer a spec names, loaded on first need (the LiteRT engine's cached path
    never needs it)."""

    def __init__(self, spec, model=None):
        self.spec, self.model = spec, model

    def __call__(self):
        if self.model is None:
            from magenta_style.weights import load_model  # TensorFlow

            self.model = load_model(self.spec)
        return self.model


def _tf(model, options):
    from magenta_style.inference.tf_engine import TFEngine  # TensorFlow

    return TFEngine(model(), options["precision"], options["tile_size"])


def _litert(model, options):
    from magenta_style.inference.litert_engine import LiteRTEngine

    if options["precision"] != "float32":
        raise UsageError(f"--engine=litert runs float32 only; --precision={options['precision']} "
                         "needs --engine=tf (or auto)")
    directory = litert_files.litert_dir(model.spec)
    log = options["log"]

    def build():
        if log:
            log(f"building the LiteRT files of {model.spec} once, in {directory}")
        files = litert_files.convert(model())
        try:
            return litert_files.write(files, directory)
        except (OSError, OutputWriteError) as error:  # permissions, a full disk
            scratch = tempfile.mkdtemp(prefix="magenta_style_litert_")
            atexit.register(shutil.rmtree, scratch, True)
            if log:
                log(f"warning: cannot cache the LiteRT files ({describe_error(error)}); using them "
                    "from a temporary folder for this run only")
            return litert_files.write(files, scratch)

    def engine_from(files):
        return LiteRTEngine(*files, options["tile_size"], options["num_threads"])

    files = litert_files.cached_files(directory)
    if files is None:
        return engine_from(build())
    try:
        return engine_from(files)
    except ModelSpecError:  # a cached file that is not readable (damaged): built again
        return engine_from(build())


def _auto(model, options):
    if options["precision"] != "float32" or auto_engine(options["work_pixels"]) == "tf":
        return _tf(model, options)
    return _litert(model, options)


# name -> factory(model loader, options) -> Engine, in defaults.STYLIZE_ENGINES' order (the
# flags' choices, which cannot import this module: tested equal).
ENGINES = {"auto": _auto, "tf": _tf, "litert": _litert}


def load_engine(spec, engine=defaults.STYLIZE_ENGINE, precision=defaults.STYLIZE_PRECISION,
                tile_size=defaults.STYLIZE_TILE_SIZE, num_threads=None, model=None, log=None,
                work_pixels=None):
    """The engine for a model spec (weights.load_model's specs): an inference/engine.Engine.

    engine: a name of `ENGINES`; precision: 'float32' or 'bfloat16' (TF only: 'auto' then
    takes 'tf', 'litert' refuses it); tile_size: content with more than 4 tile_size^2 pixels
    is stylized in tiles (0: never); num_threads: LiteRT's (default: every CPU this process
    may use); model: the Stylizer `spec` names when the caller already has it (used only
    where the model is needed); log: a callable taking one line (building the LiteRT files is
    announced: it takes ~10 s once); work_pixels: the content pixels the caller will stylize,
    when known (auto's choice, `auto_engine`). Raises UsageError / ModelSpecError.
    """
    if engine not in ENGINES:
        raise UsageError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if precision not in defaults.STYLIZE_PRECISIONS:
        raise UsageError(f"precision must be one of {', '.join(defaults.STYLIZE_PRECISIONS)}, "
                         f"got {precision!r}")
    options = {"precision": precision, "tile_size": tile_size, "num_threads": num_threads,
               "log": log, "work_pixels": work_pixels}
    return ENGINES[engine](_Model(spec, model), options)
