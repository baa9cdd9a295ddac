"""The dynamic batcher, driven by a real batch function that records the batches it gets."""

import asyncio
import threading
import time

import pytest

from argos_core.batcher import DynamicBatcher
from argos_core.errors import Overloaded


class RecordingBatch:
    def __init__(self, delay_s: float = 0.0) -> None:
        self.batches: list[tuple[object, list[str]]] = []
        self.started: dict[str, float] = {}  # sentence -> when its batch started
        self.delay_s = delay_s
        self.release = threading.Event()
        self.release.set()

    def __call__(self, key: object, sentences: list[str]) -> list[str]:
        self.release.wait(5)
        now = time.monotonic()
        self.started.update(dict.fromkeys(sentences, now))
        time.sleep(self.delay_s)
        self.batches.append((key, list(sentences)))
        return [f"{key}:{s.upper()}" for s in sentences]


def make(run: RecordingBatch, **overrides) -> DynamicBatcher:
    options = {"max_batch_sentences": 8, "max_wait_s": 0.02, "max_queue_sentences": 100}
    return DynamicBatcher(run, **{**options, **overrides})


async def test_concurrent_requests_share_one_batch_and_keep_order() -> None:
    run = RecordingBatch()
    batcher = make(run)
    results = await asyncio.gather(
        batcher.submit("en-es", ["a", "b"]), batcher.submit("en-es", ["c"])
    )
    await batcher.close()
    assert results == [["en-es:A", "en-es:B"], ["en-es:C"]]
    assert run.batches == [("en-es", ["a", "b", "c"])]


async def test_batches_are_capped_and_grouped_by_key() -> None:
    run = RecordingBatch()
    batcher = make(run, max_batch_sentences=3)
    sentences = [str(i) for i in range(7)]
    results = await asyncio.gather(batcher.submit("k1", sentences), batcher.submit("k2", ["x"]))
    await batcher.close()
    assert results[0] == [f"k1:{s}" for s in sentences]
    assert results[1] == ["k2:X"]
    assert all(len(batch) <= 3 for _, batch in run.batches)
    assert {key for key, batch in run.batches if "x" in batch} == {"k2"}
    assert sorted(s for key, batch in run.batches if key == "k1" for s in batch) == sentences


async def test_idle_workers_split_what_is_queued_and_translate_side_by_side() -> None:
    run = RecordingBatch(delay_s=0.05)
    batcher = make(run, workers=2)
    results = await batcher.submit("k", list("abcdef"))
    await batcher.close()
    assert results == [f"k:{c}" for c in "ABCDEF"]
    assert sorted(len(sentences) for _, sentences in run.batches) == [3, 3]


async def test_closed_loop_callers_settle_into_equal_batches_per_worker() -> None:
    """Callers that send again as soon as they are answered (a benchmark's closed loop, a
    Kafka consumer's window) end up split evenly between the workers, whatever split the
    first arrivals made."""
    run = RecordingBatch(delay_s=0.04)
    batcher = make(run, workers=2, max_batch_sentences=64, max_wait_s=0.002,
                   max_wait_fraction=0.25)

    async def caller(name: str, delay_s: float) -> None:
        await asyncio.sleep(delay_s)  # arrivals spread over the first batches
        for round_ in range(12):
            sentence = f"{name}-{round_}"
            assert await batcher.submit("k", [sentence]) == [f"k:{sentence.upper()}"]

    await asyncio.gather(*(caller(f"c{i}", 0.003 * i) for i in range(12)))
    await batcher.close()
    sizes = [len(sentences) for _, sentences in run.batches]
    # the first two batches take the first arrivals; from then on, 6 and 6 (until callers end)
    assert sizes[2:14].count(6) >= 10, sizes


