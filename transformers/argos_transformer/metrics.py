"""Prometheus metrics of the transformer (default registry: served on KServe's /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

UPSTREAM_LATENCY = Histogram(
    "argos_transformer_upstream_request_seconds",
    "Time of one call to the predictor, by protocol and outcome (ok or error class)",
    ["protocol", "outcome"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
UPSTREAM_TEXTS = Counter(
    "argos_transformer_upstream_texts_total",
    "Text segments sent to the predictor",
    ["protocol"],
)
CALLERS_PER_UPSTREAM_CALL = Histogram(
    "argos_transformer_callers_per_upstream_call",
    "How many concurrent translations shared one call to the predictor",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)
WAITING_TEXTS = Gauge(
    "argos_transformer_waiting_texts",
    "Texts waiting for a free predictor call (at most --max_queued_texts per event loop)",
)
ERRORS = Counter(
    "argos_transformer_errors_total",
    "Failed translations by error class (invalid_input, predictor_unavailable, ...)",
    ["error_class"],
)
SEGMENTS_PER_TEXT = Histogram(
    "argos_transformer_segments_per_text",
    "How many segments a text was cut into before translation",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
LIBRETRANSLATE_REQUESTS = Counter(
    "argos_transformer_libretranslate_requests_total",
    "Requests to the LibreTranslate-compatible API by endpoint and HTTP status",
    ["endpoint", "status"],
)
