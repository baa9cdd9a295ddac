# Kubernetes manifests (kustomize) and canary rollout. See docs/deploy.md (images: mk/images.mk).

TOOLS_BIN          := $(CURDIR)/.tools/bin
KUSTOMIZE_VERSION  := v5.8.2
KUSTOMIZE          := $(TOOLS_BIN)/kustomize
KUSTOMIZE_STAMP    := $(TOOLS_BIN)/.kustomize-$(KUSTOMIZE_VERSION)
GJSON_EVAL         := $(TOOLS_BIN)/gjson-eval
GJSON_EVAL_SRC     := tests/manifests/gjson_eval

IMAGE_PREFIX       ?= kserve-argos
TAG                ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
REGISTRY           ?=
IMAGES             := kserve-predictor mlserver-predictor transformer
OVERLAYS           := $(sort $(notdir $(wildcard manifests/overlays/*)))
OVERLAY            ?= default
NAMESPACE          ?= kserve-argos
ISVC               ?= translator
# knative: canaryTrafficPercent on the predictor; standard: spec.canary[0] (overlay standard-canary)
MODE               ?= knative
# Without KUBECONFIG, the targets below talk to the local control plane when it is up
# (`make controlplane-up`), looked up once and only by the targets that use it.
ifeq ($(origin KUBECTL),undefined)
KUBECTL = $(eval KUBECTL := $(strip kubectl $(if $(KUBECONFIG),,$(addprefix --kubeconfig ,$(shell \
            scripts/controlplane.sh kubeconfig 2>/dev/null)))))$(KUBECTL)
endif
RENDER_DIR         := build/manifests
DEPLOY_DIR         := build/deploy

# The manifest tests render every overlay with the real kustomize and evaluate the graph
# router's gjson conditions with the real gjson.
TEST_DEPS += $(KUSTOMIZE_STAMP) $(GJSON_EVAL)

$(KUSTOMIZE_STAMP):
	@command -v go >/dev/null || { echo "go not found: kustomize is built with 'go install' (install Go >= 1.26)"; exit 1; }
	@mkdir -p $(TOOLS_BIN)
	@echo "Building kustomize $(KUSTOMIZE_VERSION) into $(TOOLS_BIN) (go install; ~1-2 min the first time)"
	@# The Go module proxy first; without network, the local module cache serves as the proxy.
	GOBIN=$(TOOLS_BIN) go install -v sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION) 2>&1 \
	  | sed -u 's/^/[kustomize] /'; test $${PIPESTATUS[0]} -eq 0 \
	|| { echo "[kustomize] Go proxy unreachable: retrying from the local module cache"; \
	     GOBIN=$(TOOLS_BIN) GOPROXY=file://$$(go env GOMODCACHE)/cache/download \
	     go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION); }
	@$(KUSTOMIZE) version | grep -q '$(KUSTOMIZE_VERSION)'
	@rm -f $(TOOLS_BIN)/.kustomize-*; touch $@

$(GJSON_EVAL): $(GJSON_EVAL_SRC)/main.go $(GJSON_EVAL_SRC)/go.mod $(GJSON_EVAL_SRC)/go.sum
	@command -v go >/dev/null || { echo "go not found: gjson-eval is built with 'go build' (install Go >= 1.22)"; exit 1; }
	@mkdir -p $(TOOLS_BIN)
	cd $(GJSON_EVAL_SRC) && { go build -o $(GJSON_EVAL) . \
	  || GOPROXY=file://$$(go env GOMODCACHE)/cache/download go build -o $(GJSON_EVAL) .; }

.PHONY: kustomize
kustomize: $(KUSTOMIZE_STAMP) ## build the pinned kustomize into .tools/bin

.PHONY: hadolint
hadolint: $(DEV_ENV) ## lint the Dockerfiles with hadolint
	$(VENVS)/dev/bin/hadolint Dockerfiles/*.Dockerfile

.PHONY: render
render: $(KUSTOMIZE_STAMP) ## kustomize build of every overlay into build/manifests/
	@mkdir -p $(RENDER_DIR)
	@for overlay in $(OVERLAYS); do \
	  $(KUSTOMIZE) build manifests/overlays/$$overlay > $(RENDER_DIR)/$$overlay.yaml || exit 1; \
	  echo "$(RENDER_DIR)/$$overlay.yaml"; \
	done

# With REGISTRY set, deploy goes through a generated kustomization that points the images at
# $(REGISTRY)/<image>:$(TAG); without it, the overlay is applied as committed.
.PHONY: deploy-kustomization
deploy-kustomization: $(KUSTOMIZE_STAMP)
	@test -d manifests/overlays/$(OVERLAY) || { echo "Unknown OVERLAY=$(OVERLAY); one of: $(OVERLAYS)"; exit 1; }
	@rm -rf $(DEPLOY_DIR)/$(OVERLAY) && mkdir -p $(DEPLOY_DIR)/$(OVERLAY)
	@{ echo "apiVersion: kustomize.config.k8s.io/v1beta1"; echo "kind: Kustomization"; \
	   echo "resources:"; echo "  - ../../../manifests/overlays/$(OVERLAY)"; \
	   if [ -n "$(REGISTRY)" ]; then echo "images:"; for image in $(IMAGES); do \
	     echo "  - name: $(IMAGE_PREFIX)/$$image"; echo "    newName: $(REGISTRY)/$$image"; echo "    newTag: \"$(TAG)\""; \
	   done; fi; } > $(DEPLOY_DIR)/$(OVERLAY)/kustomization.yaml
	@$(KUSTOMIZE) build $(DEPLOY_DIR)/$(OVERLAY) > /dev/null

.PHONY: deploy
deploy: deploy-kustomization ## kubectl apply -k the OVERLAY=… (default: default; REGISTRY=… to use pushed images)
	$(KUBECTL) apply -k $(DEPLOY_DIR)/$(OVERLAY)

.PHONY: undeploy
undeploy: deploy-kustomization ## kubectl delete -k the OVERLAY=…
	$(KUBECTL) delete -k $(DEPLOY_DIR)/$(OVERLAY) --ignore-not-found

.PHONY: canary
canary: ## move PERCENT=… (0-100) of the predictor traffic to the canary (MODE=knative|standard)
	@echo "$(PERCENT)" | grep -Eq '^(100|[1-9]?[0-9])$$' || { echo "Set PERCENT to an integer 0-100, e.g. make canary PERCENT=25"; exit 1; }
ifeq ($(MODE),standard)
	$(KUBECTL) -n $(NAMESPACE) patch inferenceservice $(ISVC) --type json \
	  -p '[{"op": "replace", "path": "/spec/canary/0/trafficPercent", "value": $(PERCENT)}]'
else
	$(KUBECTL) -n $(NAMESPACE) patch inferenceservice $(ISVC) --type merge \
	  -p '{"spec": {"predictor": {"canaryTrafficPercent": $(PERCENT)}}}'
endif

.PHONY: promote
promote: ## send all predictor traffic to the canary (knative: drop canaryTrafficPercent)
ifeq ($(MODE),standard)
	$(KUBECTL) -n $(NAMESPACE) patch inferenceservice $(ISVC) --type json \
	  -p '[{"op": "replace", "path": "/spec/canary/0/trafficPercent", "value": 100}]'
	@echo "All traffic goes to the canary; make its spec the stable predictor's to finish."
else
	$(KUBECTL) -n $(NAMESPACE) patch inferenceservice $(ISVC) --type json \
	  -p '[{"op": "remove", "path": "/spec/predictor/canaryTrafficPercent"}]'
endif

.PHONY: rollback
rollback: ## send all predictor traffic back to the last good revision (standard: drop spec.canary)
ifeq ($(MODE),standard)
	$(KUBECTL) -n $(NAMESPACE) patch inferenceservice $(ISVC) --type json \
	  -p '[{"op": "remove", "path": "/spec/canary"}]'
else
	$(KUBECTL) -n $(NAMESPACE) patch inferenceservice $(ISVC) --type merge \
	  -p '{"spec": {"predictor": {"canaryTrafficPercent": 0}}}'
endif
