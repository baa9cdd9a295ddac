# MLServer predictor: the Argos translation core as an MLServer custom runtime (V2 REST and gRPC).
#   docker build -f Dockerfiles/mlserver-predictor.Dockerfile -t kserve-argos/mlserver-predictor:0.1.0 .
# By default it serves /app/mlserver (settings.json + model-settings.json: the embedded demo
# model). The KServe ServingRuntime runs `mlserver start /mnt/models` instead, with the model
# described by MLSERVER_MODEL_* variables and MLSERVER_MODEL_URI=/mnt/models (the storageUri).
# Pinned by exact patch tag; add @sha256:<digest> once `docker buildx imagetools inspect` is available.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
WORKDIR /build
# The building machine's pip settings (index URL, CA bundle), as build secrets that no layer keeps:
# scripts/build-image.sh passes them; without them (a plain `docker build`) pip uses PyPI.
ENV PIP_CONFIG_FILE=/run/secrets/pip.conf
COPY requirements/mlserver-predictor.txt requirements/argostranslate-nodeps.txt ./requirements/
# Same install steps as the KServe predictor: the exact lock from wheels, argostranslate without
# its torch-pulling dependencies.
# Serving never imports the packages' test suites: they are removed (~55 MB).
RUN --mount=type=secret,id=pip.conf --mount=type=secret,id=pip-cert \
    python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --no-deps --only-binary=:all: \
       -r requirements/mlserver-predictor.txt \
    && /opt/venv/bin/pip install --no-cache-dir --no-deps --only-binary=:all: \
       -r requirements/argostranslate-nodeps.txt \
    && find /opt/venv/lib/python3*/site-packages -depth -type d -name tests -exec rm -rf {} +

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="kserve-argos mlserver-predictor" \
      org.opencontainers.image.description="Argos Translate (CTranslate2) as an MLServer runtime" \
      org.opencontainers.image.licenses="Apache-2.0"
# MLServer keeps its metrics and environments dirs under the working directory by default:
# move them to /tmp, since the root filesystem is read-only.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    MLSERVER_METRICS_DIR=/tmp/mlserver/metrics \
    MLSERVER_ENVIRONMENTS_DIR=/tmp/mlserver/envs \
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
COPY predictors/argos_mlserver /app/argos_mlserver
COPY protocol/argos_protocol /app/argos_protocol
COPY predictors/argos_mlserver/settings /app/mlserver
RUN python -m compileall -q /app
WORKDIR /app
USER 1000:1000
# HTTP, gRPC, metrics
EXPOSE 8080 8081 8082
ENTRYPOINT ["mlserver"]
CMD ["start", "/app/mlserver"]
