# Real Apache Kafka (KRaft, single node) on loopback for local use and the test suite.
# The broker jars come from Maven Central through kafka/pom.xml into .kafka/lib (git-ignored).

KAFKA_PORT            ?= 9092
KAFKA_CONTROLLER_PORT ?= $(shell echo $$(($(KAFKA_PORT) + 1)))
KAFKA_DATA_DIR        ?= $(CURDIR)/.kafka/data
KAFKA_LIB_DIR         := $(CURDIR)/.kafka/lib
KAFKA_JARS            := $(KAFKA_LIB_DIR)/.fetched
KAFKA_BROKER          := KAFKA_PORT=$(KAFKA_PORT) KAFKA_CONTROLLER_PORT=$(KAFKA_CONTROLLER_PORT) \
                         KAFKA_DATA_DIR=$(KAFKA_DATA_DIR) KAFKA_LIB_DIR=$(KAFKA_LIB_DIR) \
                         kafka/scripts/broker.sh

# The tests start their own broker from these jars.
TEST_DEPS += $(KAFKA_JARS)

$(KAFKA_JARS): kafka/pom.xml
	@command -v mvn >/dev/null || { echo "mvn not found: install Maven (apt-get install maven)"; exit 1; }
	@echo "Fetching the Kafka broker jars from Maven Central into $(KAFKA_LIB_DIR) (~45 MB)"
	rm -rf $(KAFKA_LIB_DIR)
	set -o pipefail; mvn -B -Dstyle.color=never -f kafka/pom.xml dependency:copy-dependencies \
	  -Dkafka.lib.dir=$(KAFKA_LIB_DIR) | grep --line-buffered -E 'Downloaded from .*\.jar|BUILD|ERROR'
	@ls $(KAFKA_LIB_DIR)/kafka_2.13-*.jar >/dev/null
	touch $@

.PHONY: kafka-jars
kafka-jars: $(KAFKA_JARS) ## fetch the Kafka broker jars (once)

.PHONY: kafka-up
kafka-up: $(KAFKA_JARS) ## start a local Kafka broker on 127.0.0.1:9092 (KAFKA_PORT overrides)
	$(KAFKA_BROKER) up

.PHONY: kafka-down
kafka-down: ## stop the local Kafka broker started by kafka-up
	$(KAFKA_BROKER) down

.PHONY: kafka-status
kafka-status: ## say whether the local Kafka broker runs
	@$(KAFKA_BROKER) status || true

# Demo: send texts through a transformer consuming $(KAFKA_INPUT_TOPICS) and print the results.
KAFKA_INPUT_TOPICS ?= argos-in
KAFKA_OUTPUT_TOPIC ?= argos-out
KAFKA_COMMA := ,
TEXTS ?= "The small dog sleeps." "My city is big."

.PHONY: kafka-send
kafka-send: $(TRANSFORMER_ENV) ## send TEXTS to KAFKA_INPUT_TOPICS and print translations from KAFKA_OUTPUT_TOPIC
	$(VENVS)/transformer/bin/python -m argos_transformer.kafka.cli send \
	  --bootstrap 127.0.0.1:$(KAFKA_PORT) --topic $(firstword $(subst $(KAFKA_COMMA), ,$(KAFKA_INPUT_TOPICS))) \
	  --wait-output $(KAFKA_OUTPUT_TOPIC) $(TEXTS)

# Kafka-only mode: the transformer image as an ingestion worker (no HTTP front door), configured by
# the KAFKA_* environment (default: the local broker and the demo topics above), health and
# metrics on HTTP_PORT (default 8090). Several may run side by side, each with its own HTTP_PORT.
KAFKA_WORKER_HTTP_PORT ?= $(if $(filter command line environment,$(origin HTTP_PORT)),$(HTTP_PORT),8090)

.PHONY: run-kafka
run-kafka: $(TRANSFORMER_ENV) ## Kafka-only ingestion worker calling PREDICTOR_HOST (KAFKA_* env; health/metrics on HTTP_PORT, default 8090)
	KAFKA_BOOTSTRAP_SERVERS="$${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:$(KAFKA_PORT)}" \
	KAFKA_INPUT_TOPICS="$(KAFKA_INPUT_TOPICS)" KAFKA_OUTPUT_TOPIC="$(KAFKA_OUTPUT_TOPIC)" \
	  exec $(VENVS)/transformer/bin/python -m argos_transformer --kafka_only \
	  --model_name $(MODEL_NAME) --predictor_host $(PREDICTOR_HOST) \
	  --predictor_protocol $(PREDICTOR_PROTOCOL) --http_port $(KAFKA_WORKER_HTTP_PORT) $(TRANSFORMER_ARGS)
