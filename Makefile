# modelrail: two commands on a fresh machine (Python 3.11, Node 20, gcc):
#   make up     install into .venv (+ the npm aws-cdk CLI), build the bundled models, start local mode on :3000
#   make test   install if needed, build the bundled models, run the whole test suite
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 3000
STAMP := $(VENV)/.installed
# checkov pins boto3, packaging and networkx to old releases, so the template scanners get a venv of their own
# and never change what the runtime and its tests run on.
SCAN_VENV := .venv-scan
SCAN_STAMP := $(SCAN_VENV)/.installed
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export HF_HUB_OFFLINE := 1

.PHONY: up test setup models lint synth scan bench clean

up: setup
	$(BIN)/modelrail local up --port $(PORT)

test: setup models
	$(BIN)/pytest

setup: $(STAMP) node_modules/.package-lock.json

# torch first and pinned: it is the CPU build pip finds on local disk; an unpinned torch pulled in by
# sentence-transformers would resolve to a multi-GB CUDA build. torch is build-time only.
$(STAMP): pyproject.toml layers/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e './layers[cpu,build,local]' -e '.[infra,dev]'
	touch $@

$(SCAN_STAMP): pyproject.toml
	test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SCAN_VENV)/bin/python -m pip install --quiet '.[scan]'
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

models: setup
	$(BIN)/modelrail build

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/bandit -c pyproject.toml -r layers functions infra -q

# The default app (cdk.json: stage dev, API-key auth, every bundled model) with the GPU models opted in, so the
# checks below cover the SageMaker resources too; then cfn-lint on what it wrote.
# W3005: CDK adds a DependsOn beside a GetAtt of the same role; redundant and harmless (tests/infra ignore it too).
synth: setup models
	npx cdk synth --quiet --context gpu_models=true
	$(BIN)/cfn-lint --ignore-checks W3005 -- cdk.out/*.template.json
	$(MAKE) scan

# checkov and cfripper on what synth wrote: any finding without a written suppression in the resource's metadata
# (infra/scanners.py) fails. --skip-download: no calls to checkov's vendor API.
scan: $(SCAN_STAMP)
	$(SCAN_VENV)/bin/checkov --framework cloudformation --skip-download --compact --quiet \
		$(addprefix -f ,$(wildcard cdk.out/*.template.json))
	$(SCAN_VENV)/bin/cfripper --rules-filters-folder infra/cfripper_filters --format txt --logging ERROR \
		cdk.out/*.template.json

bench: setup models
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/warm_overhead.py

clean:
	rm -rf build cdk.out .pytest_cache .ruff_cache .mypy_cache
