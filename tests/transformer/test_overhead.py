"""What the transformer adds per request, checked without a stopwatch (the p50 overhead goal is
measured side by side by `make bench`): its calls reuse pooled keep-alive connections to the
predictor instead of connecting per request, it writes no per-request latency log line unless
asked to (`--enable_latency_logging true`), and the garbage collector stays out of serving."""

from __future__ import annotations

import re

import httpx

from tests.support.clients import post_concurrently
from tests.support.metrics import young_gc_collections
from tests.support.predictor import RunningPredictor
from tests.transformer.conftest import RunningTransformer, TransformerFactory, predictor_host

REQUESTS = 60
# uvicorn's access log line (the predictor fixture turns it on):
# `... uvicorn.access INFO 127.0.0.1:PORT - "POST /v1/models/translator%3Apredict HTTP/1.1" 200`
ACCESS = re.compile(r'127\.0\.0\.1:(\d+) - "POST /v1/models/translator%3Apredict')


def post_sequentially(url: str) -> None:
    with httpx.Client(timeout=30) as client:
        for _ in range(REQUESTS):
            response = client.post(url, json={"instances": ["The small dog sleeps."]})
            assert response.status_code == 200, response.text


def test_sequential_requests_reuse_one_connection_to_the_predictor(
    predictor: RunningPredictor, transformer: RunningTransformer
) -> None:
    post_sequentially(transformer.predict_url)  # opens the pool
    marker = len(predictor.server.log())
    post_sequentially(transformer.predict_url)
    ports = ACCESS.findall(predictor.server.log()[marker:])
    assert len(ports) >= REQUESTS, "the predictor's access log shows the transformer's calls"
    assert len(set(ports)) <= 2, f"{len(set(ports))} connections for {len(ports)} calls"


def test_no_per_request_latency_line_unless_asked(
    predictor: RunningPredictor, transformer: RunningTransformer,
    transformers: TransformerFactory,
) -> None:
    post_sequentially(transformer.predict_url)
    assert "preprocess_ms" not in transformer.server.log()
    verbose = transformers(
        predictor_host(predictor, "v1"), "v1", "--enable_latency_logging", "true"
    )
    post_sequentially(verbose.predict_url)
    assert verbose.server.log().count("preprocess_ms") >= REQUESTS


async def test_the_garbage_collector_stays_out_of_serving(
    predictor: RunningPredictor, transformer: RunningTransformer
) -> None:
    """Both images built on KServe set collection up for serving
    (`argos_protocol.garbage_collection`): with CPython's defaults, 640 requests 32 at a time
    cost the transformer about 40 young collections (docs/transformer.md, Overhead)."""
    servers = {
        "transformer": f"{transformer.base_url}/metrics",
        "predictor": f"{predictor.base_url}/metrics",
    }
    before = {name: young_gc_collections(url) for name, url in servers.items()}
    requests = 640
    body = {"instances": ["The small dog sleeps."]}
    await post_concurrently(transformer.predict_url, body, requests, concurrency=32)
    for name, url in servers.items():
        collections = young_gc_collections(url) - before[name]
        assert collections < requests / 64, f"{name}: {collections} young collections"
    assert "event=gc_tuned" in transformer.server.log()
    assert "event=gc_tuned" in predictor.server.log()
