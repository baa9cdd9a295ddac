"""Concurrent translations share predictor calls: in-process against the recording upstream (a
real HTTP server), with one call in flight so that the callers queued behind it are merged."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from argos_transformer.coalescing_client import CoalescingClient
from argos_transformer.errors import (
    PredictorOverloaded,
    PredictorRejected,
    TransformerOverloaded,
)
from argos_transformer.predictor_client import PredictorClient
from tests.transformer.upstreams import Answer, RecordingUpstream, echo_upper

MAX_TEXTS = 8


def slow_first(answer=echo_upper, delay_s: float = 0.3):
    """Answer with `answer`, the first call after `delay_s`: the callers behind it queue up."""
    calls = {"count": 0}

    def respond(path: str, body: Any) -> Answer:
        calls["count"] += 1
        if calls["count"] == 1:
            time.sleep(delay_s)
        return answer(path, body)

    return respond


@pytest.fixture
async def coalescing(upstream: RecordingUpstream):
    client = CoalescingClient(
        PredictorClient(upstream.host, "v2", "translator", timeout_s=10),
        max_texts_per_call=MAX_TEXTS,
        max_calls_in_flight=1,
    )
    yield client
    await client.aclose()


def sent_texts(upstream: RecordingUpstream) -> list[list[str]]:
    return [r.body["inputs"][0]["data"] for r in upstream.infer_requests()]


async def first_then(client: CoalescingClient, others: list) -> list:
    """Start one call, let it reach the upstream, then start `others` (coroutines) behind it."""
    first = asyncio.ensure_future(client.translate(["first"], "en", "es"))
    await asyncio.sleep(0.05)
    rest = [asyncio.ensure_future(other) for other in others]
    return await asyncio.gather(first, *rest, return_exceptions=True)


async def test_waiting_callers_share_calls_and_each_gets_its_own_translations(
    upstream: RecordingUpstream, coalescing: CoalescingClient
) -> None:
    upstream.answer = slow_first()
    words = [f"w{i}" for i in range(20)]
    results = await first_then(
        coalescing, [coalescing.translate([w, w + "b"], "en", "es") for w in words]
    )
    assert results == [["FIRST"]] + [[w.upper(), (w + "b").upper()] for w in words]
    calls = sent_texts(upstream)
    assert calls[0] == ["first"]
    assert len(calls) == 1 + 40 // MAX_TEXTS  # 20 callers of 2 texts, 8 texts per call
    assert all(len(texts) <= MAX_TEXTS for texts in calls)
    assert [t for texts in calls[1:] for t in texts] == [x for w in words for x in (w, w + "b")]


async def test_a_burst_shares_one_call_even_with_free_slots(upstream: RecordingUpstream) -> None:
    """Callers started together (a Kafka poll's records) leave together: with four free call
    slots, the first four would otherwise each take a slot alone and the rest wait for them."""
    client = CoalescingClient(
        PredictorClient(upstream.host, "v2", "translator", timeout_s=10),
        max_texts_per_call=64, max_calls_in_flight=4,
    )
    try:
        words = [f"w{i}" for i in range(20)]
        results = await asyncio.gather(*(client.translate([w], "en", "es") for w in words))
    finally:
        await client.aclose()
    assert results == [[w.upper()] for w in words]
    assert sent_texts(upstream) == [words]


async def test_an_idle_call_goes_out_alone_with_all_its_headers(
    upstream: RecordingUpstream, coalescing: CoalescingClient
) -> None:
    headers = {"Authorization": "Bearer a", "X-Request-Id": "r1", "traceparent": "00-t-s-01"}
    assert await coalescing.translate(["hola"], "en", "es", headers) == ["HOLA"]
    (request,) = upstream.infer_requests()
    assert {k: request.headers.get(k) for k in ("authorization", "x-request-id", "traceparent")} \
        == {"authorization": "Bearer a", "x-request-id": "r1", "traceparent": "00-t-s-01"}


async def test_pairs_and_credentials_are_never_merged_and_distinct_ids_are_not_forwarded(
    upstream: RecordingUpstream, coalescing: CoalescingClient
) -> None:
    upstream.answer = slow_first()
    results = await first_then(coalescing, [
        coalescing.translate(["a"], "en", "es", {"authorization": "A", "x-request-id": "1"}),
        coalescing.translate(["b"], "en", "es", {"authorization": "A", "x-request-id": "2"}),
        coalescing.translate(["c"], "en", "es", {"authorization": "B"}),
        coalescing.translate(["d"], "es", "en", {"authorization": "A"}),
    ])
    assert results == [["FIRST"], ["A"], ["B"], ["C"], ["D"]]
    merged = {tuple(r.body["inputs"][0]["data"]): r for r in upstream.infer_requests()}
    assert set(merged) == {("first",), ("a", "b"), ("c",), ("d",)}
    assert merged[("a", "b")].headers.get("authorization") == "A"
    assert "x-request-id" not in merged[("a", "b")].headers
    assert merged[("c",)].headers.get("authorization") == "B"
    pairs = {key: r.body["parameters"] for key, r in merged.items()}
    assert pairs[("a", "b")] == pairs[("c",)] == {"source": "en", "target": "es"}
    assert pairs[("d",)] == {"source": "es", "target": "en"}


def refuse(word: str):
    def answer(path: str, body: Any) -> Answer:
        if word in body["inputs"][0]["data"]:
            return Answer(400, {"error": f"cannot translate {word!r}"})
        return echo_upper(path, body)

    return answer


async def test_a_refused_merged_call_is_retried_per_caller_so_only_the_culprit_fails(
    upstream: RecordingUpstream, coalescing: CoalescingClient
) -> None:
    upstream.answer = slow_first(refuse("poison"))
    results = await first_then(coalescing, [
        coalescing.translate(["ok1"], "en", "es"),
        coalescing.translate(["poison"], "en", "es"),
        coalescing.translate(["ok2"], "en", "es"),
    ])
    assert results[:2] == [["FIRST"], ["OK1"]] and results[3] == ["OK2"]
    assert isinstance(results[2], PredictorRejected) and "poison" in str(results[2])
    calls = sent_texts(upstream)
    assert calls[:2] == [["first"], ["ok1", "poison", "ok2"]]
    assert sorted(calls[2:]) == [["ok1"], ["ok2"], ["poison"]]  # sent again concurrently


async def test_a_transient_failure_reaches_every_merged_caller_without_retries(
    upstream: RecordingUpstream, coalescing: CoalescingClient
) -> None:
    overloaded = Answer(503, {"error": "overloaded"}, {"retry-after": "2"})
    upstream.answer = slow_first(lambda path, body: overloaded)
    results = await first_then(
        coalescing, [coalescing.translate([w], "en", "es") for w in ("a", "b", "c")]
    )
    assert all(isinstance(result, PredictorOverloaded) for result in results)
    assert sent_texts(upstream) == [["first"], ["a", "b", "c"]]


async def test_a_cancelled_caller_leaves_the_others_unharmed(
    upstream: RecordingUpstream, coalescing: CoalescingClient
) -> None:
    upstream.answer = slow_first()
    first = asyncio.ensure_future(coalescing.translate(["first"], "en", "es"))
    await asyncio.sleep(0.05)
    gone = asyncio.ensure_future(coalescing.translate(["gone"], "en", "es"))
    kept = asyncio.ensure_future(coalescing.translate(["kept"], "en", "es"))
    await asyncio.sleep(0)
    gone.cancel()
    assert await first == ["FIRST"]
    assert await kept == ["KEPT"]
    assert gone.cancelled()
    assert sent_texts(upstream) == [["first"], ["kept"]]


async def test_beyond_the_waiting_limit_calls_are_refused_at_once_with_retry_after(
    upstream: RecordingUpstream,
) -> None:
    upstream.answer = slow_first(delay_s=2.0)
    client = CoalescingClient(
        PredictorClient(upstream.host, "v2", "translator", timeout_s=10),
        max_texts_per_call=MAX_TEXTS, max_calls_in_flight=1, max_waiting_texts=3,
        retry_after_s=2,
    )
    try:
        first = asyncio.ensure_future(client.translate(["first"], "en", "es"))
        await asyncio.sleep(0.05)
        queued = [asyncio.ensure_future(client.translate([w], "en", "es")) for w in "abc"]
        await asyncio.sleep(0)
        with pytest.raises(TransformerOverloaded) as refused:
            await client.translate(["d"], "en", "es")
        assert not first.done()  # refused at once, not after waiting for a slot
        assert (refused.value.status, refused.value.transient) == (503, True)
        assert refused.value.response_headers() == {"Retry-After": "2"}
        assert await asyncio.gather(first, *queued) == [["FIRST"], ["A"], ["B"], ["C"]]
        assert await client.translate(["e"], "en", "es") == ["E"]  # room again
    finally:
        await client.aclose()
