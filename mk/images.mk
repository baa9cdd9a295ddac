# The three images, built with BuildKit from Dockerfiles/ (see docs/deploy.md).
#   - no engine answers on the default socket: scripts/container-engine.sh installs Debian's
#     docker.io and starts dockerd, which stays up for `docker run`; `make images-down` stops it
#   - the public python base image cannot be pulled: scripts/base-image.sh builds a local
#     stand-in from Debian's packages (PYTHON_IMAGE=... picks another base)
#   - an image is rebuilt when an input of its build changes (build/images/<image> stamps;
#     the engine's layer cache makes unchanged steps free) or when the engine lost it
# IMAGE_PREFIX, TAG, REGISTRY and IMAGES are set in mk/deploy.mk.

ENGINE           := scripts/container-engine.sh
IMAGE_STAMP_DIR  := build/images
BASE_STAMP       := $(IMAGE_STAMP_DIR)/base
IMAGE_STAMPS     := $(IMAGES:%=$(IMAGE_STAMP_DIR)/%)
IMAGE_REFS       := $(IMAGES:%=$(IMAGE_PREFIX)/%:$(TAG))
PYTHON_IMAGE     ?=
# Build cache kept in the engine after each build (older layers are pruned beyond it).
BUILD_CACHE_KEEP ?= 4GB

# The container tests run the images: built (or found current) before the suite.
TEST_DEPS += images-for-tests

# What an image's build reads: the paths its <Dockerfile>.dockerignore allows into the context.
image_inputs = $(shell find $(shell sed -n 's/^!//p' Dockerfiles/$(1).Dockerfile.dockerignore) \
                 -type f ! -path '*/__pycache__/*' ! -name '*.pyc')
$(foreach image,$(IMAGES),$(eval $(IMAGE_STAMP_DIR)/$(image): $(call image_inputs,$(image))))

$(BASE_STAMP): scripts/base-image.sh
	@mkdir -p $(@D)
	PYTHON_IMAGE=$(PYTHON_IMAGE) scripts/base-image.sh > $@.tmp && mv $@.tmp $@

$(IMAGE_STAMP_DIR)/%: Dockerfiles/%.Dockerfile Dockerfiles/%.Dockerfile.dockerignore \
                      scripts/build-image.sh $(BASE_STAMP)
	scripts/build-image.sh $* $(IMAGE_PREFIX)/$*:$(TAG) "$$(cat $(BASE_STAMP))"
	@"$$($(ENGINE) cli)" image inspect --format '{{.Id}}' $(IMAGE_PREFIX)/$*:$(TAG) > $@

.PHONY: images-ready
images-ready: ## start an engine if none answers; build what is missing or out of date; prune
	@$(ENGINE) up
	@# A stamp is stale once the engine no longer has its image, or another base is asked for.
	@docker=$$($(ENGINE) cli); \
	for image in $(IMAGES); do \
	  stamp=$(IMAGE_STAMP_DIR)/$$image; \
	  [ -f $$stamp ] || continue; \
	  id=$$($$docker image inspect --format '{{.Id}}' $(IMAGE_PREFIX)/$$image:$(TAG) 2>/dev/null || true); \
	  [ "$$id" = "$$(cat $$stamp)" ] || rm -f $$stamp; \
	done; \
	if [ -f $(BASE_STAMP) ]; then \
	  base=$$(cat $(BASE_STAMP)); \
	  if ! $$docker image inspect "$$base" >/dev/null 2>&1 \
	     || { [ -n "$(PYTHON_IMAGE)" ] && [ "$(PYTHON_IMAGE)" != "$$base" ]; }; then rm -f $(BASE_STAMP); fi; \
	fi
	@# In parallel: on 2 cores 3 builds take ~100 s together, ~150 s one after another.
	@$(MAKE) --no-print-directory -j$(words $(IMAGES)) $(IMAGE_STAMPS)
	@$(MAKE) --no-print-directory images-prune

.PHONY: images
images: images-ready ## build the three images (installing and starting an engine if needed) and report their sizes
	@scripts/image-report.sh $(IMAGE_REFS)

# Outside CI, a machine without an engine (or root to start one) still runs `make test`: the
# image tests then skip, saying why. Under CI=true this fails the run.
.PHONY: images-for-tests
images-for-tests:
	@$(MAKE) --no-print-directory images-ready \
	|| { case "$$CI" in 1|true|yes) exit 1;; esac; \
	     echo "[images] not built (see above): the image tests will skip"; }

.PHONY: images-report
images-report: ## size of each built image and what dominates it (no build)
	@scripts/image-report.sh $(IMAGE_REFS)

.PHONY: images-prune
images-prune: ## remove stopped test containers, untagged images, build cache beyond BUILD_CACHE_KEEP
	@docker=$$($(ENGINE) cli); \
	$$docker container prune --force --filter label=org.kserve-argos.test >/dev/null; \
	echo "[images] pruned: $$($$docker image prune --force | tail -1 | tr A-Z a-z) (untagged images)," \
	     "$$($$docker builder prune --force --keep-storage $(BUILD_CACHE_KEEP) | tail -1 | tr A-Z a-z) (build cache)"

.PHONY: images-down
images-down: ## stop the engine that `make images` started
	$(ENGINE) down

.PHONY: push
push: ## tag and push the images to REGISTRY=… (e.g. ghcr.io/acme)
	@test -n "$(REGISTRY)" || { echo "Set REGISTRY, e.g. make push REGISTRY=ghcr.io/acme"; exit 1; }
	@docker=$$($(ENGINE) cli) && $$docker info >/dev/null 2>&1 \
	  || { echo "No engine answers: make images first"; exit 1; }; \
	for image in $(IMAGES); do \
	  echo "docker tag $(IMAGE_PREFIX)/$$image:$(TAG) $(REGISTRY)/$$image:$(TAG)"; \
	  $$docker tag $(IMAGE_PREFIX)/$$image:$(TAG) $(REGISTRY)/$$image:$(TAG) || exit 1; \
	  echo "docker push $(REGISTRY)/$$image:$(TAG)"; \
	  $$docker push $(REGISTRY)/$$image:$(TAG) || exit 1; \
	done

.PHONY: image-envs
image-envs: $(KSERVE_ENV) $(MLSERVER_ENV) $(TRANSFORMER_ENV) ## size of each local image environment (.venvs/<image>); fails if torch is in one
	@for env in kserve mlserver transformer; do \
	  site=$$(echo $(VENVS)/$$env/lib/python3*/site-packages); \
	  printf '%-12s %s\n' $$env "$$(du -sh $(VENVS)/$$env | cut -f1)"; \
	  du -sm $$site/* | sort -rn | head -5 | awk '{printf "    %5d MB  %s\n", $$1, $$2}' | sed "s#$$site/##"; \
	  if ls -d $$site/torch $$site/torch-* >/dev/null 2>&1; then echo "torch found in the $$env image environment"; exit 1; fi; \
	done; echo "torch: absent from all three image environments"
