# Hardening: malformed-request corpus, fuzzing, overload, soak, graceful shutdown, security,
# dependency audit. See docs/reliability.md.

PIP_AUDIT_VERSION    ?= 2.10.1
AUDIT_ENV            := $(VENVS)/audit/.built

# pip-audit in an environment of its own (it audits the lock files, not this environment).
$(AUDIT_ENV): $(KSERVE_ENV)
	@echo "[hardening] pip-audit==$(PIP_AUDIT_VERSION) -> .venvs/audit"
	$(VENVS)/uv/bin/uv venv --quiet --allow-existing --python $(PYTHON) $(VENVS)/audit
	$(VENVS)/uv/bin/uv pip install --quiet --python $(VENVS)/audit/bin/python pip-audit==$(PIP_AUDIT_VERSION)
	@touch $@

# The hardening tests start the KServe predictor, MLServer and the transformer.
TEST_DEPS += $(KSERVE_ENV) $(MLSERVER_ENV) $(TRANSFORMER_ENV)

.PHONY: test-hardening
test-hardening: $(DEV_ENV) $(KSERVE_ENV) $(MLSERVER_ENV) $(TRANSFORMER_ENV) ## hardening tests only (corpus, fuzz, overload, 50k soak, shutdown, security)
	$(VENVS)/dev/bin/python -m pytest tests/hardening -rs $(PYTEST_ARGS)

.PHONY: soak
soak: $(DEV_ENV) $(KSERVE_ENV) ## soak of the KServe predictor, RSS growth < 10% (SOAK_TRANSLATIONS, default 200000; make test runs 50000)
	ARGOS_SOAK_TRANSLATIONS=$(or $(SOAK_TRANSLATIONS),200000) \
	  $(VENVS)/dev/bin/python -m pytest tests/hardening/test_soak.py -s $(PYTEST_ARGS)

.PHONY: fuzz-long
fuzz-long: $(DEV_ENV) $(KSERVE_ENV) $(TRANSFORMER_ENV) ## hypothesis + schemathesis with 10x the examples (FUZZ_EXAMPLES)
	ARGOS_FUZZ_EXAMPLES=$(or $(FUZZ_EXAMPLES),400) \
	  $(VENVS)/dev/bin/python -m pytest tests/hardening/test_properties.py -s $(PYTEST_ARGS)

.PHONY: audit
audit: $(DEV_ENV) $(AUDIT_ENV) ## pip-audit every image lock (requirements/*.txt); findings triaged in tests/hardening/audit_allowlist.txt
	ARGOS_AUDIT=1 $(VENVS)/dev/bin/python -m pytest tests/hardening/test_audit.py -s $(PYTEST_ARGS)
