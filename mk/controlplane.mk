# A local Kubernetes control plane with the real KServe controller (scripts/controlplane.sh):
# `kubectl apply` of the overlays and the rollout targets without a cluster. See docs/deploy.md.

CONTROLPLANE         := scripts/controlplane.sh
CONTROLPLANE_MODULE  := scripts/controlplane/kubernetes
CONTROLPLANE_STAMP   := $(CURDIR)/.tools/controlplane/.built

# The tests in tests/controlplane start their own instance from these binaries (built once).
TEST_DEPS += $(CONTROLPLANE_STAMP)

$(CONTROLPLANE_STAMP): $(CONTROLPLANE) $(CONTROLPLANE_MODULE)/go.mod $(CONTROLPLANE_MODULE)/go.sum
	$(CONTROLPLANE) build
	@touch $@

.PHONY: controlplane-build
controlplane-build: $(CONTROLPLANE_STAMP) ## build etcd, kube-apiserver, kube-controller-manager and KServe's manager once (Go module proxy)

.PHONY: controlplane-up
controlplane-up: $(CONTROLPLANE_STAMP) ## start the local control plane with the real KServe controller; prints `export KUBECONFIG=…`
	@$(CONTROLPLANE) up

.PHONY: controlplane-down
controlplane-down: ## stop the local control plane and remove its state
	@$(CONTROLPLANE) down

.PHONY: controlplane-status
controlplane-status: ## say whether the local control plane runs
	@$(CONTROLPLANE) status || true
