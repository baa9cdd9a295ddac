"""Upstream failures are mapped honestly: unreachable -> 503 + Retry-After (and not ready),
timeout -> 504, 4xx passed through, 5xx -> 502; never a bare 500 for someone else's fault."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import httpx
import pytest
from kserve import InferenceGRPCClient, InferInput, InferRequest

from tests.support.processes import free_port
from tests.transformer.conftest import MODEL, TransformerFactory, UpstreamTransformer
from tests.transformer.upstreams import Answer, RecordingUpstream, SilentListener

V1_BODY = {"instances": ["The small dog sleeps."]}


@pytest.fixture(scope="module")
def nothing_listens() -> str:
    """A loopback address where nothing accepts connections."""
    return f"127.0.0.1:{free_port()}"


@pytest.fixture(scope="module")
def silent() -> Iterator[SilentListener]:
    with SilentListener() as listener:
        yield listener


@pytest.mark.parametrize("protocol", ["v1", "v2", "grpc-v2"])
def test_unreachable_predictor_is_503_with_retry_after_and_not_ready(
    transformers: TransformerFactory, nothing_listens: str, protocol: str
) -> None:
    transformer = transformers(nothing_listens, protocol, wait_ready=False)
    response = transformer.predict(V1_BODY)
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) >= 1
    assert "unreachable" in response.json()["error"] or "unavailable" in response.json()["error"]
    base = transformer.base_url
    assert httpx.get(f"{base}/v2/models/{MODEL}/ready").status_code == 503
    assert httpx.get(f"{base}/v1/models/{MODEL}").status_code == 503
    assert httpx.get(f"{base}/v2/health/ready").status_code == 503
    assert httpx.get(f"{base}/v2/health/live").status_code == 200  # alive, just not ready
    libre = httpx.post(f"{base}/translate", json={"q": "Hi.", "source": "en", "target": "es"})
    assert libre.status_code == 503 and "error" in libre.json()
    assert "retry-after" in libre.headers


def test_readiness_can_leave_the_predictor_out(
    transformers: TransformerFactory, nothing_listens: str
) -> None:
    transformer = transformers(
        nothing_listens, "v1", "--readiness_checks_predictor", "false", wait_ready=True
    )
    assert httpx.get(f"{transformer.base_url}/v2/models/{MODEL}/ready").status_code == 200
    assert transformer.predict(V1_BODY).status_code == 503


async def test_unreachable_predictor_is_unavailable_over_grpc_too(
    transformers: TransformerFactory, nothing_listens: str
) -> None:
    transformer = transformers(nothing_listens, "v1", wait_ready=False)
    text = InferInput(name="text", shape=[1], datatype="BYTES", data=["The cat sleeps."])
    client = InferenceGRPCClient(transformer.grpc_target, retries=0, timeout=10)
    try:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await client.infer(InferRequest(model_name=MODEL, infer_inputs=[text]))
    finally:
        await client.close()
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "unreachable" in caught.value.details()


@pytest.mark.parametrize("protocol", ["v1", "grpc-v2"])
def test_a_silent_predictor_is_a_504(
    transformers: TransformerFactory, silent: SilentListener, protocol: str
) -> None:
    transformer = transformers(
        silent.host, protocol, "--predictor_request_timeout_seconds", "1", wait_ready=False
    )
    response = transformer.predict(V1_BODY)
    assert response.status_code == 504, response.text
    assert "did not answer" in response.json()["error"]


@pytest.mark.parametrize(
    ("answer", "status", "message"),
    [
        (Answer(500, {"error": "engine exploded"}), 502, "HTTP 500: engine exploded"),
        (Answer(502, b"<html>bad gateway</html>"), 502, "bad gateway"),
        (Answer(200, {"predictions": ["one", "too many"]}), 502, "2 translations for 1 texts"),
        (Answer(200, b"not json"), 502, "invalid JSON"),
        (Answer(400, {"error": "unknown language pair en->xx"}), 400, "unknown language pair"),
        (Answer(413, {"error": "too long"}), 413, "too long"),
        (Answer(404, {"error": "Model with name translator does not exist."}), 404, "not exist"),
        (Answer(429, {"error": "slow down"}, {"retry-after": "7"}), 429, "slow down"),
        (Answer(503, {"error": "translation queue overloaded"}), 503, "overloaded"),
        (Answer(503, {"error": "Model with name translator is not ready."}), 503, "not ready"),
        (Answer(504, {"error": "upstream timeout"}), 504, "upstream timeout"),
    ],
    ids=lambda value: value if isinstance(value, int | str) else None,
)
def test_upstream_statuses_are_mapped(
    via_upstream: UpstreamTransformer,
    upstream: RecordingUpstream,
    answer: Answer,
    status: int,
    message: str,
) -> None:
    upstream.answer = lambda path, body: answer
    transformer = via_upstream("v1")
    response = transformer.predict(V1_BODY)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]
    if status in (429, 503):
        expected = answer.headers.get("retry-after", "1")
        assert response.headers["retry-after"] == expected
    else:
        assert "retry-after" not in response.headers


def test_the_transformer_keeps_serving_after_upstream_failures(
    via_upstream: UpstreamTransformer, upstream: RecordingUpstream
) -> None:
    transformer = via_upstream("v1")
    upstream.answer = lambda path, body: Answer(500, {"error": "boom"})
    assert transformer.predict(V1_BODY).status_code == 502
    upstream.answer = lambda path, body: Answer(200, {"predictions": ["ok"]})
    response = transformer.predict(V1_BODY)
    assert response.status_code == 200 and response.json() == {"predictions": ["ok"]}
    metrics = httpx.get(f"{transformer.base_url}/metrics").text
    assert 'argos_transformer_errors_total{error_class="predictor_failed"}' in metrics
    assert "argos_transformer_upstream_request_seconds_bucket" in metrics
