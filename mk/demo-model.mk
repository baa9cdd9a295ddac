# The embedded English->Spanish demo model (predictors/argos_demo). The built package is
# committed, so `make run` and `make test` never train; `make demo-model` rebuilds it.

DEMO_MODEL       := predictors/argos_core/embedded/translate-en_es-1_0.argosmodel
DEMO_MODEL_FLAGS ?=

.PHONY: demo-model
demo-model: $(DEV_ENV) ## train, export, package and evaluate the embedded demo model (a few minutes, CPU)
	$(VENVS)/dev/bin/python -m argos_demo build --out $(DEMO_MODEL) $(DEMO_MODEL_FLAGS)

.PHONY: eval
eval: $(DEV_ENV) ## exact match and BLEU of the committed demo model on 300 fresh sentences
	$(VENVS)/dev/bin/python -m argos_demo eval --package $(DEMO_MODEL)
