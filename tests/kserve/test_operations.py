"""Health, metadata, metrics, and batching of concurrent requests (the batch-size metric)."""

from __future__ import annotations

import asyncio
import re

import httpx

from tests.conftest import DEMO_EXAMPLES
from tests.support.predictor import RunningPredictor, start_kserve_predictor


def test_liveness_readiness_and_metadata(predictor: RunningPredictor) -> None:
    base = predictor.base_url
    assert httpx.get(f"{base}/").status_code == 200
    assert httpx.get(f"{base}/v2/health/live").status_code == 200
    assert httpx.get(f"{base}/v2/health/ready").status_code == 200
    assert httpx.get(f"{base}/v1/models/translator").json() == {"name": "translator", "ready": True}
    metadata = httpx.get(f"{base}/v2/models/translator").json()
    assert metadata["inputs"] == [{"name": "text", "datatype": "BYTES", "shape": [-1]}]
    assert metadata["outputs"] == [{"name": "translation", "datatype": "BYTES", "shape": [-1]}]


def batch_histogram(base_url: str) -> dict[str, float]:
    text = httpx.get(f"{base_url}/metrics").text
    pattern = re.compile(r'^argos_batch_size_sentences_(count|sum)\{pair="en-es"\} (\S+)$', re.M)
    return {kind: float(value) for kind, value in pattern.findall(text)}


async def test_concurrent_requests_are_batched_together(predictor: RunningPredictor) -> None:
    before = batch_histogram(predictor.base_url)
    url = f"{predictor.base_url}/v1/models/translator:predict"
    english = [english for english, _ in DEMO_EXAMPLES]
    async with httpx.AsyncClient(timeout=30) as client:
        responses = await asyncio.gather(
            *(client.post(url, json={"instances": [english[i % 8]]}) for i in range(32))
        )
    assert [r.json()["predictions"][0] for r in responses] == [
        DEMO_EXAMPLES[i % 8][1] for i in range(32)
    ]
    after = batch_histogram(predictor.base_url)
    sentences = after["sum"] - before.get("sum", 0)
    batches = after["count"] - before.get("count", 0)
    assert sentences == 32
    assert batches < 32, f"{batches} batches for 32 concurrent requests: nothing was batched"


def test_readiness_holds_after_load(predictor: RunningPredictor) -> None:
    assert httpx.get(f"{predictor.base_url}/v2/models/translator/ready").status_code == 200


def test_serves_on_uvloop_without_per_request_timing_logs(predictor: RunningPredictor) -> None:
    for _ in range(3):
        response = httpx.post(
            f"{predictor.base_url}/v1/models/translator:predict", json={"instances": ["Hi."]}
        )
        assert response.status_code == 200
    log = predictor.server.log()
    assert "event=event_loop loop=uvloop" in log
    assert "time:cpu" not in log  # KServe's TimingMiddleware writes these two lines per request
    assert "predictor.v1.models" not in log and "kserve.io.v1.models" not in log
    assert "preprocess_ms" not in log  # KServe's latency line, off unless asked for


def test_latency_log_line_when_asked_for(tmp_path) -> None:
    verbose = start_kserve_predictor(tmp_path, "--enable_latency_logging", "true")
    try:
        for _ in range(3):
            response = httpx.post(
                f"{verbose.base_url}/v1/models/translator:predict", json={"instances": ["Hi."]}
            )
            assert response.status_code == 200
        assert verbose.server.log().count("preprocess_ms") == 3
    finally:
        verbose.stop()


def test_kserve_request_metrics_are_exposed(predictor: RunningPredictor) -> None:
    text = httpx.get(f"{predictor.base_url}/metrics").text
    assert "request_predict_seconds" in text
    assert "argos_batch_duration_seconds" in text
