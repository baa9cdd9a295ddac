# MLServer front end: the translation core as an MLServer custom runtime. See docs/mlserver.md.
# Ports and the model come in through MLServer's own environment variables, which fill whatever
# predictors/argos_mlserver/settings/*.json leave unset.

MLSERVER_SETTINGS     ?= predictors/argos_mlserver/settings
MLSERVER_METRICS_PORT ?= 8082
MLSERVER_HOST         ?= 127.0.0.1

# The MLServer tests start `mlserver start` from its image environment, and the KServe
# predictor (its own environment) to compare answers with.
TEST_DEPS += $(MLSERVER_ENV) $(KSERVE_ENV)

.PHONY: run-mlserver
run-mlserver: $(MLSERVER_ENV) ## serve the embedded model with MLServer (HTTP_PORT, GRPC_PORT, MLSERVER_METRICS_PORT, MODEL_DIR, MLSERVER_HOST)
	MLSERVER_HOST=$(MLSERVER_HOST) MLSERVER_HTTP_PORT=$(HTTP_PORT) MLSERVER_GRPC_PORT=$(GRPC_PORT) \
	MLSERVER_METRICS_PORT=$(MLSERVER_METRICS_PORT) \
	$(if $(MODEL_DIR),MLSERVER_MODEL_URI=$(abspath $(MODEL_DIR))) \
	$(VENVS)/mlserver/bin/mlserver start $(MLSERVER_SETTINGS)

.PHONY: test-mlserver
test-mlserver: $(DEV_ENV) $(MLSERVER_ENV) $(KSERVE_ENV) ## the MLServer front end's tests only
	$(VENVS)/dev/bin/python -m pytest tests/mlserver $(PYTEST_ARGS)
