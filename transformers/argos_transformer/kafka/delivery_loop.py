"""The delivery loop: poll, decide each record's outcome, write in order, commit.

One asyncio loop (the bridge's thread) runs it, so its state needs no locks; the Kafka clients
are used from their own threads (`clients`). The steps, each in its own module:

- `partitions`: the state of each assigned partition span;
- `outcome`: a record's translation (retrying transient faults) or dead letter;
- `writer`: outcomes handed to the producer in offset order per partition;
- `commits`: how the group's position moves past finished records: offset commits (at least
  once) or transactions (exactly once).

Backpressure: at most `max_in_flight` records are being translated and `max_buffered` held until
written; beyond that every partition is paused, and the consumer keeps polling (heartbeats,
commits, rebalances) without waiting. A partition with a record in retry stays paused.

Rebalance: revoked partitions get a short grace to finish their records, then what is finished is
made durable (the commit step) and the rest is abandoned: the new owner reads it again.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition

from argos_transformer.kafka import metrics
from argos_transformer.kafka.clients import ClientThreads, Consumer, Producer, new_admin
from argos_transformer.kafka.commits import CommitStep, OffsetCommits, TransactionalCommits
from argos_transformer.kafka.compat import (
    close_producer,
    release_parked_fetches,
    resolved_on_io_loop,
)
from argos_transformer.kafka.offsets import OffsetOrderError
from argos_transformer.kafka.outbound import InboundRecord
from argos_transformer.kafka.outcome import IngestionFailed, RecordOutcomes, TranslateJob
from argos_transformer.kafka.partitions import (
    PartitionTable,
    Taken,
    name,
    names,
    offsets_text,
    wait_idle,
)
from argos_transformer.kafka.retry import Backoff
from argos_transformer.kafka.settings import KafkaSettings
from argos_transformer.kafka.topic_limits import TopicLimits
from argos_transformer.kafka.writer import OrderedWriter

log = logging.getLogger("argos_transformer.kafka")

POLL_TIMEOUT_MS = 100
LAG_INTERVAL_S = 1.0
REVOKE_GRACE_S = 2.0


class DeliveryLoop:
    """Runs until `request_stop()`, then drains; `run()` returns once everything is closed.
    It owns the clients it is given."""

    def __init__(
        self,
        settings: KafkaSettings,
        consumer: Consumer,
        producer: Producer,
        translate_job: TranslateJob,
        *,
        new_producer: Callable[[], Producer] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.settings = settings
        self._consumer = consumer
        self._threads = ClientThreads()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = asyncio.Event()
        self._room = asyncio.Event()  # set whenever a record is translated or acknowledged
        self._translating = 0  # records whose translation (or dead-letter decision) runs
        self._failure: IngestionFailed | None = None
        self._last_lag = 0.0
        self._outcomes = RecordOutcomes(settings, translate_job, self._fail, backoff)
        self._partitions = PartitionTable(lambda state: self._writer.start(state))
        step_args = (settings, self._threads, consumer, producer, self._partitions)
        self._commits: CommitStep
        if settings.exactly_once:
            if new_producer is None:
                raise ValueError("exactly once needs a way to replace a fenced producer")
            self._commits = TransactionalCommits(
                *step_args, new_producer=new_producer, on_failure=self._fail
            )
        else:
            self._commits = OffsetCommits(*step_args)
        limits = TopicLimits(lambda: new_admin(settings))
        self._writer = OrderedWriter(settings, self._commits, self._outcomes, limits, self._room)

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def failure(self) -> IngestionFailed | None:
        return self._failure

    def request_stop(self) -> None:
        """Stop polling and drain. Safe from any thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)

    def _fail(self, failure: IngestionFailed) -> None:
        if self._failure is None:
            self._failure = failure
            log.error("kafka ingestion stopping: %s", failure)
        self._stop.set()

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        settings = self.settings
        log.info(
            "kafka ingestion started topics=%s output=%s dlq=%s group=%s guarantee=%s "
            "max_in_flight=%d max_buffered=%d",
            ",".join(settings.input_topics), settings.output_topic, settings.dead_letter_topic,
            settings.group_id, settings.processing_guarantee, settings.max_in_flight,
            settings.buffered_limit,
        )
        try:
            while not self._stop.is_set():
                try:
                    await self._poll_once()
                except KafkaError as exc:
                    log.warning("kafka poll failed (retrying in 1s): %r", exc)
                    await asyncio.sleep(1.0)
            await self._drain(settings.drain_timeout_s)
        finally:
            self._partitions.clear()
            await self._close_clients()
            self._threads.shutdown()
            metrics.IN_FLIGHT.set(0)
            metrics.TRANSLATING.set(0)
            metrics.PAUSED.set(0)

    async def _close_clients(self) -> None:
        """Leave the group (the revoke listener runs while this loop still answers it) and
        flush the producer."""
        try:
            await self._threads.on_consumer(lambda: self._consumer.close(autocommit=False))
        except Exception as exc:  # closing is best effort; offsets are committed
            log.warning("kafka consumer close failed: %r", exc)
        try:
            await self._threads.on_sender(lambda: close_producer(self._commits.producer, 10))
        except Exception as exc:
            log.warning("kafka producer close failed: %r", exc)

    # --- rebalance: the bridge's listener hands these to the loop -----------------------------

    def on_loop(self, consumer: Any, work: Callable[[], Awaitable[Any]], default: Any) -> Any:
        """From a rebalance listener (kafka-python's IO thread): run `work` on this loop and
        return a future the listener awaits (without blocking the IO loop)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return resolved_on_io_loop(consumer, _done(default))
        return resolved_on_io_loop(consumer, asyncio.run_coroutine_threadsafe(work(), loop))

    async def partitions_assigned(self, partitions: Iterable[TopicPartition]) -> None:
        partitions = set(partitions)
        for tp in partitions:
            if tp not in self._partitions:
                self._partitions.start(tp)
        metrics.REBALANCE_EVENTS.labels("assigned").inc()
        log.info("kafka partitions assigned %s", names(partitions))

    async def partitions_revoked(
        self, partitions: Iterable[TopicPartition], lost: bool = False
    ) -> dict[TopicPartition, OffsetAndMetadata]:
        """Finish (briefly) or abandon the partitions' records and make what is finished
        durable; returns the offsets the listener still has to commit."""
        partitions = set(partitions)
        states = [state for state in self._partitions if state.tp in partitions]
        if states and not lost:
            await wait_idle(states, REVOKE_GRACE_S)
        offsets = await self._commits.release(states, lost)
        for state in states:
            self._partitions.forget(state)
        metrics.REBALANCE_EVENTS.labels("lost" if lost else "revoked").inc()
        log.info(
            "kafka partitions %s %s, committing %s",
            names(partitions), "lost" if lost else "revoked", offsets_text(offsets),
        )
        return offsets

    # --- polling --------------------------------------------------------------------------------

    async def _poll_once(self) -> None:
        self._room.clear()
        in_flight = self._partitions.in_flight()
        metrics.IN_FLIGHT.set(in_flight)
        metrics.TRANSLATING.set(self._translating)
        # Translation concurrency and the records held are bounded apart: a record waiting for
        # the broker's acknowledgement no longer occupies a translation slot.
        capacity = min(
            self.settings.max_in_flight - self._translating,
            self.settings.buffered_limit - in_flight,
        )
        window_full = capacity <= 0
        paused = self._partitions.partitions() if window_full else {
            state.tp for state in self._partitions if state.retrying
        }
        self._commits.due(idle=in_flight == 0)
        marks = None
        now = time.monotonic()
        if now - self._last_lag >= LAG_INTERVAL_S:
            self._last_lag = now
            marks = {state.tp: self._commits.resume_position(state) for state in self._partitions}
        batch = await self._threads.on_consumer(
            self._poll_blocking, paused, self._partitions.take_seeks(), max(1, capacity), marks,
            window_full,
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
        max_records: int,
        marks: dict[TopicPartition, int | None] | None,
        window_full: bool,
    ) -> dict[TopicPartition, list[InboundRecord]]:
        """On the consumer thread: apply seeks and pause state, then poll (without waiting
        when the in-flight window is full)."""
        consumer = self._consumer
        assignment = consumer.assignment()
        for tp, offset in seeks.items():
            if tp in assignment:
                consumer.seek(tp, offset)
                log.warning("kafka partition %s rewound to offset %d", name(tp), offset)
        currently = consumer.paused()
        to_pause = (paused & assignment) - currently
        to_resume = (currently - paused) & assignment
        if to_pause:
            consumer.pause(*to_pause)
        if to_resume:
            consumer.resume(*to_resume)
        release_parked_fetches(consumer)
        metrics.PAUSED.set(len(paused & assignment))
        if marks is not None:
            self._update_lag(assignment, marks)
        return consumer.poll(
            timeout_ms=0 if window_full else POLL_TIMEOUT_MS, max_records=max_records
        )

    def _take(self, tp: TopicPartition, records: list[InboundRecord]) -> None:
        if tp in self._partitions.pending_seeks:
            # Fetched before a rewind took effect; the seek re-reads them.
            log.debug("dropping %d records of %s fetched before a rewind", len(records), tp)
            return
        state = self._partitions.get(tp)
        if state is None:
            # The consumer only returns records of assigned partitions; if the assignment
            # callback did not reach us in time, take the partition on now (never drop records
            # the consumer's position has already moved past).
            state = self._partitions.start(tp)
        for record in records:
            try:
                state.offsets.take(record.offset)
            except OffsetOrderError as exc:
                log.warning("kafka skipping a re-fetched record of %s: %s", name(tp), exc)
                continue
            metrics.CONSUMED.labels(tp.topic).inc()
            task = asyncio.create_task(self._outcomes.outcome(state, record))
            self._translating += 1
            task.add_done_callback(self._translated)
            state.queue.append(Taken(record, time.monotonic(), task))
            state.idle.clear()
        state.wakeup.set()

    def _translated(self, _task: asyncio.Task[Any]) -> None:
        self._translating -= 1
        self._room.set()

    # --- lag ----------------------------------------------------------------------------------

    def _update_lag(
        self, assignment: set[TopicPartition], marks: dict[TopicPartition, int | None]
    ) -> None:
        """On the consumer thread: records after the position the group would resume from."""
        for tp in assignment:
            base = marks.get(tp)
            highwater = self._consumer.highwater(tp)
            if base is None or highwater is None:
                continue
            metrics.LAG.labels(tp.topic, str(tp.partition)).set(max(0, highwater - base))

    # --- shutdown -----------------------------------------------------------------------------

    async def _drain(self, timeout_s: float) -> None:
        """Finish in-flight records (bounded), then make what is finished durable."""
        states = list(self._partitions)
        log.info(
            "kafka draining in_flight=%d timeout=%.1fs", self._partitions.in_flight(), timeout_s
        )
        finished = await wait_idle(states, timeout_s)
        abandoned = self._partitions.in_flight()
        committed = await self._commits.finish(states)
        log.info(
            "kafka drained finished=%s abandoned=%d committed=%s",
            finished, abandoned, offsets_text(committed),
        )


def _done(value: Any) -> concurrent.futures.Future[Any]:
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()
    future.set_result(value)
    return future
