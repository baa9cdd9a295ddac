"""The one predictor client, in-process against the recording upstream: it serves several event
loops at once (the HTTP server's and the Kafka bridge's), keeps connections, and classifies."""

from __future__ import annotations

import asyncio
import threading

import pytest

from argos_transformer.errors import PredictorRejected, PredictorUnavailable
from argos_transformer.headers import forwardable
from argos_transformer.predictor_client import PredictorClient
from argos_transformer.upstream_grpc import grpc_target
from tests.support.processes import free_port
from tests.transformer.upstreams import Answer, RecordingUpstream


async def translate_twice(client: PredictorClient, word: str) -> list[str]:
    try:
        first = await client.translate([word], "en", "es", {"x-request-id": word, "cookie": "c"})
        second = await client.translate([word, word], None, None)
        return first + second
    finally:
        await client.aclose()


@pytest.mark.parametrize("protocol", ["v1", "v2"])
def test_one_client_serves_several_event_loops(
    upstream: RecordingUpstream, protocol: str
) -> None:
    client = PredictorClient(upstream.host, protocol, "translator", timeout_s=10)
    results: dict[str, list[str]] = {}

    def in_own_loop(word: str) -> None:
        results[word] = asyncio.run(translate_twice(client, word))

    threads = [threading.Thread(target=in_own_loop, args=(w,)) for w in ("alpha", "beta", "gamma")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == {w: [w.upper()] * 3 for w in ("alpha", "beta", "gamma")}
    forwarded = [r.headers.get("x-request-id") for r in upstream.infer_requests()]
    assert sorted(filter(None, forwarded)) == ["alpha", "beta", "gamma"]
    assert all("cookie" not in r.headers for r in upstream.infer_requests())


async def test_errors_are_typed(upstream: RecordingUpstream) -> None:
    client = PredictorClient(upstream.host, "v1", "translator", timeout_s=5)
    upstream.answer = lambda path, body: Answer(422, {"error": "no such pair"})
    try:
        with pytest.raises(PredictorRejected) as rejected:
            await client.translate(["x"], None, None)
        assert (rejected.value.status, rejected.value.transient) == (422, False)
        assert await client.ready() is True
    finally:
        await client.aclose()
    down = PredictorClient(f"127.0.0.1:{free_port()}", "v2", "translator", timeout_s=5)
    try:
        with pytest.raises(PredictorUnavailable) as unavailable:
            await down.translate(["x"], None, None)
        assert (unavailable.value.status, unavailable.value.transient) == (503, True)
        assert unavailable.value.response_headers() == {"Retry-After": "1"}
        assert await down.ready() is False
    finally:
        await down.aclose()


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="protocol must be one of"):
        PredictorClient("h:1", "v3", "m", 1)
    with pytest.raises(ValueError, match="timeout_s"):
        PredictorClient("h:1", "v1", "m", 0)


def test_grpc_target_and_forwardable_headers() -> None:
    assert grpc_target("predictor.ns", use_ssl=False) == "predictor.ns:80"
    assert grpc_target("predictor.ns", use_ssl=True) == "predictor.ns:443"
    assert grpc_target("http://127.0.0.1:9000/", use_ssl=False) == "127.0.0.1:9000"
    assert forwardable({"Authorization": "a", "TraceParent": "t", "X-Other": "o"}) == {
        "authorization": "a", "traceparent": "t",
    }
