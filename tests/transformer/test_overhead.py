"""What the transformer adds to a request's latency: the same V1 request sent directly to the
predictor and through the transformer, interleaved, on warm keep-alive connections.

The goal is a p50 overhead of at most 2 ms on an otherwise idle machine; the assertion here is
looser (shared CI machines are noisy) and catches regressions such as a client built per
request. The measurement is printed and recorded in the test report (`-rP` or junit)."""

from __future__ import annotations

import statistics
import time

import httpx

from tests.support.predictor import RunningPredictor
from tests.transformer.conftest import MODEL, RunningTransformer

ROUNDS, PER_ROUND = 6, 50
BOUND_MS = 10.0


def timed_posts(client: httpx.Client, url: str, count: int) -> list[float]:
    body = {"instances": ["The small dog sleeps."]}
    times = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.post(url, json=body)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return times


def test_p50_overhead_over_calling_the_predictor_directly(
    predictor: RunningPredictor, transformer: RunningTransformer, record_property
) -> None:
    direct_url = f"{predictor.base_url}/v1/models/{MODEL}:predict"
    direct: list[float] = []
    via: list[float] = []
    with httpx.Client(timeout=30) as client:
        timed_posts(client, direct_url, 20)  # warm up both paths and their connections
        timed_posts(client, transformer.predict_url, 20)
        for _ in range(ROUNDS):
            direct += timed_posts(client, direct_url, PER_ROUND)
            via += timed_posts(client, transformer.predict_url, PER_ROUND)
    direct_ms = statistics.median(direct) * 1000
    via_ms = statistics.median(via) * 1000
    overhead_ms = via_ms - direct_ms
    record_property("p50_direct_ms", round(direct_ms, 3))
    record_property("p50_via_transformer_ms", round(via_ms, 3))
    print(f"p50 direct {direct_ms:.2f} ms, via transformer {via_ms:.2f} ms, "
          f"overhead {overhead_ms:.2f} ms")
    assert overhead_ms < BOUND_MS
