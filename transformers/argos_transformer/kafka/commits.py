"""The commit step: how the group's position moves past finished records. It is the one step
where the two processing guarantees differ; the rest of the delivery loop is shared.

At least once (`OffsetCommits`). A record is finished when the broker acknowledged its output or
dead-letter record; each partition's contiguous done mark is committed with the consumer every
commit interval, on revocation and at the end. A failed write rewinds its partition to the done
mark: after a crash or a rewind some records are written twice (with the same id).

Exactly once (`TransactionalCommits`). Outputs and dead letters are written in a transaction of
the member's transactional producer. Every commit interval the transaction is closed on the send
thread: flushed, the offsets after what it holds sent to it with the consumer's group metadata,
and committed. So a `read_committed` reader sees each input's output (or dead letter) exactly
once, and the group resumes exactly after it. Fencing: the broker refuses the offsets of a
member whose generation is stale (KIP-447: a zombie after a rebalance), and the transactional id
fences an earlier producer with the same id (a restarted container). A failed write aborts the
transaction; every partition it touched is re-read from its last committed position. The
predictor call itself is not part of any transaction: an aborted record is translated again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

from kafka.errors import (
    ClusterAuthorizationFailedError,
    InvalidTxnStateError,
    KafkaError,
    ProducerFencedError,
    TransactionalIdAuthorizationFailedError,
)
from kafka.structs import OffsetAndMetadata, TopicPartition

from argos_transformer.kafka import metrics
from argos_transformer.kafka.clients import ClientThreads, Consumer, Producer
from argos_transformer.kafka.outcome import IngestionFailed
from argos_transformer.kafka.partitions import PartitionState, PartitionTable, offsets_text
from argos_transformer.kafka.settings import KafkaSettings

log = logging.getLogger("argos_transformer.kafka")

Offsets = dict[TopicPartition, OffsetAndMetadata]
# Errors after which the transactional producer cannot be used again.
_FATAL = (
    ProducerFencedError,
    InvalidTxnStateError,
    TransactionalIdAuthorizationFailedError,
    ClusterAuthorizationFailedError,
)
# Producers replaced in a row without a committed transaction before ingestion gives up.
MAX_PRODUCER_RESETS = 3


class CommitStep(ABC):
    """What the delivery loop and the writer ask of a processing guarantee."""

    exactly_once: bool

    def __init__(
        self,
        settings: KafkaSettings,
        threads: ClientThreads,
        consumer: Consumer,
        producer: Producer,
        partitions: PartitionTable,
    ) -> None:
        self.settings = settings
        self.threads = threads
        self.consumer = consumer
        self.producer = producer
        self.partitions = partitions
        self._last = time.monotonic()
        self._background: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run `work` on the loop without waiting for it (a reference keeps it alive)."""
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def interval_passed(self) -> bool:
        now = time.monotonic()
        if now - self._last < self.settings.commit_interval_s:
            return False
        self._last = now
        return True

    @abstractmethod
    def resume_position(self, state: PartitionState) -> int | None:
        """Where the group would resume reading the partition if this member stopped now."""

    @abstractmethod
    def due(self) -> None:
        """Called on every turn of the delivery loop: commit when the interval has passed."""

    @abstractmethod
    async def release(self, states: list[PartitionState], lost: bool) -> Offsets:
        """The partitions are revoked (or lost): make durable what is finished. Returns the
        offsets the rebalance listener must still commit."""

    @abstractmethod
    async def finish(self, states: list[PartitionState]) -> Offsets:
        """Ingestion stops: commit what is finished; returns what was committed."""

    @abstractmethod
    def write_failed(self, state: PartitionState, topic: str, exc: BaseException) -> None:
        """On the loop: a write of the span to `topic` failed (what follows it is unsent)."""

    # --- on the send thread ---------------------------------------------------------------------

    def before_send(self) -> None:  # noqa: B027 - only transactions need it
        """Called before each run of sends."""

    def sent(self, state: PartitionState, offset: int, future: Any) -> None:  # noqa: B027
        """The output or dead letter of `offset` was handed to the producer."""

    def rewind(self, state: PartitionState) -> None:
        self.partitions.rewind(state, self.resume_position(state))


