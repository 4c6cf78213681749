# Two commands on a fresh machine: `make preview` (offline preview of the dev stack) and `make test`.
PY ?= python3
VENV := .venv
STACK ?= dev
OUT ?= out/$(STACK)

.PHONY: preview test lint bench clean

$(VENV)/.installed: pyproject.toml requirements.txt
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q ".[dev]"
	touch $@

preview: $(VENV)/.installed
	$(VENV)/bin/python -m offline preview --stack $(STACK) --out $(OUT)

test: $(VENV)/.installed
	$(VENV)/bin/pytest -q

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .

clean:
	rm -rf out $(VENV)