async def test_a_free_worker_waits_for_its_share_at_most_its_hold() -> None:
    """A sentence arriving while the other workers are busy with large batches waits for
    company for `max_wait_fraction` of a batch's duration, not for the busy workers."""
    run = RecordingBatch(delay_s=0.3)
    batcher = make(run, workers=3, max_batch_sentences=64, max_wait_s=0.002,
                   max_wait_fraction=0.2)
    await batcher.submit("k", ["history"])  # a batch takes 0.3 s: the hold is 0.06 s
    busy = asyncio.create_task(batcher.submit("k", [f"busy-{i}" for i in range(4)]))
    await asyncio.sleep(0.05)  # two workers translate two sentences each
    sent = time.monotonic()
    assert await batcher.submit("k", ["lone"]) == ["k:LONE"]
    waited = run.started["lone"] - sent
    await busy
    await batcher.close()
    assert [len(s) for _, s in run.batches] == [1, 2, 2, 1]
    assert 0.04 <= waited < 0.25, waited


async def test_a_lone_sentence_with_idle_workers_is_not_held() -> None:
    """Nothing else in hand: the batch leaves as soon as arrivals pause (`max_wait`), however
    long batches take."""
    run = RecordingBatch(delay_s=0.2)
    batcher = make(run, workers=2, max_wait_s=0.002, max_wait_fraction=0.5)
    await batcher.submit("k", ["history"])  # the hold would be 0.1 s
    sent = time.monotonic()
    await batcher.submit("k", ["lone"])
    await batcher.close()
    assert run.started["lone"] - sent < 0.05


async def test_full_queue_answers_overloaded_and_recovers() -> None:
    run = RecordingBatch()
    run.release.clear()
    batcher = make(run, max_queue_sentences=4, max_batch_sentences=2, max_wait_s=0)
    first = asyncio.create_task(batcher.submit("k", ["a", "b"]))
    await asyncio.sleep(0.05)  # the worker holds [a, b]; the queue is empty again
    second = asyncio.create_task(batcher.submit("k", ["c", "d", "e"]))
    await asyncio.sleep(0.01)
    with pytest.raises(Overloaded, match="overloaded"):
        await batcher.submit("k", ["f", "g"])
    run.release.set()
    assert await first == ["k:A", "k:B"]
    assert await second == ["k:C", "k:D", "k:E"]
    assert await batcher.submit("k", ["h"]) == ["k:H"]
    await batcher.close()


async def test_one_request_larger_than_the_queue_is_served_only_when_the_queue_is_empty() -> None:
    run = RecordingBatch()
    run.release.clear()
    batcher = make(run, max_queue_sentences=4, max_batch_sentences=2, max_wait_s=0)
    waiting = asyncio.create_task(batcher.submit("k", ["a"]))
    await asyncio.sleep(0.05)  # the worker holds [a]; the queue is empty again
    queued = asyncio.create_task(batcher.submit("k", ["b"]))
    await asyncio.sleep(0.01)
    with pytest.raises(Overloaded):  # behind a queued request, six sentences do not fit
        await batcher.submit("k", list("cdefgh"))
    run.release.set()
    assert await waiting == ["k:A"] and await queued == ["k:B"]
    assert await batcher.submit("k", list("cdefgh")) == [f"k:{c}" for c in "CDEFGH"]
    await batcher.close()


async def test_a_failing_batch_fails_only_its_requests() -> None:
    def run(key: object, sentences: list[str]) -> list[str]:
        if "boom" in sentences:
            raise RuntimeError("engine failed")
        return sentences

    batcher = DynamicBatcher(run, max_batch_sentences=1, max_wait_s=0, max_queue_sentences=10)
    with pytest.raises(RuntimeError, match="engine failed"):
        await batcher.submit("k", ["boom"])
    assert await batcher.submit("k", ["fine"]) == ["fine"]
    await batcher.close()


async def test_cancelled_requests_are_dropped_from_the_queue() -> None:
    run = RecordingBatch()
    run.release.clear()
    batcher = make(run, max_batch_sentences=1, max_wait_s=0)
    busy = asyncio.create_task(batcher.submit("k", ["busy"]))
    await asyncio.sleep(0.02)
    abandoned = asyncio.create_task(batcher.submit("k", ["gone"]))
    await asyncio.sleep(0.01)
    abandoned.cancel()
    run.release.set()
    assert await busy == ["k:BUSY"]
    assert await batcher.submit("k", ["next"]) == ["k:NEXT"]
    assert ("k", ["gone"]) not in run.batches
    assert batcher.queued == 0
    await batcher.close()
