"""Dynamic batching: concurrent requests for one language pair end in one translate_batch call.

Sentences are queued per key (language pair); batches run in a thread pool, one per worker
(CTranslate2 releases the GIL). A free worker takes the key whose oldest sentence has waited
longest and sizes its batch to its share of the work in hand: (queued + being translated) /
workers, at most `max_batch_sentences`. With its share queued it goes once no sentence has
arrived for `max_wait`; short of it, it waits for more. Either way it waits at most
`max_wait_fraction` of the key's recent batch duration (never less than `max_wait`) from when
it became free, or from its oldest sentence's arrival if that came later. The queue is
bounded: past it, `Overloaded`.

Why shares and not "take everything queued": in a closed loop (callers that send again when
answered) whatever split of callers between workers forms first persists, since each worker's
callers come back to the queue together. A worker that took 31 of 32 callers leaves the other
translating batches of one, at a fraction of the engine's throughput. Sizing batches by share,
and letting a free worker wait a few milliseconds for the callers it just answered, converges
to equal batches; the wait costs a small fraction of a batch's duration.

With `wide_when_alone` (true for the keys whose engine has a wide replica), a batch that
leaves with nothing else queued or in flight (a lone request at low load) is run wide:
`run_batch` is told so, and the engine gives it every core instead of one. The other workers
start nothing until it ends (their batches would take cores from it and stall its threads at
their barriers); what arrives meanwhile waits for it, and as soon as two batches are in hand
they run side by side again, one core each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from argos_core import metrics
from argos_core.errors import Overloaded

logger = logging.getLogger("argos_core.batcher")

# (key, sentences, wide) -> one result per sentence; `wide`: the batch may use every core
RunBatch = Callable[[Hashable, list[str], bool], list]


@dataclass
class _Pending:
    sentence: str
    future: asyncio.Future
    enqueued: float


class DynamicBatcher:
    def __init__(
        self,
        run_batch: RunBatch,
        *,
        max_batch_sentences: int,
        max_wait_s: float,
        max_queue_sentences: int,
        workers: int = 1,
        max_wait_fraction: float = 0.0,
        wide_when_alone: Callable[[Hashable], bool] | None = None,
    ) -> None:
        self._run_batch = run_batch
        self.wide_when_alone = wide_when_alone
        self._wide = False  # a batch using every core is being translated: the others hold
        self.max_batch_sentences = max_batch_sentences
        self.max_wait_s = max_wait_s
        self.max_wait_fraction = max_wait_fraction
        self._batch_seconds: dict[Hashable, float] = {}  # recent batch duration per key
        self.max_queue_sentences = max_queue_sentences
        self._workers_count = workers
        self._queues: dict[Hashable, deque[_Pending]] = {}
        self._queued = 0
        self._running = 0  # sentences in the batches being translated
        self._arrived = asyncio.Event()
        self._workers: list[asyncio.Task] = []
        self._executor: ThreadPoolExecutor | None = None

    @property
    def queued(self) -> int:
        return self._queued

    async def submit(self, key: Hashable, sentences: Sequence[str]) -> list[str]:
        """Translate `sentences` as part of whatever batch forms; results in order."""
        if not sentences:
            return []
        # An empty queue takes any one request, so that one larger than the limit is served
        # rather than refused forever; its size is bounded by max_texts and max_text_chars.
        if self._queued and self._queued + len(sentences) > self.max_queue_sentences:
            metrics.OVERLOADED.inc()
            raise Overloaded(
                f"server overloaded: {self._queued} sentences queued "
                f"(limit {self.max_queue_sentences}); retry later"
            )
        self._ensure_workers()
        loop = asyncio.get_running_loop()
        now = time.monotonic()
        queue = self._queues.setdefault(key, deque())
        futures = []
        for sentence in sentences:
            future = loop.create_future()
            queue.append(_Pending(sentence, future, now))
            futures.append(future)
        self._queued += len(sentences)
        metrics.QUEUE_SENTENCES.set(self._queued)
        self._arrived.set()
        return list(await asyncio.gather(*futures))

    async def close(self) -> None:
        for task in self._workers:
            task.cancel()
        for task in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers = []
        for queue in self._queues.values():
            for pending in queue:
                if not pending.future.done():
                    pending.future.set_exception(Overloaded("server shutting down"))
        self._queues.clear()
        self._queued = 0
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def _ensure_workers(self) -> None:
        if self._workers:
            return
        self._arrived = asyncio.Event()
        self._executor = ThreadPoolExecutor(self._workers_count, thread_name_prefix="ct2-batch")
        self._workers = [
            asyncio.get_running_loop().create_task(self._work(), name=f"batcher-{i}")
            for i in range(self._workers_count)
        ]

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            key, batch = await self._next_batch()
            started = time.monotonic()
            wide = (
                self.wide_when_alone is not None
                and not self._running
                and not self._queued
                and self.wide_when_alone(key)
            )
            if wide:
                self._wide = True
            self._running += len(batch)
            try:
                results = await loop.run_in_executor(
                    self._executor, self._run_batch, key, [p.sentence for p in batch], wide
                )
            except Exception as exc:
                logger.exception("batch failed key=%s size=%d", key, len(batch))
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
                continue
            finally:
                self._running -= len(batch)
                if wide:
                    self._wide = False
                    self._arrived.set()  # wake the workers that held for it
            self._batch_done(key, time.monotonic() - started)
            for pending, result in zip(batch, results, strict=True):
                if not pending.future.done():
                    pending.future.set_result(result)

    async def _next_batch(self) -> tuple[Hashable, list[_Pending]]:
        free_since = time.monotonic()
        while True:
            self._drop_cancelled()
            if not self._queued or self._wide:
                self._arrived.clear()
                await self._arrived.wait()
                continue
            key = min(
                (k for k, q in self._queues.items() if q), key=lambda k: self._queues[k][0].enqueued
            )
            queue = self._queues[key]
            # This worker's share of the work in hand (queued and running): workers translate
            # side by side in batches of similar size, rather than one taking everything while
            # the others run batches of one.
            share = min(
                self.max_batch_sentences,
                -(-(len(queue) + self._running) // self._workers_count),
            )
            leave_at = max(queue[0].enqueued, free_since) + self._hold_s(key)
            if len(queue) >= share:  # enough for this worker: go once arrivals pause
                leave_at = min(leave_at, queue[-1].enqueued + self.max_wait_s)
            wait = leave_at - time.monotonic()
            if len(queue) < self.max_batch_sentences and wait > 0:
                self._arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._arrived.wait(), wait)
                continue
            size = min(len(queue), share)
            batch = [queue.popleft() for _ in range(size)]
            self._queued -= len(batch)
            metrics.QUEUE_SENTENCES.set(self._queued)
            return key, batch

    def _hold_s(self, key: Hashable) -> float:
        """How long a free worker may hold a batch of `key` open for its share."""
        return max(self.max_wait_s, self.max_wait_fraction * self._batch_seconds.get(key, 0.0))

    def _batch_done(self, key: Hashable, seconds: float) -> None:
        previous = self._batch_seconds.get(key)
        self._batch_seconds[key] = seconds if previous is None else 0.7 * previous + 0.3 * seconds

    def _drop_cancelled(self) -> None:
        for queue in self._queues.values():
            while queue and queue[0].future.done():
                queue.popleft()
                self._queued -= 1
