"""Every console script's --help (and --helpshort) shows its module's description and every
flag it takes with its default, run through the installed script itself: an entry-point stub
is __main__ there, which absl's help would otherwise describe (no text, no flag)."""
import ast
import importlib.util
import os
import re
import subprocess
import sys

import pytest

from tests import ROOT

SCRIPTS = dict(re.findall(r'"([\w-]+)=([\w.]+):run"', open(os.path.join(ROOT, "setup.py")).read()))
# Flags declared once in cli/common_flags.py, and which scripts take them.
ENGINE_FLAGS = ("--model", "--engine", "--precision")
STYLE_FLAGS = ("--style_images_paths", "--style_image_size", "--interpolation_weights",
               "--style_blend_weights", "--preserve_colors")
TAKES_STYLES = {"magenta-stylize", "magenta-stylize-video"}


def _help(command, option):
    result = subprocess.run([*command, option], capture_output=True, text=True, timeout=120,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _flags(text):
    """The flags a help text lists: {'--name': its entry}, '--[no]name' as '--name'."""
    entries = re.split(r"\n  (?=--)", text.split("\nflags:\n", 1)[1])[1:]
    return {re.match(r"--(?:\[no\])?(\w+)", entry).expand(r"--\1"): entry for entry in entries}


def test_the_console_scripts_are_the_four_known_ones():
    assert sorted(SCRIPTS) == ["magenta-stylize", "magenta-stylize-demo", "magenta-stylize-video",
                               "magenta-stylize-web"]


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_help_of_the_installed_script_lists_its_flags(script):
    installed = os.path.join(os.path.dirname(sys.executable), script)
    assert os.access(installed, os.X_OK), f"{installed}: not installed (pip install -e .)"
    module = SCRIPTS[script]
    text = _help([installed], "--help")
    # Read, not imported: two entry scripts' flags cannot live in one process.
    source = importlib.util.find_spec(module).origin
    doc_line = ast.get_docstring(ast.parse(open(source).read())).splitlines()[0]
    assert text.startswith(doc_line)
    listed = _flags(text)
    expected = _flags(_help([sys.executable, "-m", module], "--help"))
    assert set(listed) == set(expected) and len(listed) >= 3
    assert set(ENGINE_FLAGS) <= set(listed)
    assert (set(STYLE_FLAGS) <= set(listed)) == (script in TAKES_STYLES)
    defaults = sum("(default: " in entry for entry in listed.values())
    assert defaults == sum("(default: " in entry for entry in expected.values()) >= 2
    assert "(default: 'pretrained:mobile')" in listed["--model"]
    assert "<auto|tf|litert>" in listed["--engine"] and "(default: 'auto')" in listed["--engine"]
    assert set(_flags(_help([installed], "--helpshort"))) == set(listed)
