# Two commands on a fresh machine: `make preview` (offline preview of the dev stack) and `make test`.
PY ?= python3
VENV := .venv
STACK ?= dev
OUT ?= out/$(STACK)

.PHONY: preview test test-pipeline lab lab-all toolchain lint bench clean

$(VENV)/.installed: pyproject.toml requirements.txt
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q ".[dev]"
	touch $@

preview: $(VENV)/.installed
	$(VENV)/bin/python -m offline preview --stack $(STACK) --out $(OUT)

test: $(VENV)/.installed
	$(VENV)/bin/pytest -q --ignore=tests/pipeline

# The real-collector pipeline tests (issue 7): build otelcol with ocb (cached under ~/.cache), then run.
test-pipeline: $(VENV)/.installed
	$(VENV)/bin/pytest -q -s tests/pipeline

# The real Pulumi CLI on the simulated cluster (issue 11); toolchain builds are cached under ~/.cache.
lab: $(VENV)/.installed
	$(VENV)/bin/python -m lab run --stack $(STACK)

# Every stack on one simulated cluster, reset between stacks; destroy -> up again -> destroy on gpu.
lab-all: $(VENV)/.installed
	$(VENV)/bin/python -m lab run --stack dev --stack gpu

# The three Go builds (Pulumi CLI, simulated cluster, otelcol) on one shared Go cache, with a heartbeat.
toolchain: $(VENV)/.installed
	$(VENV)/bin/python -m tools.toolchain

bench: $(VENV)/.installed
	$(VENV)/bin/python bench/run.py

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .

clean:
	rm -rf out $(VENV)