class OffsetCommits(CommitStep):
    """At least once: commit each partition's contiguous done mark with the consumer."""

    exactly_once = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._failing = False  # commits failing (logged once per outage)

    def resume_position(self, state: PartitionState) -> int | None:
        for position in (state.offsets.commit_position(), state.offsets.first_pending()):
            if position is not None:
                return position
        return state.committed

    def _due_marks(self, states: Iterable[PartitionState]) -> Offsets:
        offsets = {}
        for state in states:
            mark = state.offsets.commit_position()
            if mark is not None and mark != state.committed:
                offsets[state.tp] = OffsetAndMetadata(mark, "", -1)
                state.committed = mark
        return offsets

    def due(self) -> None:
        if not self.interval_passed():
            return
        offsets = self._due_marks(self.partitions)
        if offsets:
            loop = asyncio.get_running_loop()
            self.spawn(self.threads.on_consumer(self._commit_async, offsets, loop))

    def _commit_async(self, offsets: Offsets, loop: asyncio.AbstractEventLoop) -> None:
        """On the consumer thread; the outcome comes back on the loop."""

        def done(_offsets: Any, response: Any) -> None:
            if isinstance(response, BaseException):
                failed(response)
            else:
                metrics.COMMITS.inc()
                if self._failing:
                    self._failing = False
                    log.info("kafka offset commits succeed again")

        def failed(exc: BaseException) -> None:
            if not self._failing:  # once per outage, not once per attempt
                self._failing = True
                log.warning("kafka offset commit failed (retrying until it succeeds): %s", exc)
            loop.call_soon_threadsafe(self._forget_commits, offsets)

        try:
            self.consumer.commit_async(offsets, callback=done)
        except KafkaError as exc:
            failed(exc)

    def _forget_commits(self, offsets: Offsets) -> None:
        """A commit failed: send those marks again with the next one."""
        for tp, meta in offsets.items():
            state = self.partitions.get(tp)
            if state is not None and state.committed == meta.offset:
                state.committed = None

    async def release(self, states: list[PartitionState], lost: bool) -> Offsets:
        if lost:  # no longer ours: the group refuses our commits
            return {}
        offsets = {}
        for state in states:
            mark = state.offsets.commit_position()
            if mark is not None:  # even if sent before: that commit may have failed
                offsets[state.tp] = OffsetAndMetadata(mark, "", -1)
        return offsets

    async def finish(self, states: list[PartitionState]) -> Offsets:
        offsets = self._due_marks(states)
        if offsets:
            try:
                await self.threads.on_consumer(self._commit_sync, offsets)
            except Exception as exc:  # the next owner re-reads from the last commit
                log.error("kafka final offset commit failed: %s", exc)
                return {}
        return offsets

    def _commit_sync(self, offsets: Offsets) -> None:
        self.consumer.commit(offsets, timeout_ms=10_000)
        metrics.COMMITS.inc()

    def write_failed(self, state: PartitionState, topic: str, exc: BaseException) -> None:
        log.error(
            "kafka write to %s failed for %s-%d: %s; rewinding the partition to its done mark",
            topic, state.tp.topic, state.tp.partition, exc,
        )
        self.rewind(state)


@dataclass
class _Closed:
    """What closing one transaction did (computed on the send thread)."""

    committed: dict[PartitionState, int] = field(default_factory=dict)  # span -> new position
    touched: list[PartitionState] = field(default_factory=list)  # spans with records in it
    error: BaseException | None = None
    fatal: bool = False


