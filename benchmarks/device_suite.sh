#!/usr/bin/env bash
# The prepared device benchmark (benchmarks/device_suite.py): one table of training step,
# input pipeline, stylize and evaluation numbers. Fits 8 minutes on one GPU machine:
# the suite stops starting measurements after --budget_s (450 s) and this wrapper
# stops it at 470 s whatever happens (DEVICE_SUITE_TIMEOUT_S overrides).
#   benchmarks/device_suite.sh          # on the accelerator machine
#   benchmarks/device_suite.sh --dry    # tiny sizes, CPU, for CI and before a run
# PYTHON=/path/to/python overrides the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
exec timeout --kill-after=10 "${DEVICE_SUITE_TIMEOUT_S:-470}" "${PYTHON:-python}" benchmarks/device_suite.py "$@"
