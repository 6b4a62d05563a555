"""Running absl entry scripts so that any user error is one line and a non-zero exit.

Scripts keep their flags; this only wraps parsing and the project's error types:
a `MagentaStyleError` (bad input) or an `OSError` (a path that cannot be read or
written) is one line and exit 1 (or the error's own `exit_code`: 128 + signal for
a training run stopped by SIGTERM / SIGINT after saving); any other exception is
a bug and keeps its traceback.

Importing this module keeps TensorFlow's start-up notices off the console whenever
TensorFlow loads (`quiet_tensorflow_startup`; it does not import TensorFlow), so entry
scripts import it before anything that imports TensorFlow; `--verbosity` (`-v`) brings
them back, with absl's INFO lines.
"""
import contextlib
import importlib.abc
import importlib.util
import os
import sys
import tempfile

from absl import app, flags, logging

from magenta_style.errors import MagentaStyleError, UsageError, describe_error

# Errors that mean "bad input", reported as one line (exit 1), not a traceback.
USER_ERRORS = (MagentaStyleError, OSError)
VERBOSITY_FLAGS = ("--verbosity", "-v", "--v")


def verbosity_requested(argv):
    """True when the command line sets absl's --verbosity (-v)."""
    return any(arg.split("=", 1)[0] in VERBOSITY_FLAGS for arg in argv[1:])


@contextlib.contextmanager
def captured_stderr():
    """Sends file descriptor 2 to a temporary file meanwhile (what native libraries print while
    loading, before any log level applies); replays it if the block raises."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class _QuietLoader(importlib.abc.Loader):
    """Runs another loader's exec_module with stderr captured (captured_stderr)."""

    def __init__(self, loader):
        self.loader = loader

    def __getattr__(self, name):  # get_resource_reader, is_package, ...: the real loader's
        return getattr(self.loader, name)

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        with captured_stderr():
            self.loader.exec_module(module)


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Makes the first `import tensorflow`, wherever it happens, a quiet one (then steps out)."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def quiet_tensorflow_startup(argv=None):
    """Keeps TensorFlow's start-up notices off the console unless --verbosity asks for them.

    Unless TensorFlow is already imported, the command line has --verbosity /
    -v, or TF_CPP_MIN_LOG_LEVEL is set: sets TF_CPP_MIN_LOG_LEVEL=3 (hides the
    C++ INFO / WARNING / ERROR lines, among them cuInit's "CUDA error" on
    machines without a GPU; real failures still arrive as Python exceptions)
    and makes TensorFlow's first import, whenever it comes, run with file
    descriptor 2 sent to a temporary file: its native libraries print a few
    lines while loading, before any log level applies. If that import fails,
    the captured lines are replayed. TensorFlow itself is not imported here: a
    run on the LiteRT engine's cached files never loads it.
    """
    argv = sys.argv if argv is None else argv
    if ("tensorflow" in sys.modules or "TF_CPP_MIN_LOG_LEVEL" in os.environ
            or verbosity_requested(argv)):
        return False
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if not any(isinstance(finder, _QuietTensorFlowImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowImport())
    return True


QUIET = quiet_tensorflow_startup()


def quiet_native_notices():
    """captured_stderr() unless --verbosity (LiteRT prints an INFO line creating XNNPACK)."""
    return captured_stderr() if QUIET else contextlib.nullcontext()


def check_output_dir(path, flag):
    """UsageError unless `path` is a directory or can be made one (no file in the way)."""
    current = os.path.abspath(path)
    while not os.path.exists(current):
        parent = os.path.dirname(current)
        if parent == current:
            return
        current = parent
    if not os.path.isdir(current):
        where = "" if current == os.path.abspath(path) else f" ({current})"
        raise UsageError(f"--{flag}={path}: exists and is not a directory{where}")


HELP_FLAGS = ("--help", "-help", "-h", "-?", "--helpshort", "--helpfull", "--helpxml")


def _one_line_parser(argv):
    try:
        return flags.FLAGS(argv)
    except SystemExit as stop:  # absl exits 1 after printing the help that was asked for
        if stop.code == 1 and any(arg.split("=", 1)[0] in HELP_FLAGS for arg in argv[1:]):
            sys.exit(0)
        raise
    except flags.Error as error:
        message = "; ".join(line.strip() for line in str(error).splitlines() if line.strip())
        print(f"{os.path.basename(argv[0])}: error: {message}", file=sys.stderr)
        sys.exit(2)


SHARED_FLAG_MODULES = ("magenta_style.cli.common_flags",)


def adopt_help(main):
    """Makes --help / --helpshort describe the module that defines `main` and list its flags
    (and the shared ones it declared through cli/common_flags.py). absl shows the docstring of
    __main__ and the flags registered under sys.argv[0]: for a console script, __main__ is
    pip's entry-point stub, which has neither."""
    main_module = sys.modules["__main__"]
    if main.__module__ != "__main__" and not main_module.__doc__:
        main_module.__doc__ = sys.modules[main.__module__].__doc__
    adopted = {flag.name for flag in flags.FLAGS.get_key_flags_for_module(sys.argv[0])}
    for module in (main.__module__, *SHARED_FLAG_MODULES):
        for flag in flags.FLAGS.get_key_flags_for_module(module):
            if flag.name not in adopted:
                flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)
                adopted.add(flag.name)


def run(main):
    """app.run(main) with one-line flag errors (exit 2) and user errors (exit 1, or the
    error's `exit_code`); absl's INFO lines only with --verbosity; --help that lists the
    script's flags (adopt_help)."""
    adopt_help(main)

    def guarded(argv):
        if not flags.FLAGS["verbosity"].present:
            logging.set_verbosity(logging.WARNING)
        try:
            return main(argv)
        except USER_ERRORS as error:
            code = getattr(error, "exit_code", 1)
            kind = "error" if code == 1 else "stopped"
            print(f"{os.path.basename(sys.argv[0])}: {kind}: {describe_error(error)}",
                  file=sys.stderr)
            sys.exit(code)
    app.run(guarded, flags_parser=_one_line_parser)
