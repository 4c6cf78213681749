# Two commands on a fresh machine: `make preview` (offline preview of the dev stack) and `make test`.
PY ?= python3
VENV := .venv
STACK ?= dev
OUT ?= out/$(STACK)

.PHONY: preview test test-pipeline lab lab-all toolchain lint bench mutation clean diff system-deps workflow-tools test-tools policy-venv

$(VENV)/.installed: pyproject.toml requirements.txt
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q ".[dev]"
	touch $@

preview: $(VENV)/.installed
	$(VENV)/bin/python -m offline preview --stack $(STACK) --out $(OUT)

test: $(VENV)/.installed
	$(VENV)/bin/pytest -q -n auto --ignore=tests/pipeline

# The real-collector pipeline tests (issue 7): build otelcol with ocb (cached under ~/.cache), then run.
test-pipeline: $(VENV)/.installed
	$(VENV)/bin/pytest -q -s tests/pipeline

# The real Pulumi CLI on the simulated cluster (issue 11); toolchain builds are cached under ~/.cache.
lab: $(VENV)/.installed
	$(VENV)/bin/python -m lab run --stack $(STACK)

# Break the guard code one mutation at a time (tools/mutation_check.py); exit 1 if a test misses one.
mutation: $(VENV)/.installed
	$(VENV)/bin/python tools/mutation_check.py

# Every stack on one simulated cluster (3 CPU + 2 GPU nodes), reset between stacks; destroy -> up again
# -> destroy on gpu; cluster last, on the GPU pool's label and taint (put on and taken off by the lab).
lab-all: $(VENV)/.installed
	$(VENV)/bin/python -m lab run --stack dev --stack gpu --stack cluster

# The Go builds (Pulumi CLI, simulated cluster, otelcol, KEDA operator) on one shared Go cache, with a heartbeat.
toolchain: $(VENV)/.installed
	$(VENV)/bin/python -m tools.toolchain

bench: $(VENV)/.installed
	$(VENV)/bin/python bench/run.py

# The plan diff a pull request gets (README "Pull requests"): make diff BASE=origin/main [DIFF_OUT=file]
BASE ?=
DIFF_OUT ?=
DIFF_FLAGS ?=
diff: $(VENV)/.installed
	$(if $(BASE),,$(error make diff needs BASE=<git ref>, e.g. make diff BASE=origin/main))
	$(VENV)/bin/python -m offline diff --base $(BASE) $(if $(DIFF_OUT),--out $(DIFF_OUT)) $(DIFF_FLAGS)

# System packages the tests need (promtool); sudo where not root (GitHub's runners).
system-deps:
	bash .ci/system-deps

# actionlint for the workflow tests, built from its Go module (needs Go) into the project's tool cache.
workflow-tools: $(VENV)/.installed
	$(VENV)/bin/python -m tools.actionlint

# Binaries the tests run that no registry ships at the right version: actionlint, and amtool at the
# Alertmanager release kube-prometheus-stack deploys (Debian's is older); both from the Go module proxy.
test-tools: $(VENV)/.installed workflow-tools
	$(VENV)/bin/python -m tools.amtool

# The policy pack's own virtualenv, which `pulumi preview --policy-pack policies` runs in.
policy-venv: policies/venv/.installed
policies/venv/.installed: policies/requirements.txt
	$(PY) -m venv policies/venv
	policies/venv/bin/pip install -q -r policies/requirements.txt
	touch $@

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .

clean:
	rm -rf out $(VENV)
