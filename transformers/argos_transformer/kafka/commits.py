"""The commit step: how the group's position moves past finished records. It is the one step
where the two processing guarantees differ; the rest of the delivery loop is shared.

At least once (`OffsetCommits`). A record is finished when the broker acknowledged its output or
dead-letter record; each partition's contiguous done mark is committed with the consumer every
commit interval, on revocation and at the end. A failed write rewinds its partition to the done
mark: after a crash or a rewind some records are written twice (with the same id).

Exactly once (`TransactionalCommits`). Outputs and dead letters are written in a transaction of
the member's transactional producer. Every commit interval, and as soon as every record taken is
written, the transaction is closed on the send thread: flushed, the offsets after what it holds
sent to it with the consumer's group metadata, and committed. So a `read_committed` reader sees
each input's output (or dead letter) exactly once, and the group resumes exactly after it.
Fencing: the broker refuses the offsets of a member whose generation is stale (KIP-447: a zombie
after a rebalance), and the transactional id fences an earlier producer with the same id (a
restarted container). A transaction that cannot be committed (a write the broker refused,
offsets it fenced) is aborted by replacing the producer, and every partition it touched is
re-read from its last committed position. The predictor call itself is not part of any
transaction: an aborted record is translated again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

from kafka.errors import (
    KafkaError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    UnknownError,
)
from kafka.structs import OffsetAndMetadata, TopicPartition

from argos_transformer.kafka import metrics
from argos_transformer.kafka.clients import ClientThreads, Consumer, Producer
from argos_transformer.kafka.compat import close_producer, commit_within, send_offsets_within
from argos_transformer.kafka.outbound import InboundRecord, OutboundRecord
from argos_transformer.kafka.outcome import IngestionFailed
from argos_transformer.kafka.partitions import PartitionState, PartitionTable
from argos_transformer.kafka.settings import KafkaSettings
from argos_transformer.kafka.topic_limits import batch_size

log = logging.getLogger("argos_transformer.kafka")

Offsets = dict[TopicPartition, OffsetAndMetadata]
Coordinates = tuple[str, int, int]  # an input record's topic, partition, offset
# Errors a producer reports for a record the broker will never take, however often it is sent.
UNSENDABLE = (MessageSizeTooLargeError, RecordListTooLargeError)
# Failed attempts in a row at a new transactional producer before ingestion gives up.
MAX_PRODUCER_RESETS = 6


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
    def due(self, idle: bool = False) -> None:
        """Called on every turn of the delivery loop: commit when the interval has passed.
        `idle`: every record taken so far is written and acknowledged."""

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

    def rewind(self, state: PartitionState) -> None:
        self.partitions.rewind(state, self.resume_position(state))

    # --- on the send thread ---------------------------------------------------------------------

    def before_send(self) -> None:  # noqa: B027 - only transactions need it
        """Called before each run of sends."""

    def sent(  # noqa: B027
        self, state: PartitionState, record: InboundRecord, outbound: OutboundRecord, future: Any
    ) -> None:
        """The output or dead letter of `record` was handed to the producer."""


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

    def due(self, idle: bool = False) -> None:
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
    oversized: Coordinates | None = None  # the input whose translation the broker refused


@dataclass(frozen=True)
class _Write:
    future: Any
    outbound: OutboundRecord
    coordinates: Coordinates


class TransactionalCommits(CommitStep):
    """Exactly once: one transaction per commit interval holds the outputs, the dead letters
    and the offsets of the records they answer.

    A transaction that cannot be committed is never reused: its producer is replaced by a new
    one with the same transactional id, whose initialisation fences the old one and aborts the
    transaction (kafka-python 3.0.12's producer is not reliable after abort_transaction(): its
    next transaction can fail on sequence numbers and stall until the delivery timeout)."""

    exactly_once = True

    def __init__(
        self, *args: Any, new_producer: Callable[[], Producer],
        on_failure: Callable[[IngestionFailed], None], **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._new_producer = new_producer
        self._on_failure = on_failure
        # Send-thread state: whether a transaction is open, the last offset each span handed
        # to it (a span's sends are in offset order, each taken record exactly once), its
        # writes, and whether the producer still has to be replaced.
        self._open = False
        self._ledger: dict[PartitionState, int] = {}
        self._writes: list[_Write] = []
        self._broken = False
        # Told which input's translation the broker refused as too large (the writer then
        # dead-letters it when it is read again).
        self.oversized: Callable[[Coordinates], None] = lambda _coordinates: None
        # Loop state.
        self._closing = asyncio.Lock()  # one transaction closed at a time
        self._close_now = False
        self._failed_spans: set[PartitionState] = set()
        self._replacements_failed = 0

    def resume_position(self, state: PartitionState) -> int | None:
        return state.committed if state.committed is not None else state.offsets.first_taken

    # --- send thread ----------------------------------------------------------------------------

    def before_send(self) -> None:
        if self._broken:
            raise KafkaError("the transactional producer is being replaced")
        if not self._open:
            self.producer.begin_transaction()
            self._open = True

    def sent(
        self, state: PartitionState, record: InboundRecord, outbound: OutboundRecord, future: Any
    ) -> None:
        self._ledger[state] = record.offset
        coordinates = (record.topic, record.partition, record.offset)
        self._writes.append(_Write(future, outbound, coordinates))

    def _close_transaction(self) -> _Closed:
        """On the send thread: commit the open transaction; if that fails, the spans it touched
        may hand nothing more to it and the producer is replaced (which aborts it)."""
        ledger, writes = self._ledger, self._writes
        self._ledger, self._writes = {}, []
        closed = _Closed(touched=list(ledger))
        if self._open and not self._broken:
            try:
                self._commit(ledger, writes, closed)
            except Exception as exc:  # the spans re-read what the transaction held
                closed.error = exc
        self._open = False
        if closed.error is None and not self._broken:
            return closed
        for state in ledger:
            state.sendable = False  # queued runs of these spans must not reach the next one
        try:
            self._replace_producer()
            self._broken = False
        except Exception as exc:  # tried again at the next close
            self._broken = True
            closed.fatal = True
            closed.error = closed.error or exc
            log.error("kafka no new transactional producer (retrying): %r", exc)
        return closed

    def _commit(
        self, ledger: dict[PartitionState, int], writes: list[_Write], closed: _Closed
    ) -> None:
        """Each step waits at most the transaction timeout (the broker would abort the
        transaction by then anyway); a step that takes longer fails the transaction."""
        self._flush(writes)
        failed = [write for write in writes if write.future.failed()]
        if failed:
            closed.oversized = _largest_refused(failed, self.settings.output_topic)
            raise failed[0].future.exception
        offsets: Offsets = {}
        for state, last in ledger.items():
            known = offsets.get(state.tp)
            if known is None or known.offset < last + 1:
                offsets[state.tp] = OffsetAndMetadata(last + 1, "", -1)
        timeout_ms = self.settings.transaction_timeout_ms
        send_offsets_within(self.producer, offsets, self.consumer.group_metadata(), timeout_ms)
        commit_within(self.producer, timeout_ms)
        closed.committed = {state: last + 1 for state, last in ledger.items()}

    def _flush(self, writes: list[_Write]) -> None:
        """Wait (at most the transaction timeout) until every write of the transaction is
        acknowledged or failed.

        kafka-python 3.0.12's flush() gives up with UnknownError('Future not done') when it meets
        a batch it has split (a batch over the topic's max.message.bytes is split and sent
        again): flush again until every write is settled. And after some errors (a sequence
        number out of order after a broker restart) it holds a partition's batches until their
        delivery timeout: the transaction fails sooner and the producer is replaced."""
        deadline = time.monotonic() + self.settings.transaction_timeout_ms / 1000
        while (remaining := deadline - time.monotonic()) > 0:
            with contextlib.suppress(UnknownError):
                self.producer.flush(timeout=remaining)
            if all(write.future.is_done for write in writes):
                return
        raise KafkaTimeoutError("the transaction's writes were not acknowledged in time")

    def _replace_producer(self) -> None:
        try:
            close_producer(self.producer, timeout_s=1)
        except Exception as exc:  # it is being replaced anyway
            log.warning("closing the failed producer: %r", exc)
        self.producer = self._new_producer()
        log.info("kafka transactional producer replaced")

    # --- loop ------------------------------------------------------------------------------------

    def due(self, idle: bool = False) -> None:
        """Also closes the transaction as soon as the loop is idle with writes in it: at the
        end of a burst its outputs become visible now, not an interval later."""
        if self._closing.locked():
            return
        # `_ledger` is send-thread state, read here without a lock: a stale answer only closes
        # an empty transaction (a no-op) or closes it on the next turn.
        if self._close_now or (idle and self._ledger) or self.interval_passed():
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
            to_rewind, self._failed_spans = self._failed_spans, set()
            if closed.oversized is not None:
                self.oversized(closed.oversized)
            if closed.error is not None:
                self._failed(closed)
                to_rewind.update(closed.touched)
            for state in to_rewind:
                self.rewind(state)

    def _failed(self, closed: _Closed) -> None:
        metrics.TRANSACTIONS.labels("fatal" if closed.fatal else "aborted").inc()
        log.warning(
            "kafka transaction aborted (%r); re-reading %d partition span(s) from their last "
            "committed position", closed.error, len(closed.touched),
        )
        if not closed.fatal:
            self._replacements_failed = 0
            return
        self._replacements_failed += 1
        if self._replacements_failed > MAX_PRODUCER_RESETS:
            self._on_failure(IngestionFailed(
                f"no transactional producer after {self._replacements_failed} attempts: "
                f"{closed.error!r}"
            ))
        else:
            self._close_now = True  # try again (each attempt waits up to max_block_ms)

    def write_failed(self, state: PartitionState, topic: str, exc: BaseException) -> None:
        """Close the transaction now: it commits what the span handed over before the failure
        (or aborts, if a write already in it failed); the span then re-reads from there."""
        if state in self._failed_spans:
            return  # (every pending write of an aborted transaction fails: once is enough)
        log.warning(
            "kafka write to %s failed for %s-%d: %r; closing the transaction",
            topic, state.tp.topic, state.tp.partition, exc,
        )
        state.sendable = False
        self._failed_spans.add(state)
        self._close_now = True
        self.due()

    async def release(self, states: list[PartitionState], lost: bool) -> Offsets:
        """Commit what the partitions' records wrote while this member still owns them (a lost
        member's offsets are refused: that transaction aborts). The rebalance waits for it at
        most the transaction timeout: a commit still going on after that is safe, since the
        group coordinator only takes its offsets for the generation that owned them, and the
        next owner reads the offsets only once no transaction can change them (KIP-447)."""
        for state in states:
            state.deactivate()  # nothing more of theirs joins the transaction
        closing = asyncio.ensure_future(self.close_transaction())
        self._background.add(closing)
        closing.add_done_callback(self._background.discard)
        try:
            await asyncio.wait_for(
                asyncio.shield(closing), self.settings.transaction_timeout_ms / 1000
            )
        except TimeoutError:
            log.warning("kafka releasing partitions before their transaction is closed")
        return self._positions(states)

    async def finish(self, states: list[PartitionState]) -> Offsets:
        for state in states:
            state.deactivate()
        await self.close_transaction()
        return self._positions(states)

    @staticmethod
    def _positions(states: list[PartitionState]) -> Offsets:
        """The committed positions, for the logs (nothing is left for the consumer to commit)."""
        return {
            state.tp: OffsetAndMetadata(state.committed, "", -1)
            for state in states if state.committed is not None
        }


def _largest_refused(failed: list[_Write], output_topic: str) -> Coordinates | None:
    """Which input's translation made the broker refuse the transaction's writes as too large.

    kafka-python fails every pending write of the transaction with that same error, so the
    culprit is told by size: the largest of them. Only needed where the topic's limit could not
    be read beforehand (`topic_limits`); each aborted transaction then settles one record.
    """
    refused = [
        write for write in failed
        if write.outbound.topic == output_topic and isinstance(write.future.exception, UNSENDABLE)
    ]
    if not refused:
        return None
    return max(refused, key=lambda write: batch_size(write.outbound)).coordinates
