"""Tests mirror the package: tests/nets/ for magenta_style/nets/, and so on."""
import os

# The checkout root (entry scripts, setup.py), for tests that run scripts in subprocesses.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
