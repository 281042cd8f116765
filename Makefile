# The two commands: `make dev` (set up and run the whole system locally) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .tools/sam
SAM := $(SAM_VENV)/bin/sam
SAM_CLI_VERSION := 1.170.0
STAMP := $(VENV)/.installed

export SAM_CLI_TELEMETRY := 0

.PHONY: dev setup test lint typecheck validate unit integration e2e fuzz bench bench-smoke seed token build clean help

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

dev: $(STAMP) ## Set up, then run the whole system locally (Ctrl-C stops)
	$(BIN)/replyloop dev start

setup: $(STAMP) $(SAM) ## Create .venv with replyloop and its dev tools, and a separate venv for sam

$(STAMP): pyproject.toml layers/deps/requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "replyloop needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

# aws-sam-cli pins its own boto3, so it lives in a venv of its own, away from the runtime's.
$(SAM):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet "aws-sam-cli==$(SAM_CLI_VERSION)"

test: setup lint typecheck validate ## Lint, type-check, validate the template, run every test, smoke the benchmarks
	$(BIN)/pytest
	$(BIN)/python bench/run.py --smoke

bench: $(STAMP) ## Benchmarks at full size (minutes): ratios against baselines measured in the same run
	$(BIN)/python bench/run.py --json bench/results.json

bench-smoke: $(STAMP) ## Benchmarks at small sizes (seconds): checks they still run
	$(BIN)/python bench/run.py --smoke

lint: $(STAMP) ## ruff check + format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP) ## mypy over the replyloop package
	$(BIN)/mypy

validate: $(SAM) ## sam validate --lint (offline)
	$(SAM) validate --lint --region us-east-1

unit: $(STAMP) ## Pure unit tests only
	$(BIN)/pytest tests/unit

integration: $(STAMP) ## moto-backed handler, gateway and poller tests
	$(BIN)/pytest tests/integration

e2e: $(STAMP) ## Start the local stack as a subprocess and drive it over HTTP
	$(BIN)/pytest tests/e2e

fuzz: $(STAMP) ## schemathesis over the API's own OpenAPI spec
	$(BIN)/pytest tests/fuzz

seed: $(STAMP) ## Load demo data into a running local stack
	$(BIN)/replyloop dev seed

token: $(STAMP) ## Print an agent token for the local stack
	@$(BIN)/replyloop dev token

build: $(SAM) ## sam build (needs python3.12 on PATH)
	$(SAM) build

clean: ## Remove the virtual environments and caches
	rm -rf $(VENV) .tools .aws-sam .pytest_cache .mypy_cache .ruff_cache
