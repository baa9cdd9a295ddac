# Monitoring (manifests/monitoring, docs/monitoring.md): a local Prometheus (Debian's 2.42 build,
# unpacked into .tools/prometheus by scripts/prometheus.sh) scraping the local servers the way
# the PodMonitors scrape pods, with the alerting rules of the PrometheusRule loaded.

PROMETHEUS_HOME   := $(CURDIR)/.tools/prometheus
PROMETHEUS_STAMP  := $(PROMETHEUS_HOME)/.deb-version
PROMETHEUS_PORT   ?= 9090
PROMETHEUS_DIR    := $(CURDIR)/build/prometheus
PROMETHEUS        := PROMETHEUS_HOME=$(PROMETHEUS_HOME) PROMETHEUS_PORT=$(PROMETHEUS_PORT) \
                     PROMETHEUS_DATA_DIR=$(PROMETHEUS_DIR)/data scripts/prometheus.sh
# Where `make prometheus-up` finds the servers: `make run`, `make run-transformer` and
# `make run-mlserver` (its metrics port) with their default ports.
SCRAPE_PREDICTOR     ?= 127.0.0.1:8080
SCRAPE_TRANSFORMER   ?= 127.0.0.1:8090
SCRAPE_MLSERVER      ?= 127.0.0.1:8082
SCRAPE_INTERVAL      ?= 5s

# The monitoring tests run the real Prometheus and promtool.
TEST_DEPS += $(PROMETHEUS_STAMP)

$(PROMETHEUS_STAMP): scripts/prometheus.sh
	PROMETHEUS_HOME=$(PROMETHEUS_HOME) scripts/prometheus.sh install
	@touch $@

.PHONY: prometheus
prometheus: $(PROMETHEUS_STAMP) ## unpack Debian's prometheus + promtool into .tools/prometheus (once)

.PHONY: prometheus-up
prometheus-up: $(PROMETHEUS_STAMP) $(KUSTOMIZE_STAMP) $(DEV_ENV) ## Prometheus on 127.0.0.1:9090 scraping make run / run-transformer / run-mlserver through the PodMonitors, alerts loaded
	$(VENVS)/dev/bin/python -m tests.monitoring.local_prometheus --out $(PROMETHEUS_DIR) \
	  --scrape-interval $(SCRAPE_INTERVAL) --predictor $(SCRAPE_PREDICTOR) \
	  --transformer $(SCRAPE_TRANSFORMER) --mlserver-metrics $(SCRAPE_MLSERVER)
	PROMETHEUS_CONFIG=$(PROMETHEUS_DIR)/prometheus.yml $(PROMETHEUS) up

.PHONY: prometheus-down
prometheus-down: ## stop the Prometheus started by prometheus-up
	$(PROMETHEUS) down

.PHONY: test-monitoring
test-monitoring: $(DEV_ENV) $(PROMETHEUS_STAMP) $(KUSTOMIZE_STAMP) $(KAFKA_JARS) $(KSERVE_ENV) $(MLSERVER_ENV) $(TRANSFORMER_ENV) ## monitoring tests only: live Prometheus over the real servers, promtool rule tests
	$(VENVS)/dev/bin/python -m pytest tests/monitoring tests/manifests/test_monitoring.py $(PYTEST_ARGS)
