"""The delivery engine: consume, translate many records at once, produce in order, commit safely.

Threads. The engine's logic runs on one asyncio loop (the bridge's thread), so its state needs no
locks. The consumer is only touched from one worker thread (`poll`, `pause`, `seek`, `commit`),
producer `send` calls from another (they may block on metadata), and broker acknowledgements
come back on kafka-python's IO threads and are handed to the loop with `call_soon_threadsafe`.

Guarantees.
- At-least-once: a partition's group offset only moves past records whose output or dead-letter
  record the broker acknowledged, and only contiguously (`PartitionOffsets`).
- Order: records of a partition are translated concurrently but written in offset order.
- Transient faults are retried (capped backoff) while the partition is paused; the consumer keeps
  polling so the member stays in the group. They never reach the dead-letter topic.
- Permanent faults go to the dead-letter topic; if that write fails nothing is committed past it:
  the partition is rewound to its done mark and re-read.
- Rebalance: revoked partitions get a short grace to finish, then are abandoned; the done mark is
  committed and the new owner re-reads the rest (duplicates carry the same id).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from kafka.errors import KafkaError, MessageSizeTooLargeError, RecordListTooLargeError
from kafka.structs import OffsetAndMetadata, TopicPartition

from argos_transformer.codecs.job import TranslationJob
from argos_transformer.codecs.records import decode_record_value
from argos_transformer.headers import forwardable
from argos_transformer.kafka import metrics
from argos_transformer.kafka.compat import release_parked_fetches
from argos_transformer.kafka.faults import Fault
from argos_transformer.kafka.offsets import OffsetOrderError, PartitionOffsets
from argos_transformer.kafka.outbound import (
    HEADER_ID,
    InboundRecord,
    OutboundRecord,
    coordinates_id,
    dead_letter_record,
    header,
    translation_record,
)
from argos_transformer.kafka.retry import Backoff, RetryBudget
from argos_transformer.kafka.settings import KafkaSettings

log = logging.getLogger("argos_transformer.kafka")

TranslateJob = Callable[[TranslationJob, Mapping[str, str]], Awaitable[list[str]]]

POLL_TIMEOUT_MS = 100
# Without partitions, longer polls: kafka-python 3.0.12 can discard a join round that completes
# between polls (docs/kafka.md, "rejoin stall"); a poll in progress picks it up.
UNASSIGNED_POLL_TIMEOUT_MS = 1000
LAG_INTERVAL_S = 1.0
REVOKE_GRACE_S = 2.0
# kafka-python 3.0.12 can stall in a group rejoin (revoked, never assigned again): past this
# long without partitions, the member leaves and joins the group afresh.
UNASSIGNED_REJOIN_S = 15.0
# Errors a producer reports for a record the broker will never take, however often it is sent.
_UNSENDABLE = (MessageSizeTooLargeError, RecordListTooLargeError)


class Consumer(Protocol):
    """The kafka-python KafkaConsumer methods the engine uses."""

    def assignment(self) -> set[TopicPartition]: ...
    def paused(self) -> set[TopicPartition]: ...
    def pause(self, *partitions: TopicPartition) -> None: ...
    def resume(self, *partitions: TopicPartition) -> None: ...
    def seek(self, partition: TopicPartition, offset: int) -> None: ...
    def poll(self, timeout_ms: int = 0, max_records: int | None = None) -> dict: ...
    def highwater(self, partition: TopicPartition) -> int | None: ...
    def commit(self, offsets: dict | None = None, timeout_ms: int | None = None) -> None: ...
    def commit_async(self, offsets: dict | None = None, callback: Any = None) -> Any: ...
    def close(self, autocommit: bool = True, timeout_ms: int | None = None) -> None: ...


class Producer(Protocol):
    def send(self, topic: str, value: Any = None, key: Any = None, headers: Any = None) -> Any: ...
    def flush(self, timeout: float | None = None) -> None: ...
    def close(self, timeout: float | None = None) -> None: ...


class IngestionFailed(RuntimeError):
    """A record kept failing transiently past the retry budget: ingestion stops uncommitted."""


class _Abandoned(Exception):
    """The record's partition was revoked or rewound while it was being processed."""


