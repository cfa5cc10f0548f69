# The two commands: `make demo` and `make test`. Both set themselves up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed
DEMO_STAMP = $(VENV)/.installed-demo

.PHONY: demo test lint bench install schema wheel clean

# The sample settings refuse to start with DEBUG off and no real DJANGO_SECRET_KEY (SECURITY.md). The demo
# and `make schema` are local development: DEBUG on, with a random key kept in .django-secret-key.
demo schema: export DJANGO_DEBUG ?= 1

# The plugin with the sample site's extra and the tools the tests and `make lint` use.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[demo,dev]'
	touch $(STAMP)

# The demo needs only the plugin and the sample site's extra.
$(DEMO_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[demo]'
	touch $(DEMO_STAMP)

install: $(STAMP)

# Background tasks (Tailor's event flush, Wagtail's own) run in a django-tasks-db worker beside the
# server, stopped with it. With Node.js 20.9+ the example Next.js frontend (sample_site/frontend)
# is built and served on 127.0.0.1:3000 beside it; without Node the demo says how to get it.
FRONTEND = sample_site/frontend
demo: $(DEMO_STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py tailor_demo
	@if sample_site/frontend/node-ok; then \
	  (cd $(FRONTEND) && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run build) \
	    || { echo "The Next.js frontend did not build; the Django demo runs without it."; exit 0; }; \
	fi
	$(PY) manage.py db_worker --interval 1 & worker=$$!; \
	front=; if sample_site/frontend/node-ok && [ -d $(FRONTEND)/.next ]; then \
	  (cd $(FRONTEND) && exec npx next start -H 127.0.0.1 -p 3000) & front=$$!; \
	  echo "Next.js frontend: http://127.0.0.1:3000/  (API: http://127.0.0.1:8000/graphql/)"; \
	else \
	  echo "Next.js frontend not started: install Node.js 20.9 or newer (with npm), then run make demo again (docs/frontend.md)."; \
	fi; \
	trap 'kill $$worker $$front 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver 127.0.0.1:8000

# ruff, then the import contracts in pyproject.toml (layers; the engines import no Django).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

# The suite's own settings (tests/settings.py), whatever DJANGO_SETTINGS_MODULE the shell has:
# pytest-django would let the environment win over pyproject.toml.
test: lint
	DJANGO_SETTINGS_MODULE=tests.settings $(PY) -m pytest -q $(PYTEST_ARGS)

# The benchmarks also want the [bench] extra (pyinstrument for `--profile`) and wrk for the load part.
BENCH_STAMP = $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[demo,dev,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) -m benchmarks $(BENCH_ARGS)

schema: install
	$(PY) manage.py tailor_export_schema

wheel: install
	rm -rf dist && $(PY) -m build --wheel --no-isolation --outdir dist .

clean:
	rm -rf $(VENV) dist build *.egg-info .pytest_cache .ruff_cache
