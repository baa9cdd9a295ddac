# The KServe transformer (transformers/argos_transformer) in front of a running predictor.
# Defaults let it run beside `make run`: predictor on 8080/8081, transformer on 8090/8091.
# HTTP_PORT / GRPC_PORT given on the command line move the transformer, not the predictor.

PREDICTOR_HOST        ?= localhost:8080
PREDICTOR_PROTOCOL    ?= v1
TRANSFORMER_HTTP_PORT ?= $(if $(filter command line,$(origin HTTP_PORT)),$(HTTP_PORT),8090)
TRANSFORMER_GRPC_PORT ?= $(if $(filter command line,$(origin GRPC_PORT)),$(GRPC_PORT),8091)
TRANSFORMER_ARGS      ?=

# The transformer tests start the predictor and transformers from their image environments.
TEST_DEPS += $(TRANSFORMER_ENV) $(KSERVE_ENV)

.PHONY: run-transformer
run-transformer: $(TRANSFORMER_ENV) ## run the transformer in front of PREDICTOR_HOST (PREDICTOR_PROTOCOL v1|v2|grpc-v2; KAFKA_* env enables Kafka ingestion)
	$(VENVS)/transformer/bin/python -m argos_transformer --model_name $(MODEL_NAME) \
	  --predictor_host $(PREDICTOR_HOST) --predictor_protocol $(PREDICTOR_PROTOCOL) \
	  --http_port $(TRANSFORMER_HTTP_PORT) --grpc_port $(TRANSFORMER_GRPC_PORT) $(TRANSFORMER_ARGS)

.PHONY: test-transformer
test-transformer: $(TRANSFORMER_ENV) $(KSERVE_ENV) $(DEV_ENV) ## run only the transformer tests
	$(VENVS)/dev/bin/python -m pytest tests/transformer $(PYTEST_ARGS)
