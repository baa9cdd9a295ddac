# kserve-argos: two commands on a fresh machine, `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON    ?= python3.11
VENVS     ?= $(CURDIR)/.venvs
HTTP_PORT ?= 8080
GRPC_PORT ?= 8081
MODEL_DIR ?=
MODEL_NAME ?= translator
PYTEST_ARGS ?=

export VENVS PYTHON

# Each image has its own locked environment (requirements/<image>.txt); dev adds tests and training.
KSERVE_ENV      := $(VENVS)/kserve/.built
MLSERVER_ENV    := $(VENVS)/mlserver/.built
TRANSFORMER_ENV := $(VENVS)/transformer/.built
DEV_ENV         := $(VENVS)/dev/.built

# Area makefiles add their own targets and append to TEST_DEPS.
TEST_DEPS :=
include $(sort $(wildcard mk/*.mk))

.PHONY: help
help: ## list targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(KSERVE_ENV): requirements/kserve-predictor.txt requirements/argostranslate-nodeps.txt scripts/build-venv.sh
	scripts/build-venv.sh kserve requirements/kserve-predictor.txt predictors protocol && touch $@

$(MLSERVER_ENV): requirements/mlserver-predictor.txt requirements/argostranslate-nodeps.txt scripts/build-venv.sh
	scripts/build-venv.sh mlserver requirements/mlserver-predictor.txt predictors protocol && touch $@

$(TRANSFORMER_ENV): requirements/transformer.txt scripts/build-venv.sh
	scripts/build-venv.sh transformer requirements/transformer.txt transformers protocol && touch $@

$(DEV_ENV): requirements/dev.txt scripts/build-venv.sh
	scripts/build-venv.sh dev requirements/dev.txt predictors transformers protocol && touch $@

.PHONY: venvs
venvs: $(KSERVE_ENV) $(MLSERVER_ENV) $(TRANSFORMER_ENV) $(DEV_ENV) ## build every locked environment

.PHONY: run
run: $(KSERVE_ENV) ## serve the embedded model with the KServe front end (HTTP_PORT, GRPC_PORT, MODEL_DIR)
	$(VENVS)/kserve/bin/python -m argos_kserve --model_name $(MODEL_NAME) \
	  --http_port $(HTTP_PORT) --grpc_port $(GRPC_PORT) $(if $(MODEL_DIR),--model_dir $(MODEL_DIR))

.PHONY: test
test: venvs $(TEST_DEPS) ## install what is missing and run the whole suite
	$(VENVS)/dev/bin/ruff check .
	$(VENVS)/dev/bin/python -m pytest $(PYTEST_ARGS)

.PHONY: lint
lint: $(DEV_ENV) ## ruff
	$(VENVS)/dev/bin/ruff check .

.PHONY: lock
lock: ## re-resolve every requirements/*.txt from pyproject.toml extras
	@test -x $(VENVS)/uv/bin/uv || scripts/build-venv.sh kserve requirements/kserve-predictor.txt predictors
	$(VENVS)/uv/bin/uv pip compile -q --no-header --annotation-style line --python-version 3.11 pyproject.toml --extra core --extra kserve -o requirements/kserve-predictor.txt
	$(VENVS)/uv/bin/uv pip compile -q --no-header --annotation-style line --python-version 3.11 pyproject.toml --extra core --extra mlserver -o requirements/mlserver-predictor.txt
	$(VENVS)/uv/bin/uv pip compile -q --no-header --annotation-style line --python-version 3.11 pyproject.toml --extra transformer -o requirements/transformer.txt
	$(VENVS)/uv/bin/uv pip compile -q --no-header --annotation-style line --python-version 3.11 pyproject.toml --extra core --extra kserve --extra transformer --extra train --extra test -c requirements/kserve-predictor.txt -o requirements/dev.txt

.PHONY: clean
clean: ## remove environments and build output
	rm -rf $(VENVS) build .pytest_cache