class TransactionalCommits(CommitStep):
    """Exactly once: one transaction per commit interval holds the outputs, the dead letters
    and the offsets of the records they answer."""

    exactly_once = True

    def __init__(
        self, *args: Any, new_producer: Callable[[], Producer],
        on_failure: Callable[[IngestionFailed], None], **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._new_producer = new_producer
        self._on_failure = on_failure
        # Send-thread state: whether a transaction is open, and the last offset each span
        # handed to it (a span's sends are in offset order, each taken record exactly once).
        self._open = False
        self._ledger: dict[PartitionState, int] = {}
        self._futures: list[Any] = []
        # Loop state.
        self._closing = asyncio.Lock()  # one transaction closed at a time
        self._close_now = False
        self._failed_spans: set[PartitionState] = set()
        self._resets = 0

    def resume_position(self, state: PartitionState) -> int | None:
        return state.committed if state.committed is not None else state.offsets.first_taken

    # --- send thread ----------------------------------------------------------------------------

    def before_send(self) -> None:
        if not self._open:
            self.producer.begin_transaction()
            self._open = True

    def sent(self, state: PartitionState, offset: int, future: Any) -> None:
        self._ledger[state] = offset
        self._futures.append(future)

    def _close_transaction(self) -> _Closed:
        """On the send thread: commit the open transaction, or abort it if any of its writes
        failed or the broker refuses its offsets."""
        if not self._open:
            return _Closed()
        ledger, futures = self._ledger, self._futures
        self._ledger, self._futures = {}, []
        self._open = False
        closed = _Closed(touched=list(ledger))
        try:
            self.producer.flush()
            failed = next((f for f in futures if f.failed()), None)
            if failed is not None:
                raise failed.exception
            offsets: Offsets = {}
            for state, last in ledger.items():
                known = offsets.get(state.tp)
                if known is None or known.offset < last + 1:
                    offsets[state.tp] = OffsetAndMetadata(last + 1, "", -1)
            self.producer.send_offsets_to_transaction(offsets, self.consumer.group_metadata())
            self.producer.commit_transaction()
            closed.committed = {state: last + 1 for state, last in ledger.items()}
            return closed
        except Exception as exc:  # abort below; the spans re-read what the transaction held
            closed.error = exc
        for state in ledger:
            state.sendable = False  # queued runs of these spans must not reach the next one
        if isinstance(closed.error, _FATAL):
            closed.fatal = True
            return closed
        try:
            self.producer.abort_transaction()
        except Exception as exc:
            log.error("kafka transaction abort failed: %r", exc)
            closed.fatal = True
        return closed

    def _replace_producer(self) -> None:
        """On the send thread: a producer in a fatal state is closed and a new one (same
        transactional id, so the old epoch is fenced) takes its place."""
        try:
            self.producer.close(timeout=0)
        except Exception as exc:  # it is being replaced anyway
            log.debug("closing the failed producer: %r", exc)
        self.producer = self._new_producer()

    # --- loop ------------------------------------------------------------------------------------

    def due(self) -> None:
        if self._closing.locked():
            return
        if self._close_now or self.interval_passed():
            self._close_now = False
            self.spawn(self.close_transaction())

    async def close_transaction(self) -> None:
        """Close the open transaction now (after the one being closed, if any)."""
        async with self._closing:
            closed = await self.threads.on_sender(self._close_transaction)
            for state, position in closed.committed.items():
                state.committed = position
            if closed.committed:
                metrics.TRANSACTIONS.labels("committed").inc()
                metrics.COMMITS.inc()
                self._resets = 0
            to_rewind, self._failed_spans = self._failed_spans, set()
            if closed.error is not None:
                self._aborted(closed)
                to_rewind.update(closed.touched)
            for state in to_rewind:
                self.rewind(state)

    def _aborted(self, closed: _Closed) -> None:
        outcome = "fatal" if closed.fatal else "aborted"
        metrics.TRANSACTIONS.labels(outcome).inc()
        log.warning(
            "kafka transaction %s (%r); re-reading %d partition span(s) from their last "
            "committed position", outcome, closed.error, len(closed.touched),
        )
        if closed.fatal:
            self._resets += 1
            if self._resets > MAX_PRODUCER_RESETS:
                self._on_failure(IngestionFailed(
                    f"the transactional producer failed {self._resets} times in a row: "
                    f"{closed.error!r}"
                ))
                return
            self.spawn(self._reset_producer())

    async def _reset_producer(self) -> None:
        try:
            await self.threads.on_sender(self._replace_producer)
            log.info("kafka transactional producer replaced")
        except Exception as exc:
            self._on_failure(IngestionFailed(f"no new transactional producer: {exc!r}"))

    def write_failed(self, state: PartitionState, topic: str, exc: BaseException) -> None:
        """Close the transaction now: it commits what the span handed over before the failure
        (or aborts, if a write already in it failed); the span then re-reads from there."""
        log.warning(
            "kafka write to %s failed for %s-%d: %r; closing the transaction",
            topic, state.tp.topic, state.tp.partition, exc,
        )
        state.sendable = False
        self._failed_spans.add(state)
        self._close_now = True
        self.due()

    async def release(self, states: list[PartitionState], lost: bool) -> Offsets:
        for state in states:
            state.deactivate()  # nothing more of theirs joins the transaction
        await self.close_transaction()  # (a lost member's offsets are refused: it aborts)
        log.info("kafka partitions released at %s", offsets_text({
            state.tp: OffsetAndMetadata(state.committed, "", -1)
            for state in states if state.committed is not None
        }))
        return {}

    async def finish(self, states: list[PartitionState]) -> Offsets:
        for state in states:
            state.deactivate()
        await self.close_transaction()
        return {
            state.tp: OffsetAndMetadata(state.committed, "", -1)
            for state in states if state.committed is not None
        }
