"""Evaluation on held-out styles: `load_eval_model`, `EvalModel`, `from_stylizer`,
`from_saved_model` (models.py), `evaluate` and `EvaluationError` (loop.py), reports and plots.

The names load on first use, so `import magenta_style.evaluation.<module>` stays cheap.
"""
import importlib

_EXPORTS = {
    "magenta_style.evaluation.models": ("EvalModel", "from_saved_model", "from_stylizer",
                                        "load_eval_model"),
    "magenta_style.evaluation.loop": ("EvaluationError", "evaluate"),
}
_HOME = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_HOME)


def __getattr__(name):
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_HOME])
