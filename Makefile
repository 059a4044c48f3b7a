# Two commands do all the set-up on a fresh machine (Python 3.11 + pip + make):
#   make test   create .venv with the test extra, lint with ruff, run pytest (smoke-scale claims +
#               property tests)
#   make demo   create .venv, run every claim at quick scale, write report/ (HTML, Markdown, PNG, JSON)
#   make docs   the documentation site, built strictly into site/, its links and anchors checked
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --quiet --disable-pip-version-check -c requirements/constraints.txt
DEVICE ?= auto
SCALE  ?= quick
OUT    ?= report

.PHONY: demo test test-jax docs venv clean bench

$(VENV)/.stamp-base: pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) -e .
	touch $@

$(VENV)/.stamp-test: pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) -e '.[test]'
	touch $@ $(VENV)/.stamp-base

$(VENV)/.stamp-docs: pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) -e '.[docs]'
	touch $@ $(VENV)/.stamp-base

venv: $(VENV)/.stamp-base

demo: $(VENV)/.stamp-base
	$(VENV)/bin/kernelcap check --scale $(SCALE) --device $(DEVICE) --out $(OUT) --force

test: $(VENV)/.stamp-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -q

# Strict: a broken link or anchor, a missing cross-reference, a griffe docstring warning or math
# latex2mathml cannot render fails the build; then every link and anchor of the built HTML is
# followed (tools/check_site.py), and nothing may load from outside the site.
docs: $(VENV)/.stamp-docs
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict  # not --quiet: it also silences strict mode
	$(PY) tools/check_site.py site

# Optional: neural-tangents cross-checks in their own venv (jax==0.4.35 + tensorflow-cpu, ~2.5 min).
.venv-jax/.stamp: pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv .venv-jax
	.venv-jax/bin/python -m pip install --quiet --disable-pip-version-check \
	    -c requirements/constraints.txt -e '.[test,jax]'
	touch $@

test-jax: .venv-jax/.stamp
	.venv-jax/bin/python -m pytest -q tests/empirics/test_kernels_nt.py tests/theory/test_kernels.py

# nngeometry (the bench extra) without its unused torchvision dependency; neural-tangents columns
# appear when run from .venv-jax: .venv-jax/bin/python benchmarks/ntk.py
bench: $(VENV)/.stamp-base
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps nngeometry==0.4
	$(PY) benchmarks/ntk.py --quick

clean:
	rm -rf $(VENV) .venv-jax report runs site build .pytest_cache .hypothesis
