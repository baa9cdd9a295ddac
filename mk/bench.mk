# Benchmarks (benchmarks/, docs/benchmarks.md): `make bench` (quick, < 5 min on 2 cores) and
# `make bench FULL=1`. Results: table + goals on stdout, last line one JSON object;
# bench-results/bench.json and bench-results/bench.png (copied to docs/bench.png).

BENCH_OUT      ?= $(CURDIR)/bench-results
BENCH_MODE     := $(if $(filter 1 true yes,$(FULL)),full,quick)
BENCH_ARGS     ?=
LT_ENV         := $(VENVS)/libretranslate/.built
BENCH_TOOLS_ENV := $(VENVS)/bench-tools/.built
ARGOS_SIZE_MODEL := $(BENCH_OUT)/models/argos_size/build.json
UV             := $(VENVS)/uv/bin/uv

# LibreTranslate has its own locked environment: its pins (flask 2.2, numpy<2, its argostranslate
# fork) cannot live beside any image's. Not built with scripts/build-venv.sh, which would add
# the upstream argostranslate on top of the fork.
$(LT_ENV): requirements/libretranslate.txt | $(KSERVE_ENV)
	@echo "[bench] building .venvs/libretranslate (LibreTranslate 1.9.6, ~500 MB)"
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(VENVS)/libretranslate
	$(UV) pip sync --python $(VENVS)/libretranslate/bin/python requirements/libretranslate.txt
	touch $@

# py-spy, for `make bench-profile`.
$(BENCH_TOOLS_ENV): requirements/bench-extra.txt | $(KSERVE_ENV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(VENVS)/bench-tools
	$(UV) pip sync --quiet --python $(VENVS)/bench-tools/bin/python requirements/bench-extra.txt
	touch $@

$(ARGOS_SIZE_MODEL): benchmarks/argos_size_model.py $(DEV_ENV)
	$(VENVS)/dev/bin/python -m benchmarks.argos_size_model --out $(BENCH_OUT)

.PHONY: bench-env
bench-env: venvs $(LT_ENV) ## build what `make bench` needs (environments, Kafka jars, real-size model)
	@$(MAKE) --no-print-directory kafka-jars
	@$(MAKE) --no-print-directory $(ARGOS_SIZE_MODEL)

.PHONY: bench
bench: bench-env ## benchmark side by side (FULL=1: longer); last stdout line is the JSON summary
	@$(VENVS)/dev/bin/python -m benchmarks --mode $(BENCH_MODE) --out $(BENCH_OUT) \
	  --plot docs/bench.png $(BENCH_ARGS)

.PHONY: bench-profile
bench-profile: venvs $(BENCH_TOOLS_ENV) ## py-spy profiles of the KServe predictor, MLServer and transformer under load
	$(VENVS)/dev/bin/python -m benchmarks.profile --out $(BENCH_OUT) \
	  --py-spy $(VENVS)/bench-tools/bin/py-spy $(BENCH_ARGS)

.PHONY: bench-lock
bench-lock: ## re-resolve requirements/libretranslate.txt and bench-extra.txt
	$(UV) pip compile -q --no-header --annotation-style line --python-version 3.11 \
	  requirements/libretranslate.in -o requirements/libretranslate.txt
	$(UV) pip compile -q --no-header --annotation-style line --python-version 3.11 \
	  requirements/bench-extra.in -o requirements/bench-extra.txt
