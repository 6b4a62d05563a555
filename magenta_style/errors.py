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


def write_failure_reason(error):
    """Why a write failed, in a few words: an OSError's strerror ('File too large'), or the
    tail of a TensorFlow op error ('{{function_node ...}} /path/x.tempstate1; No space left on
    device [Op:SaveV2]' -> 'No space left on device')."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = str(getattr(error, "message", None) or error).strip()
    text = re.sub(r"\s*\[Op:\w+\]\s*$", "", (text.splitlines() or [""])[0])
    return text.rsplit("; ", 1)[-1].strip()[:200] or type(error).__name__
