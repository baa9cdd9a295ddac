# KServe predictor: the Argos translation core behind KServe's ModelServer (V1, V2 REST, V2 gRPC).
#   docker build -f Dockerfiles/kserve-predictor.Dockerfile -t kserve-argos/kserve-predictor:0.1.0 .
# The self-trained demo model (argos_core/embedded/) is baked in and served by default;
# `--model_dir /mnt/models` (what the manifests pass with a storageUri) serves that instead.
# Pinned by exact patch tag; add @sha256:<digest> once `docker buildx imagetools inspect` is available.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
WORKDIR /build
# The building machine's pip settings (index URL, CA bundle), as build secrets that no layer keeps:
# scripts/build-image.sh passes them; without them (a plain `docker build`) pip uses PyPI.
ENV PIP_CONFIG_FILE=/run/secrets/pip.conf
COPY requirements/kserve-predictor.txt requirements/argostranslate-nodeps.txt ./requirements/
# The lock is complete, so --no-deps installs exactly it, from wheels only (no compiler needed).
# argostranslate comes without its declared dependencies: they pull in torch, and serving only
# uses its package and tokenizer modules (CTranslate2 + SentencePiece do the work).
# Serving never imports the packages' test suites, nor the kubernetes client's asyncio variant
# (kserve imports the synchronous one): both are removed (~125 MB).
RUN --mount=type=secret,id=pip.conf --mount=type=secret,id=pip-cert \
    python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --no-deps --only-binary=:all: \
       -r requirements/kserve-predictor.txt \
    && /opt/venv/bin/pip install --no-cache-dir --no-deps --only-binary=:all: \
       -r requirements/argostranslate-nodeps.txt \
    && find /opt/venv/lib/python3*/site-packages -depth -type d -name tests -exec rm -rf {} + \
    && rm -rf /opt/venv/lib/python3*/site-packages/kubernetes/aio

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="kserve-argos kserve-predictor" \
      org.opencontainers.image.description="Argos Translate (CTranslate2) behind KServe's ModelServer" \
      org.opencontainers.image.licenses="Apache-2.0"
# argostranslate creates its folders under the XDG dirs on import, and packages are extracted
# under $TMPDIR: all of it lives in /tmp, the only writable path (an emptyDir in the manifests).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp \
    XDG_DATA_HOME=/tmp/xdg/data \
    XDG_CONFIG_HOME=/tmp/xdg/config \
    XDG_CACHE_HOME=/tmp/xdg/cache
RUN groupadd --system --gid 1000 argos \
    && useradd --system --uid 1000 --gid 1000 --home-dir /tmp --no-create-home \
       --shell /usr/sbin/nologin argos
COPY --from=builder /opt/venv /opt/venv
COPY predictors/argos_core /app/argos_core
COPY predictors/argos_kserve /app/argos_kserve
COPY protocol/argos_protocol /app/argos_protocol
COPY protocol/argos_protocol_kserve /app/argos_protocol_kserve
# Bytecode is compiled at build time: the root filesystem is read-only at run time.
RUN python -m compileall -q /app
WORKDIR /app
USER 1000:1000
EXPOSE 8080 8081
ENTRYPOINT ["python", "-m", "argos_kserve"]
CMD ["--model_name", "translator"]
