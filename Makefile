# The two commands: `make demo` and `make test`. Both set themselves up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: demo test lint bench install schema wheel clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py tailor_demo
	$(PY) manage.py runserver 127.0.0.1:8000

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The suite's own settings (tests/settings.py), whatever DJANGO_SETTINGS_MODULE the shell has:
# pytest-django would let the environment win over pyproject.toml.
test: lint
	DJANGO_SETTINGS_MODULE=tests.settings $(PY) -m pytest -q $(PYTEST_ARGS)

bench: install
	$(PY) -m benchmarks

schema: install
	$(PY) manage.py tailor_export_schema

wheel: install
	rm -rf dist && $(PY) -m build --wheel --no-isolation --outdir dist .

clean:
	rm -rf $(VENV) dist build *.egg-info .pytest_cache .ruff_cache
