"""Concurrency with mixed language pairs on a KServe-style MLServer (env-described model): every
request keeps its own pair, and concurrent requests still meet in shared CTranslate2 batches —
the core's batcher does it; MLServer's adaptive batching stays off (it would mix pairs). And
the garbage collector stays out of serving under that concurrency."""

from __future__ import annotations

import asyncio
import re

import grpc
import httpx
import pytest
from kserve import InferenceGRPCClient

from tests.conftest import DEMO_EXAMPLES
from tests.mlserver.conftest import QUEUE_LIMIT
from tests.mlserver.servers import RunningMLServer
from tests.support.clients import post_concurrently, rest_translate, v2_request
from tests.support.metrics import young_gc_collections

ENGLISH = [english for english, _ in DEMO_EXAMPLES]
SPANISH = [spanish for _, spanish in DEMO_EXAMPLES]


def batch_histogram(metrics_url: str, pair: str) -> tuple[float, float]:
    """(batches, sentences) so far for one pair (summed over processes if MLServer has several)."""
    text = httpx.get(metrics_url).text
    totals = {"count": 0.0, "sum": 0.0}
    pattern = re.compile(
        rf'^argos_batch_size_sentences_(count|sum)\{{[^}}]*pair="{pair}"[^}}]*\}} (\S+)$', re.M
    )
    for kind, value in pattern.findall(text):
        totals[kind] += float(value)
    return totals["count"], totals["sum"]


def test_env_described_model_serves_the_demo_examples(
    kserve_style_mlserver: RunningMLServer,
) -> None:
    assert rest_translate(kserve_style_mlserver.http_target, ENGLISH) == SPANISH


def test_the_relabelled_pair_routes_predictably(kserve_style_mlserver: RunningMLServer) -> None:
    """xx->en carries the en->es weights; xx->es pivots: en->es applied twice."""
    target = kserve_style_mlserver.http_target
    twice = rest_translate(target, SPANISH, source="en", target="es")
    assert rest_translate(target, ENGLISH, source="xx", target="en") == SPANISH
    assert rest_translate(target, ENGLISH, source="xx", target="es") == twice
    assert twice != SPANISH, "the pivot route must differ from the direct one to tell them apart"


async def test_concurrent_mixed_pairs_share_batches_and_keep_their_pair(
    kserve_style_mlserver: RunningMLServer,
) -> None:
    server = kserve_style_mlserver
    twice = rest_translate(server.http_target, SPANISH, source="en", target="es")
    pairs = [("en", "es"), ("xx", "es"), ("xx", "en")]
    expected_by_pair = {("en", "es"): SPANISH, ("xx", "es"): twice, ("xx", "en"): SPANISH}
    requests = [(i % len(ENGLISH), pairs[i % len(pairs)]) for i in range(24)]
    batches_before, sentences_before = batch_histogram(server.metrics_url, "en-es")

    async with httpx.AsyncClient(timeout=60) as client:

        async def translate(index: int, pair: tuple[str, str]) -> str:
            body = {
                "inputs": [
                    {"name": "text", "datatype": "BYTES", "shape": [1], "data": [ENGLISH[index]]}
                ],
                "parameters": {"source": pair[0], "target": pair[1]},
            }
            response = await client.post(server.infer_url, json=body)
            assert response.status_code == 200, response.text
            return response.json()["outputs"][0]["data"][0]

        results = await asyncio.gather(*(translate(index, pair) for index, pair in requests))

    assert results == [expected_by_pair[pair][index] for index, pair in requests]
    batches_after, sentences_after = batch_histogram(server.metrics_url, "en-es")
    batches = batches_after - batches_before
    sentences = sentences_after - sentences_before
    # en->es work: 8 direct requests plus the second hop of 8 pivoted ones.
    assert sentences == 16
    assert batches < sentences, f"{batches} en-es batches for {sentences} sentences: no batching"


async def test_overload_is_503_over_rest(kserve_style_mlserver: RunningMLServer) -> None:
    """Two requests that together exceed the queue bound, sent while the first one waits."""
    big = [f"The dog number {i} sleeps." for i in range(QUEUE_LIMIT - 8)]
    small = [f"The cat number {i} sleeps." for i in range(10)]
    async with httpx.AsyncClient(timeout=60) as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    kserve_style_mlserver.infer_url,
                    json={
                        "inputs": [
                            {"name": "text", "datatype": "BYTES", "shape": [len(t)], "data": t}
                        ]
                    },
                )
                for t in (big, small)
            )
        )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 503], [r.text[:200] for r in responses]
    refused = next(r for r in responses if r.status_code == 503)
    assert "overloaded" in refused.json()["error"]


async def test_overload_is_unavailable_over_grpc(kserve_style_mlserver: RunningMLServer) -> None:
    big = [f"The girl number {i} reads." for i in range(QUEUE_LIMIT - 8)]
    small = [f"The man number {i} sings." for i in range(10)]
    async with InferenceGRPCClient(kserve_style_mlserver.grpc_target, retries=0) as client:
        outcomes = await asyncio.gather(
            *(client.infer(v2_request(texts)) for texts in (big, small)), return_exceptions=True
        )
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(errors) == 1, outcomes
    assert isinstance(errors[0], grpc.aio.AioRpcError)
    assert errors[0].code() == grpc.StatusCode.UNAVAILABLE
    assert "overloaded" in errors[0].details()


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        (
            {"source": "en", "target": "fr"},
            "unknown language pair en->fr; installed pairs: en->es, xx->en, xx->es",
        ),
        ({"source": 3}, "parameter 'source' must be a language code string, got int"),
    ],
)
def test_bad_input_on_the_env_described_model_is_a_400(
    kserve_style_mlserver: RunningMLServer, parameters: dict, message: str
) -> None:
    body = {
        "inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": ["a"]}],
        "parameters": parameters,
    }
    response = httpx.post(kserve_style_mlserver.infer_url, json=body)
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]


async def test_the_garbage_collector_stays_out_of_serving(mlserver: RunningMLServer) -> None:
    """Once loaded, the runtime sets collection up for serving as the KServe images do
    (`argos_protocol.garbage_collection`): 640 requests 32 at a time run no young collection
    (CPython's defaults ran dozens)."""
    before = young_gc_collections(mlserver.metrics_url)
    requests = 640
    body = {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": [ENGLISH[0]]}]}
    await post_concurrently(mlserver.infer_url, body, requests, concurrency=32)
    after = young_gc_collections(mlserver.metrics_url)
    assert after - before < requests / 64, f"{after - before} young collections"
    assert "event=gc_tuned" in mlserver.server.log()
