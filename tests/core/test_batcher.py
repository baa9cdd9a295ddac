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

    def __call__(self, key: object, sentences: list[str], wide: bool = False) -> list[str]:
        self.release.wait(5)
        now = time.monotonic()
        self.started.update(dict.fromkeys(sentences, now))
        time.sleep(self.delay_s)
        self.batches.append((key, list(sentences)))
        return [f"{key}:{s.upper()}" for s in sentences]


class GatedBatch:
    """A batch function whose batches each wait for the test to release them, so the test
    decides when every batch ends (and in what order) and the batcher's decisions do not
    depend on how fast threads are scheduled."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []  # in the order they started
        self.wide: list[bool] = []
        self._gates: list[threading.Event] = []
        self._released = 0
        self._lock = threading.Lock()

    def __call__(self, key: object, sentences: list[str], wide: bool = False) -> list[str]:
        gate = threading.Event()
        with self._lock:
            self.batches.append(list(sentences))
            self.wide.append(wide)
            self._gates.append(gate)
        if not gate.wait(60):
            raise TimeoutError("the test never released this batch")
        return [s.upper() for s in sentences]

    @property
    def in_flight(self) -> int:
        with self._lock:
            return len(self._gates) - self._released

    def release_oldest(self) -> None:
        with self._lock:
            self._gates[self._released].set()
            self._released += 1

    def release_all(self) -> None:
        with self._lock:
            for gate in self._gates[self._released:]:
                gate.set()
            self._released = len(self._gates)


async def until(condition, what: str) -> None:
    """Wait (bounded) for `condition()` to hold."""
    for _ in range(30_000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"timed out waiting for {what}")


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


@pytest.mark.parametrize("first_wave", [1, 2, 5])
async def test_closed_loop_callers_settle_into_equal_batches_per_worker(first_wave: int) -> None:
    """Callers that send again as soon as they are answered (a benchmark's closed loop, a
    Kafka consumer's window) end up split evenly between the workers, whatever split the
    first arrivals made. The test ends every batch itself, oldest first, once both workers
    hold one; a worker short of its share waits for it (the hold is far longer than the
    test), so no decision depends on timing."""
    run = GatedBatch()
    batcher = DynamicBatcher(
        run, max_batch_sentences=64, max_wait_s=0, max_queue_sentences=100, workers=2,
        max_wait_fraction=1e6,
    )
    history = asyncio.create_task(batcher.submit("k", ["history"]))  # gives the key a hold
    await until(lambda: run.in_flight == 1, "the history batch")
    run.release_oldest()
    await history
    rounds: dict[str, int] = {}

    async def caller(name: str) -> None:
        while True:
            sentence = f"{name}-{rounds.setdefault(name, 0)}"
            assert await batcher.submit("k", [sentence]) == [sentence.upper()]
            rounds[name] += 1

    callers = [asyncio.create_task(caller(f"c{i}")) for i in range(first_wave)]
    await until(lambda: run.in_flight >= 1, "the first wave's batch")
    callers += [asyncio.create_task(caller(f"c{i}")) for i in range(first_wave, 12)]
    try:
        for _ in range(16):
            await until(lambda: run.in_flight == 2, "both workers translating")
            run.release_oldest()
        await until(lambda: run.in_flight == 2, "both workers translating")
    finally:
        for task in callers:
            task.cancel()
        run.release_all()
        await asyncio.gather(*callers, return_exceptions=True)
        await batcher.close()
    sizes = [len(batch) for batch in run.batches[1:]]
    assert len(sizes) == 18, sizes
    # whatever the first batches took, from the fourth on each worker carries half the callers
    assert sizes[3:] == [6] * 15, sizes
    assert sum(rounds.values()) == sum(sizes[:16]), (rounds, sizes)


async def test_a_batch_alone_runs_wide_and_the_other_workers_wait_for_it() -> None:
    """With nothing else queued or in flight a batch gets every core (`wide`); what arrives
    meanwhile starts only when it ends, and then batches run side by side, one core each."""
    run = GatedBatch()
    batcher = DynamicBatcher(
        run, max_batch_sentences=8, max_wait_s=0, max_queue_sentences=100, workers=2,
        wide_when_alone=lambda key: True,
    )
    lone = asyncio.create_task(batcher.submit("k", ["lone"]))
    await until(lambda: run.in_flight == 1, "the lone batch")
    pair = [asyncio.create_task(batcher.submit("k", [s])) for s in ("a", "b")]
    await until(lambda: batcher.queued == 2, "the pair queued")
    for _ in range(20):  # an idle worker must not start beside the wide batch
        await asyncio.sleep(0.001)
    assert run.in_flight == 1
    run.release_oldest()
    assert await lone == ["LONE"]
    await until(lambda: run.in_flight == 2, "the pair side by side")
    run.release_all()
    assert [await task for task in pair] == [["A"], ["B"]]
    await batcher.close()
    assert run.batches == [["lone"], ["a"], ["b"]]
    assert run.wide == [True, False, False]


async def test_a_batch_that_leaves_work_behind_is_not_wide_and_the_last_one_is() -> None:
    run = GatedBatch()
    batcher = DynamicBatcher(
        run, max_batch_sentences=2, max_wait_s=0, max_queue_sentences=100, workers=1,
        wide_when_alone=lambda key: True,
    )
    first = asyncio.create_task(batcher.submit("k", list("abc")))  # batches of 2, then 1
    await until(lambda: run.in_flight == 1, "the first batch")
    run.release_oldest()
    await until(lambda: run.in_flight == 1 and len(run.batches) == 2, "the second batch")
    run.release_all()
    assert await first == ["A", "B", "C"]
    await batcher.close()
    assert run.wide == [False, True]


class BusyUntilReleased(RecordingBatch):
    """Batches of "busy-*" sentences run until the test releases them; others as RecordingBatch."""

    def __init__(self, delay_s: float) -> None:
        super().__init__(delay_s)
        self.busy_release = threading.Event()
        self.busy_running = 0

    def __call__(self, key: object, sentences: list[str], wide: bool = False) -> list[str]:
        if sentences[0].startswith("busy"):
            self.busy_running += 1
            if not self.busy_release.wait(60):
                raise TimeoutError("the test never released the busy batches")
            return [f"{key}:{s.upper()}" for s in sentences]
        return super().__call__(key, sentences, wide)


async def test_a_free_worker_waits_for_its_share_at_most_its_hold() -> None:
    """A sentence arriving while the other workers are busy with large batches waits for
    company for `max_wait_fraction` of a batch's duration, not for the busy workers: it is
    served while they are still translating (they end only when the test says so)."""
    run = BusyUntilReleased(delay_s=0.3)
    batcher = make(run, workers=3, max_batch_sentences=64, max_wait_s=0.002,
                   max_wait_fraction=0.2)
    await batcher.submit("k", ["history"])  # a batch takes >= 0.3 s: the hold is >= 0.06 s
    busy = asyncio.create_task(batcher.submit("k", [f"busy-{i}" for i in range(4)]))
    await until(lambda: run.busy_running == 2, "two workers translating two sentences each")
    sent = time.monotonic()
    # A batcher waiting for the busy workers would never answer: the guard fails the test.
    assert await asyncio.wait_for(batcher.submit("k", ["lone"]), 60) == ["k:LONE"]
    waited = run.started["lone"] - sent
    assert not busy.done(), "the busy batches were still running"
    run.busy_release.set()
    await busy
    await batcher.close()
    assert [len(s) for _, s in run.batches] == [1, 1]  # history, lone (busy ones not recorded)
    assert waited >= 0.06, f"held {waited:.3f}s, less than its hold: it did not wait for company"


async def test_a_lone_sentence_with_idle_workers_is_not_held() -> None:
    """Nothing else in hand: the batch leaves as soon as arrivals pause (`max_wait`), however
    long the hold would be (here 100 s: a held sentence fails the guard)."""
    run = RecordingBatch(delay_s=0.2)
    batcher = make(run, workers=2, max_wait_s=0.002, max_wait_fraction=500)
    await batcher.submit("k", ["history"])
    assert await asyncio.wait_for(batcher.submit("k", ["lone"]), 60) == ["k:LONE"]
    await batcher.close()


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
    def run(key: object, sentences: list[str], wide: bool) -> list[str]:
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
