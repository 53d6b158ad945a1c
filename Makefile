# Developer tasks. Everything runs inside .venv (created by `make install`).
PY := .venv/bin/python

.PHONY: install test test-fast lint format regen bench ci service-lock

install:
	python3 -m venv .venv
	.venv/bin/pip install -q -e '.[test]'

test:
	.venv/bin/pytest -n auto

test-fast:
	.venv/bin/pytest -n auto -m "not slow"

lint:
	.venv/bin/ruff check autocoder tests benchmarks
	.venv/bin/ruff format --check autocoder tests benchmarks
	.venv/bin/mypy

format:
	.venv/bin/ruff format autocoder tests benchmarks
	.venv/bin/ruff check --fix autocoder tests benchmarks

regen:
	$(PY) -m autocoder.ir.schema_gen
	$(PY) -m autocoder.diagnostics.docs

bench:
	$(PY) benchmarks/compile_scale.py

ci:
	bash .ci/run

# Re-resolve the generated service's locked dependencies (component_templates/python/requirements.lock)
# from its declared ranges, in a throwaway venv.
service-lock:
	$(PY) -m autocoder.backends.python_service.lock
