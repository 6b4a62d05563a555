"""Running absl entry scripts so that any user error is one line and a non-zero exit.

Scripts keep their flags; this only wraps parsing and the project's error types:
a `MagentaStyleError` (bad input) or an `OSError` (a path that cannot be read or
written) is one line and exit 1; any other exception is a bug and keeps its traceback.
"""
import os
import sys

from absl import app, flags

from magenta_style.errors import MagentaStyleError

# Errors that mean "bad input", reported as one line (exit 1), not a traceback.
USER_ERRORS = (MagentaStyleError, OSError)


def _one_line_parser(argv):
    try:
        return flags.FLAGS(argv)
    except flags.Error as error:
        message = "; ".join(line.strip() for line in str(error).splitlines() if line.strip())
        print(f"{os.path.basename(argv[0])}: error: {message}", file=sys.stderr)
        sys.exit(2)


def run(main):
    """app.run(main) with one-line flag errors (exit 2) and user errors (exit 1)."""
    def guarded(argv):
        try:
            return main(argv)
        except USER_ERRORS as error:
            print(f"{os.path.basename(sys.argv[0])}: error: {error}", file=sys.stderr)
            sys.exit(1)
    app.run(guarded, flags_parser=_one_line_parser)
