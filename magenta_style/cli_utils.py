"""Running absl entry scripts so that any user error is one line and a non-zero exit.

Scripts keep their flags; this only wraps parsing and the known error types.
"""
import os
import sys

from absl import app, flags

# Errors that mean "bad input", reported as one line (exit 1), not a traceback.
USER_ERRORS = (ValueError, FileExistsError, FileNotFoundError, RuntimeError)


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
