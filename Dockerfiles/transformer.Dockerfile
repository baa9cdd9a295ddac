# Transformer: V1 / LibreTranslate / CloudEvents front door and Kafka ingestion in front of the
# predictor. No translation engine here: no CTranslate2, no torch.
#   docker build -f Dockerfiles/transformer.Dockerfile -t kserve-argos/transformer:0.1.0 .
# KServe appends `--predictor_host` and `--http_port` to the args; the manifests set
# `--predictor_protocol` explicitly. Kafka ingestion is configured by KAFKA_* variables.
# Pinned by exact patch tag; add @sha256:<digest> once `docker buildx imagetools inspect` is available.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
WORKDIR /build
# The building machine's pip settings (index URL, CA bundle), as build secrets that no layer keeps:
# scripts/build-image.sh passes them; without them (a plain `docker build`) pip uses PyPI.
ENV PIP_CONFIG_FILE=/run/secrets/pip.conf
COPY requirements/transformer.txt ./requirements/
# The lock is complete, so --no-deps installs exactly it, from wheels only (no compiler needed).
# Serving never imports the packages' test suites, nor the kubernetes client's asyncio variant
# (kserve imports the synchronous one): both are removed (~125 MB). Nor Pillow, which kserve
# declares for image payloads a transformer of text never decodes (~25 MB).
RUN --mount=type=secret,id=pip.conf --mount=type=secret,id=pip-cert \
    python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --no-deps --only-binary=:all: \
       -r requirements/transformer.txt \
    && /opt/venv/bin/pip uninstall --yes --no-cache-dir pillow \
    && find /opt/venv/lib/python3*/site-packages -depth -type d -name tests -exec rm -rf {} + \
    && rm -rf /opt/venv/lib/python3*/site-packages/kubernetes/aio

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="kserve-argos transformer" \
      org.opencontainers.image.description="KServe transformer with LibreTranslate API and Kafka ingestion" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp
RUN groupadd --system --gid 1000 argos \
    && useradd --system --uid 1000 --gid 1000 --home-dir /tmp --no-create-home \
       --shell /usr/sbin/nologin argos
COPY --from=builder /opt/venv /opt/venv
COPY transformers/argos_transformer /app/argos_transformer
COPY protocol/argos_protocol /app/argos_protocol
COPY protocol/argos_protocol_kserve /app/argos_protocol_kserve
RUN python -m compileall -q /app
WORKDIR /app
USER 1000:1000
EXPOSE 8080 8081
ENTRYPOINT ["python", "-m", "argos_transformer"]
CMD ["--model_name", "translator"]
