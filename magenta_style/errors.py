"""The project's error types: one base class, so the CLIs can tell bad input from bugs.

Every error a user can cause (a bad path, flag value, model spec or file)
derives from `MagentaStyleError` and carries a one-line message naming what
and where; `cli.runner` prints it as `error: ...` and exits 1. Anything else
is a bug and keeps its traceback.
"""
import re


class MagentaStyleError(Exception):
    """Base of the errors a user's input can cause; str() is one line."""


class ModelSpecError(MagentaStyleError, ValueError):
    """A --model / --checkpoint value that cannot be loaded."""


class ExportError(MagentaStyleError, RuntimeError):
    """An export that cannot be done or does not verify.

    `checks` holds the verification rows when verification failed.
    """

    def __init__(self, message, checks=None):
        super().__init__(message)
        self.checks = checks or []


class UsageError(MagentaStyleError, ValueError):
    """A flag or argument value, or a combination of them, that cannot work."""


class BlendWeightsError(MagentaStyleError, ValueError):
    """Style blend weights that cannot mix the given styles (wrong count, no positive sum)."""


class DataError(MagentaStyleError, ValueError):
    """A data source with nothing usable in it (no files, no decodable images)."""


class OutputExistsError(MagentaStyleError, FileExistsError):
    """An output that is already there and would be replaced (without --overwrite)."""


class OutputWriteError(MagentaStyleError):
    """An output that could not be written for want of room (disk full, quota, file size
    limit); nothing of it was left behind. `path` is the output, `reason` the few words why."""

    def __init__(self, path, reason, kept=False):
        self.path, self.reason = path, reason
        kept_text = "; the existing file is unchanged" if kept else ""
        super().__init__(f"{path}: could not write ({reason}); nothing was written{kept_text}")


def write_failure_reason(error):
    """Why a write failed, in a few words: an OSError's strerror ('File too large'), or the
    tail of a TensorFlow op error ('{{function_node ...}} /path/x.tempstate1; No space left on
    device [Op:SaveV2]' -> 'No space left on device'); an OutputWriteError's own reason."""
    if isinstance(error, OutputWriteError):
        return error.reason
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = str(getattr(error, "message", None) or error).strip()
    text = re.sub(r"\s*\[Op:\w+\]\s*$", "", (text.splitlines() or [""])[0])
    return text.rsplit("; ", 1)[-1].strip()[:200] or type(error).__name__


def describe_error(error):
    """One line for a user error: an OSError as 'PATH: reason', not '[Errno 17] ...'."""
    if isinstance(error, OSError) and error.strerror:
        where = error.filename if error.filename is not None else ""
        if error.filename2 is not None:
            where += f" -> {error.filename2}"
        return f"{where}: {error.strerror}" if where else error.strerror
    return str(error)