@dataclass(eq=False)
class _Entry:
    record: InboundRecord
    taken_at: float
    task: asyncio.Task[OutboundRecord]


@dataclass(eq=False)
class _Partition:
    """One assigned partition for the span of one assignment (replaced on rebalance/rewind)."""

    tp: TopicPartition
    offsets: PartitionOffsets = field(default_factory=PartitionOffsets)
    queue: deque[_Entry] = field(default_factory=deque)
    active: bool = True
    failing: int = 0  # records in retry after a transient fault: the partition stays paused
    committed: int | None = None  # the last done mark sent in a commit
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    emitter: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self.idle.set()


class DeliveryEngine:
    """Runs until `request_stop()`, then drains; `run()` returns once everything is closed."""

    def __init__(
        self,
        settings: KafkaSettings,
        consumer: Consumer,
        producer: Producer,
        translate_job: TranslateJob,
        *,
        backoff: Backoff | None = None,
    ) -> None:
        self.settings = settings
        self._consumer = consumer
        self._producer = producer
        self._translate_job = translate_job
        self._backoff = backoff or Backoff(settings.retry_backoff_s, settings.retry_backoff_max_s)
        self._partitions: dict[TopicPartition, _Partition] = {}
        self._pending_seeks: dict[TopicPartition, int] = {}
        self._unassigned_since: float | None = None
        # set by the bridge once subscribed: subscribes again with the same topics and listener
        self.resubscribe: Callable[[], None] | None = None
        self._consumer_thread = concurrent.futures.ThreadPoolExecutor(1, "kafka-consumer")
        self._send_thread = concurrent.futures.ThreadPoolExecutor(1, "kafka-send")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = asyncio.Event()
        self._room = asyncio.Event()  # set whenever a record is translated or acknowledged
        self._translating = 0  # records whose translation (or dead-letter decision) runs
        self._failure: IngestionFailed | None = None
        self._last_commit = 0.0
        self._last_lag = 0.0
        self._retrying = 0  # records currently retrying a transient fault
        self._commit_failing = False

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def failure(self) -> IngestionFailed | None:
        return self._failure

    def request_stop(self) -> None:
        """Stop polling and drain. Safe from any thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        log.info(
            "kafka ingestion started topics=%s output=%s dlq=%s group=%s max_in_flight=%d "
            "max_buffered=%d",
            ",".join(self.settings.input_topics), self.settings.output_topic,
            self.settings.dead_letter_topic, self.settings.group_id, self.settings.max_in_flight,
            self.settings.buffered_limit,
        )
        try:
            while not self._stop.is_set():
                try:
                    await self._poll_once()
                except KafkaError as exc:
                    log.warning("kafka poll failed (retrying in 1s): %r", exc)
                    await asyncio.sleep(1.0)
            await self._drain(self.settings.drain_timeout_s)
        finally:
            for state in list(self._partitions.values()):
                self._deactivate(state)
            await self._close_clients()
            self._partitions.clear()
            self._consumer_thread.shutdown(wait=True)
            self._send_thread.shutdown(wait=True)
            metrics.IN_FLIGHT.set(0)
            metrics.TRANSLATING.set(0)
            metrics.PAUSED.set(0)

    async def _close_clients(self) -> None:
        """Leave the group (the revoke listener runs while this loop still answers it) and
        flush the producer. The engine owns the clients it was given."""
        try:
            await self.call_consumer(lambda: self._consumer.close(autocommit=False))
        except Exception as exc:  # closing is best effort; offsets are committed
            log.warning("kafka consumer close failed: %r", exc)
        try:
            await self._loop.run_in_executor(  # type: ignore[union-attr]
                self._send_thread, lambda: self._producer.close(timeout=10)
            )
        except Exception as exc:
            log.warning("kafka producer close failed: %r", exc)

    async def call_consumer(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run a consumer method on the consumer's own thread."""
        assert self._loop is not None
        return await self._loop.run_in_executor(self._consumer_thread, function, *args)

    # --- rebalance (called from kafka-python's IO thread, via the bridge's listener) ----------

    def partitions_assigned(self, partitions: Iterable[TopicPartition]) -> None:
        self._on_loop(self._assign, set(partitions))

    def partitions_revoked(
        self, partitions: Iterable[TopicPartition], lost: bool = False
    ) -> dict[TopicPartition, OffsetAndMetadata]:
        """Finish (briefly) or abandon the partitions' records; return their done marks."""
        return self._on_loop(self._release, set(partitions), lost) or {}

    def _on_loop(self, function: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        loop = self._loop
        if loop is None or loop.is_closed():
            return None
        future = asyncio.run_coroutine_threadsafe(function(*args), loop)
        try:
            return future.result(timeout=REVOKE_GRACE_S + 5)
        except concurrent.futures.TimeoutError:
            log.error("rebalance callback timed out: %s", function.__name__)
            return None

    async def _assign(self, partitions: set[TopicPartition]) -> None:
        for tp in partitions:
            if tp in self._partitions:
                continue
            self._partitions[tp] = self._start_partition(tp)
        log.info("kafka partitions assigned %s", _names(partitions))

    def _start_partition(self, tp: TopicPartition, committed: int | None = None) -> _Partition:
        state = _Partition(tp, committed=committed)
        state.emitter = asyncio.create_task(self._emit(state), name=f"emit-{_name(tp)}")
        return state

    async def _release(
        self, partitions: set[TopicPartition], lost: bool
    ) -> dict[TopicPartition, OffsetAndMetadata]:
        states = [self._partitions[tp] for tp in partitions if tp in self._partitions]
        if states and not lost:
            await self._wait_idle(states, REVOKE_GRACE_S)
        offsets = {}
        for state in states:
            mark = state.offsets.commit_position()
            if mark is not None and not lost:  # even if sent before: that commit may fail
                offsets[state.tp] = OffsetAndMetadata(mark, "", -1)
            self._forget(state)
        log.info(
            "kafka partitions %s %s, committing %s",
            _names(partitions), "lost" if lost else "revoked",
            _offsets(offsets),
        )
        return offsets

    def _forget(self, state: _Partition) -> None:
        self._deactivate(state)
        self._partitions.pop(state.tp, None)
        self._pending_seeks.pop(state.tp, None)
        with contextlib.suppress(KeyError):
            metrics.LAG.remove(state.tp.topic, str(state.tp.partition))

    def _deactivate(self, state: _Partition) -> None:
        """Stop writing anything more for this partition span; its unfinished records are
        abandoned (not committed, so whoever reads the partition next translates them)."""
        if not state.active:
            return
        state.active = False
        state.wakeup.set()
        for entry in state.queue:
            entry.task.cancel()
        state.queue.clear()
        state.idle.set()
        if state.emitter is not None:
            state.emitter.cancel()

    # --- polling --------------------------------------------------------------------------------

    def _in_flight(self) -> int:
        """Records taken and not yet acknowledged (translating, waiting, being written)."""
        return sum(len(state.offsets) for state in self._partitions.values())

    async def _poll_once(self) -> None:
        self._room.clear()
        in_flight = self._in_flight()
        metrics.IN_FLIGHT.set(in_flight)
        metrics.TRANSLATING.set(self._translating)
        # Translation concurrency and the records held are bounded apart: a record waiting for
        # the broker's acknowledgement no longer occupies a translation slot.
        capacity = min(
            self.settings.max_in_flight - self._translating,
            self.settings.buffered_limit - in_flight,
        )
        assigned = set(self._partitions)
        paused = assigned if capacity <= 0 else {
            tp for tp, state in self._partitions.items() if state.failing
        }
        seeks, self._pending_seeks = self._pending_seeks, {}
        now = time.monotonic()
        commits = {}
        if now - self._last_commit >= self.settings.commit_interval_s:
            commits = self._due_commits()
            self._last_commit = now
        marks = None
        if now - self._last_lag >= LAG_INTERVAL_S:
            self._last_lag = now
            marks = {tp: self._lag_base(state) for tp, state in self._partitions.items()}
        window_full = capacity <= 0
        batch = await self.call_consumer(
            self._poll_blocking, paused, seeks, commits, max(1, capacity), marks, window_full
        )
        for tp, records in batch.items():
            self._take(tp, records)
        if window_full:
            # Every partition is paused: the poll above only kept the consumer going (commits,
            # rebalances). Take more records as soon as one finishes, not a poll timeout later.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._room.wait(), POLL_TIMEOUT_MS / 1000)

    def _poll_blocking(
        self,
        paused: set[TopicPartition],
        seeks: dict[TopicPartition, int],
        commits: dict[TopicPartition, OffsetAndMetadata],
        max_records: int,
        marks: dict[TopicPartition, int | None] | None,
        window_full: bool = False,
    ) -> dict[TopicPartition, list[InboundRecord]]:
        """On the consumer thread: apply seeks, pause state and commits, then poll (without
        waiting when the in-flight window is full)."""
        consumer = self._consumer
        assignment = consumer.assignment()
        self._rejoin_if_stalled(consumer, assignment)
        for tp, offset in seeks.items():
            if tp in assignment:
                consumer.seek(tp, offset)
                log.warning("kafka partition %s rewound to offset %d", _name(tp), offset)
        currently = consumer.paused()
        to_pause = (paused & assignment) - currently
        to_resume = (currently - paused) & assignment
        if to_pause:
            consumer.pause(*to_pause)
        if to_resume:
            consumer.resume(*to_resume)
        release_parked_fetches(consumer)
        metrics.PAUSED.set(len(paused & assignment))
        if commits:
            self._commit_async(commits)
        if marks is not None:
            self._update_lag(assignment, marks)
        if window_full:
            timeout_ms = 0
        else:
            timeout_ms = POLL_TIMEOUT_MS if assignment else UNASSIGNED_POLL_TIMEOUT_MS
        return consumer.poll(timeout_ms=timeout_ms, max_records=max_records)

    def _rejoin_if_stalled(self, consumer: Any, assignment: set[TopicPartition]) -> None:
        """On the consumer thread: leave and rejoin the group after a long spell without
        partitions (also when the group simply has more members than partitions: then the
        rejoin is a no-op rebalance every UNASSIGNED_REJOIN_S)."""
        if assignment or self.resubscribe is None:
            self._unassigned_since = None
            return
        now = time.monotonic()
        if self._unassigned_since is None:
            self._unassigned_since = now
        elif now - self._unassigned_since >= UNASSIGNED_REJOIN_S:
            log.warning(
                "kafka no partitions assigned for %.0fs; leaving and rejoining the group",
                now - self._unassigned_since,
            )
            consumer.unsubscribe()
            self.resubscribe()
            self._unassigned_since = now

    def _take(self, tp: TopicPartition, records: list[InboundRecord]) -> None:
        if tp in self._pending_seeks:
            # Fetched before a rewind took effect; the seek re-reads them.
            log.debug("dropping %d records of %s fetched before a rewind", len(records), tp)
            return
        state = self._partitions.get(tp)
        if state is None:
            # The consumer only returns records of assigned partitions; if the assignment
            # callback did not reach us in time, take the partition on now (never drop records
            # the consumer's position has already moved past).
            state = self._partitions[tp] = self._start_partition(tp)
        for record in records:
            try:
                state.offsets.take(record.offset)
            except OffsetOrderError as exc:
                log.warning("kafka skipping a re-fetched record of %s: %s", _name(tp), exc)
                continue
            metrics.CONSUMED.labels(tp.topic).inc()
            task = asyncio.create_task(self._outcome(state, record))
            self._translating += 1
            task.add_done_callback(self._translated)
            state.queue.append(_Entry(record, time.monotonic(), task))
            state.idle.clear()
        state.wakeup.set()

    def _translated(self, _task: asyncio.Task[OutboundRecord]) -> None:
        self._translating -= 1
        self._room.set()

    # --- one record: translate (retrying transient faults) or dead-letter ----------------------

    async def _outcome(self, state: _Partition, record: InboundRecord) -> OutboundRecord:
        try:
            return await self._translate_or_dead_letter(state, record)
        except (asyncio.CancelledError, _Abandoned):
            raise
        except Exception as exc:  # a defect must not stall the partition
            log.exception("kafka unexpected failure on record %s", coordinates_id(record))
            return self._dead_letter(record, Fault.of(exc), 1, None)

    async def _translate_or_dead_letter(
        self, state: _Partition, record: InboundRecord
    ) -> OutboundRecord:
        settings = self.settings
        fallback_id = coordinates_id(record)
        try:
            job = decode_record_value(
                record.value, max_bytes=settings.max_record_bytes, record_id=fallback_id
            )
        except Exception as exc:  # every decoding failure is the record's
            return self._dead_letter(record, Fault.of(exc), 1, fallback_id)
        headers = forwardable(_text_headers(record))
        budget = RetryBudget(settings.retry_budget_s)
        attempt = 0
        retrying = False
        try:
            while True:
                attempt += 1
                try:
                    translations = await self._translate_job(job, headers)
                    if len(translations) != len(job.texts):
                        raise ValueError(
                            f"{len(translations)} translations for {len(job.texts)} texts"
                        )
                    return translation_record(settings.output_topic, record, job, translations)
                except Exception as exc:  # classified below
                    fault = Fault.of(exc)
                if not fault.transient:
                    return self._dead_letter(record, fault, attempt, job.id)
                if not retrying:
                    retrying = True
                    state.failing += 1  # pauses the partition until this record gets through
                    self._retrying_changed(+1, fault)
                budget.record_failure()
                metrics.RETRIED.labels(fault.error_class).inc()
                if budget.exhausted():
                    self._fail(record, fault, attempt)
                    raise _Abandoned
                delay = self._backoff.delay(attempt)
                log.debug(
                    "kafka transient fault record=%s attempt=%d error=%s status=%s "
                    "retry_in=%.2fs message=%r", fallback_id, attempt, fault.error_class,
                    fault.status, delay, fault.message,
                )
                await asyncio.sleep(delay)
        finally:
            if retrying:
                state.failing -= 1
                self._retrying_changed(-1, None)

    def _retrying_changed(self, change: int, fault: Fault | None) -> None:
        """Log when records start retrying and when none are left (not every attempt)."""
        before = self._retrying
        self._retrying += change
        if before == 0 and self._retrying > 0 and fault is not None:
            log.warning(
                "kafka transient fault, retrying with backoff (partitions paused) error=%s "
                "status=%s message=%r", fault.error_class, fault.status, fault.message,
            )
        elif before > 0 and self._retrying == 0:
            log.info("kafka retries over: every retried record got through or was released")

    def _dead_letter(
        self, record: InboundRecord, fault: Fault, attempts: int, record_id: str | None
    ) -> OutboundRecord:
        log.warning(
            "kafka dead-lettering record=%s-%d-%d error=%s status=%s message=%r",
            record.topic, record.partition, record.offset, fault.error_class, fault.status,
            fault.message,
        )
        return dead_letter_record(
            self.settings.dead_letter_topic, record, fault, attempts, record_id
        )

    def _fail(self, record: InboundRecord, fault: Fault, attempts: int) -> None:
        if self._failure is None:
            self._failure = IngestionFailed(
                f"record {coordinates_id(record)} still failing after {attempts} attempts over "
                f"the {self.settings.retry_budget_s:g}s retry budget: {fault.message}"
            )
            log.error("kafka ingestion stopping: %s", self._failure)
        self._stop.set()

    # --- writing, in offset order per partition -----------------------------------------------

    async def _emit(self, state: _Partition) -> None:
        assert self._loop is not None
        while state.active:
            if not state.queue:
                state.wakeup.clear()
                await state.wakeup.wait()
                continue
            try:
                await state.queue[0].task
            except (asyncio.CancelledError, _Abandoned):
                return  # the partition span was abandoned, or ingestion is stopping
            if not state.active:
                return
            # The head is done: send it with every finished record right behind it at once.
            ready: list[tuple[_Entry, OutboundRecord]] = []
            while state.queue and _succeeded(state.queue[0].task):
                entry = state.queue.popleft()
                ready.append((entry, entry.task.result()))
            await self._send(state, ready)

    async def _send(self, state: _Partition, ready: list[tuple[_Entry, OutboundRecord]]) -> None:
        """Hand `ready` to the producer in order, in one hop to the send thread. A record the
        producer refuses stops the run: it is handled, and the records after it go back to
        the head of the queue (sent next, unless the partition was rewound)."""
        assert self._loop is not None
        loop = self._loop

        def send_in_order() -> tuple[list[Any], BaseException | None]:
            futures: list[Any] = []
            for _, outbound in ready:
                if not state.active:
                    break
                try:
                    futures.append(self._producer.send(
                        outbound.topic, value=outbound.value, key=outbound.key,
                        headers=outbound.headers,
                    ))
                except Exception as exc:  # send() raises for unsendable records
                    return futures, exc
            return futures, None

        futures, refused = await loop.run_in_executor(self._send_thread, send_in_order)
        for (entry, outbound), future in zip(ready, futures, strict=False):
            future.add_callback(
                lambda _metadata, e=entry, o=outbound: loop.call_soon_threadsafe(
                    self._acked, state, e, o
                )
            )
            future.add_errback(
                lambda exc, e=entry, o=outbound: loop.call_soon_threadsafe(
                    self._send_failed, state, e, o, exc
                )
            )
        if refused is None:
            return
        entry, outbound = ready[len(futures)]
        self._send_failed(state, entry, outbound, refused)
        if state.active:
            state.queue.extendleft(entry for entry, _ in reversed(ready[len(futures) + 1 :]))

    def _acked(self, state: _Partition, entry: _Entry, outbound: OutboundRecord) -> None:
        state.offsets.done(entry.record.offset)
        self._room.set()
        if outbound.topic == self.settings.output_topic:
            metrics.PRODUCED.labels(outbound.topic).inc()
        else:
            error_class = next(
                (v.decode() for k, v in outbound.headers if k == "argos.error.class"), "unknown"
            )
            metrics.DEAD_LETTERED.labels(outbound.topic, error_class).inc()
        metrics.LATENCY.observe(time.monotonic() - entry.taken_at)
        if state.active and not state.offsets:
            state.idle.set()

    def _send_failed(
        self, state: _Partition, entry: _Entry, outbound: OutboundRecord, exc: BaseException
    ) -> None:
        record = entry.record
        if outbound.topic == self.settings.output_topic and isinstance(exc, _UNSENDABLE):
            # The translation itself cannot be written (too large for the broker): that is
            # permanent, so the input goes to the dead-letter topic instead.
            message = (
                f"the output record ({len(outbound.value or b'')} bytes of value) is larger "
                f"than topic {outbound.topic} accepts: {exc}"
            )
            fault = Fault(False, "output_too_large", message, 413, type(exc).__name__)
            dead = self._dead_letter(record, fault, 1, header(outbound.headers, HEADER_ID))
            self._loop.create_task(self._send(state, [(entry, dead)]))  # type: ignore[union-attr]
            return
        log.error(
            "kafka write to %s failed for record %s-%d-%d: %s; rewinding the partition",
            outbound.topic, record.topic, record.partition, record.offset, exc,
        )
        self._rewind(state)

    def _rewind(self, state: _Partition) -> None:
        """Re-read the partition from its done mark: nothing after it is committed or lost."""
        if not state.active:
            return
        position = state.offsets.commit_position()
        if position is None:
            position = state.offsets.first_pending()
        tp = state.tp
        self._deactivate(state)
        metrics.REWOUND.labels(tp.topic).inc()
        self._partitions[tp] = self._start_partition(tp, committed=state.committed)
        if position is not None:
            self._pending_seeks[tp] = position

    # --- committing ------------------------------------------------------------------------------

    def _due_commits(self) -> dict[TopicPartition, OffsetAndMetadata]:
        offsets = {}
        for tp, state in self._partitions.items():
            mark = state.offsets.commit_position()
            if mark is not None and mark != state.committed:
                offsets[tp] = OffsetAndMetadata(mark, "", -1)
                state.committed = mark
        return offsets

    def _commit_async(self, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        loop = self._loop
        assert loop is not None

        def done(_offsets: Any, response: Any) -> None:
            if isinstance(response, BaseException):
                failed(response)
            else:
                metrics.COMMITS.inc()
                if self._commit_failing:
                    self._commit_failing = False
                    log.info("kafka offset commits succeed again")

        def failed(exc: BaseException) -> None:
            if not self._commit_failing:  # once per outage, not once per attempt
                self._commit_failing = True
                log.warning("kafka offset commit failed (retrying until it succeeds): %s", exc)
            loop.call_soon_threadsafe(self._forget_commits, offsets)

        try:
            self._consumer.commit_async(offsets, callback=done)
        except KafkaError as exc:
            failed(exc)

    def _forget_commits(self, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        for tp, meta in offsets.items():
            state = self._partitions.get(tp)
            if state is not None and state.committed == meta.offset:
                state.committed = None

    # --- lag ----------------------------------------------------------------------------------

    @staticmethod
    def _lag_base(state: _Partition) -> int | None:
        mark = state.offsets.commit_position()
        return mark if mark is not None else state.offsets.first_pending()

    def _update_lag(
        self, assignment: set[TopicPartition], marks: dict[TopicPartition, int | None]
    ) -> None:
        for tp in assignment:
            base = marks.get(tp)
            highwater = self._consumer.highwater(tp)
            if base is None or highwater is None:
                continue
            metrics.LAG.labels(tp.topic, str(tp.partition)).set(max(0, highwater - base))

    # --- shutdown -----------------------------------------------------------------------------

    async def _drain(self, timeout_s: float) -> None:
        """Finish in-flight records (bounded), then commit their done marks."""
        states = list(self._partitions.values())
        in_flight = self._in_flight()
        log.info("kafka draining in_flight=%d timeout=%.1fs", in_flight, timeout_s)
        finished = await self._wait_idle(states, timeout_s)
        commits = self._due_commits()
        if commits:
            try:
                await self.call_consumer(self._commit_sync, commits)
            except Exception as exc:  # the next owner re-reads from the last commit
                log.error("kafka final offset commit failed: %s", exc)
        log.info(
            "kafka drained finished=%s abandoned=%d committed=%s",
            finished, self._in_flight(),
            _offsets(commits),
        )

    def _commit_sync(self, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        self._consumer.commit(offsets, timeout_ms=10_000)
        metrics.COMMITS.inc()

    async def _wait_idle(self, states: list[_Partition], timeout_s: float) -> bool:
        waits = [asyncio.create_task(state.idle.wait()) for state in states if state.active]
        if not waits:
            return True
        _, pending = await asyncio.wait(waits, timeout=timeout_s)
        for task in pending:
            task.cancel()
        return not pending


def _succeeded(task: asyncio.Task[OutboundRecord]) -> bool:
    return task.done() and not task.cancelled() and task.exception() is None


def _text_headers(record: InboundRecord) -> dict[str, str]:
    headers = {}
    for name, value in record.headers or ():
        if value is not None:
            headers[name] = value.decode("utf-8", "replace")
    return headers


def _name(tp: TopicPartition) -> str:
    return f"{tp.topic}-{tp.partition}"


def _names(partitions: Iterable[TopicPartition]) -> str:
    return ",".join(sorted(_name(tp) for tp in partitions)) or "none"


def _offsets(offsets: Mapping[TopicPartition, OffsetAndMetadata]) -> str:
    return ",".join(f"{_name(tp)}@{meta.offset}" for tp, meta in offsets.items()) or "nothing"
