# KOL analytics platform. `make help` lists the targets.
SHELL := /bin/bash
UV ?= uv
RUN := $(UV) run --frozen
# What `make lint` type-checks: every package of the product (tests and bench/ are not).
PACKAGES := kol ingestion spark_jobs expectations gold ml streaming api dashboard dags shell
export PATH := $(HOME)/.local/bin:$(PATH)

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

.PHONY: setup
setup: ## Install what is missing: Debian packages, uv + .venv, JVM artifacts (idempotent)
	@bash infra/setup.sh

.PHONY: up
up: setup ## Start the local stack (PostgreSQL, Redis, Kafka, Trino, MLflow)
	$(RUN) kol stack up

.PHONY: down
down: ## Stop the local stack (data in .kol/ is kept)
	$(RUN) kol stack down

.PHONY: status
status: ## Show each service, its address and health
	$(RUN) kol stack status

.PHONY: demo
demo: setup ## Start the stack and run the platform end to end on generated data
	$(RUN) kol stack up
	$(RUN) kol demo

.PHONY: test
test: setup lint ## Lint, then the whole suite (unit + integration), starting and stopping the stack itself
	@bash infra/with-stack.sh $(RUN) pytest --durations=30

.PHONY: test-demo
test-demo: setup ## kol demo on the stack, checked through the API, Airflow and the dashboard in Chromium
	@bash infra/with-stack.sh $(RUN) pytest -m demo tests/integration/test_whole_platform.py

.PHONY: unit
unit: setup ## Unit tests only (no services needed)
	$(RUN) pytest tests/unit

.PHONY: bench
bench: setup ## Benchmarks in bench/ (need the stack: starts and stops it like `make test`)
	@bash infra/with-stack.sh bash -c 'set -e; for b in bench/bench_*.py; do m=bench.$$(basename $$b .py); echo "== $$m"; $(RUN) python -m $$m; done'

.PHONY: lint
lint: setup ## ruff (lint + format check), mypy on every package, the layers contract
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy $(PACKAGES)
	$(RUN) lint-imports

.PHONY: fmt
fmt: ## Format and auto-fix with ruff
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

.PHONY: clean
clean: down ## Stop the stack and delete all local state (.kol/)
	rm -rf .kol
