"""Writing outcomes in offset order per partition.

Records of a partition are translated concurrently, but each partition span has one writer task:
it waits for the oldest record's outcome, then hands it and every finished record behind it to
the producer in one hop to the send thread. A translation larger than its topic takes (known
beforehand, or refused by the producer) is replaced by the input's dead letter in the same place
(`output_too_large`, 413).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import Any

from kafka.errors import MessageSizeTooLargeError

from argos_transformer.kafka import metrics
from argos_transformer.kafka.commits import UNSENDABLE, CommitStep, Coordinates
from argos_transformer.kafka.faults import Fault
from argos_transformer.kafka.outbound import HEADER_ERROR_CLASS, HEADER_ID, OutboundRecord, header
from argos_transformer.kafka.outcome import Abandoned, RecordOutcomes
from argos_transformer.kafka.partitions import PartitionState, Taken
from argos_transformer.kafka.settings import KafkaSettings
from argos_transformer.kafka.topic_limits import TopicLimits

log = logging.getLogger("argos_transformer.kafka")

# Inputs whose translation a broker refused, remembered so that a re-read (exactly once: after
# the transaction holding the refused write was aborted) dead-letters them at once.
TOO_LARGE_REMEMBERED = 10_000

Run = list[tuple[Taken, OutboundRecord]]


class OrderedWriter:
    def __init__(
        self,
        settings: KafkaSettings,
        commits: CommitStep,
        outcomes: RecordOutcomes,
        limits: TopicLimits,
        room: asyncio.Event,
    ) -> None:
        self.settings = settings
        self._commits = commits
        self._outcomes = outcomes
        self._limits = limits
        self._room = room  # set whenever a record is acknowledged
        self._too_large: OrderedDict[Coordinates, None] = OrderedDict()
        commits.oversized = self._remember_too_large

    def start(self, state: PartitionState) -> asyncio.Task[None]:
        tp = state.tp
        return asyncio.get_running_loop().create_task(
            self._write(state), name=f"write-{tp.topic}-{tp.partition}"
        )

    async def _write(self, state: PartitionState) -> None:
        while state.active:
            if not state.queue:
                state.wakeup.clear()
                await state.wakeup.wait()
                continue
            try:
                await state.queue[0].task
            except (asyncio.CancelledError, Abandoned):
                return  # the partition span was abandoned, or ingestion is stopping
            if not state.active:
                return
            run: Run = []
            while state.queue and _succeeded(state.queue[0].task):
                taken = state.queue.popleft()
                run.append((taken, taken.task.result()))
            await self.send(state, run)

    async def send(self, state: PartitionState, run: Run) -> None:
        """Hand `run` to the producer in order, in one hop to the send thread."""
        loop = asyncio.get_running_loop()
        sent, refused = await self._commits.threads.on_sender(self._send_in_order, state, run)
        for taken, outbound, future in sent:
            future.add_callback(
                lambda _metadata, t=taken, o=outbound: loop.call_soon_threadsafe(
                    self._acked, state, t, o
                )
            )
            future.add_errback(
                lambda exc, t=taken, o=outbound: loop.call_soon_threadsafe(
                    self._failed, state, t, o, exc
                )
            )
        if refused is not None and state.active:
            topic, exc = refused
            self._commits.write_failed(state, topic, exc)

    def _send_in_order(
        self, state: PartitionState, run: Run
    ) -> tuple[list[tuple[Taken, OutboundRecord, Any]], tuple[str, BaseException] | None]:
        """On the send thread. Stops at the first record that cannot be handed over (the span
        is then not sendable any more) and returns what was sent, and why it stopped."""
        sent = []
        topic = self.settings.output_topic
        try:
            if state.sendable:
                self._commits.before_send()
            for taken, outbound in run:
                topic = outbound.topic
                if not state.sendable:
                    break
                if outbound.topic == self.settings.output_topic and (
                    _coordinates(taken) in self._too_large or not self._limits.fits(outbound)
                ):
                    outbound = self._too_large_dead_letter(taken, outbound, None)
                    topic = outbound.topic
                try:
                    future = self._producer_send(outbound)
                except UNSENDABLE as exc:
                    if outbound.topic != self.settings.output_topic:
                        raise
                    outbound = self._too_large_dead_letter(taken, outbound, exc)
                    topic = outbound.topic
                    future = self._producer_send(outbound)
                self._commits.sent(state, taken.record, outbound, future)
                sent.append((taken, outbound, future))
        except Exception as exc:  # the rest of the span is read again
            state.sendable = False
            return sent, (topic, exc)
        return sent, None

    def _producer_send(self, outbound: OutboundRecord) -> Any:
        return self._commits.producer.send(
            outbound.topic, value=outbound.value, key=outbound.key, headers=outbound.headers
        )

    def _too_large_dead_letter(
        self, taken: Taken, outbound: OutboundRecord, exc: BaseException | None
    ) -> OutboundRecord:
        """The input's dead letter, in place of a translation the broker cannot take."""
        limit = self._limits.limit(outbound.topic)
        if exc is not None:
            reason = str(exc)
        elif limit is not None:
            reason = f"its max.message.bytes is {limit}"
        else:
            reason = "the broker refused it before"
        message = (
            f"the output record ({len(outbound.value or b'')} bytes of value) is larger than "
            f"topic {outbound.topic} accepts: {reason}"
        )
        exception = type(exc).__name__ if exc is not None else MessageSizeTooLargeError.__name__
        fault = Fault(False, "output_too_large", message, 413, exception)
        return self._outcomes.dead_letter(
            taken.record, fault, 1, header(outbound.headers, HEADER_ID)
        )

    def _acked(self, state: PartitionState, taken: Taken, outbound: OutboundRecord) -> None:
        state.offsets.done(taken.record.offset)
        self._room.set()
        if outbound.topic == self.settings.output_topic:
            metrics.PRODUCED.labels(outbound.topic).inc()
        else:
            error_class = header(outbound.headers, HEADER_ERROR_CLASS) or "unknown"
            metrics.DEAD_LETTERED.labels(outbound.topic, error_class).inc()
        metrics.LATENCY.observe(time.monotonic() - taken.taken_at)
        if state.active and not state.offsets:
            state.idle.set()

    def _failed(
        self, state: PartitionState, taken: Taken, outbound: OutboundRecord, exc: BaseException
    ) -> None:
        """The broker refused a write (after the producer's own retries)."""
        if outbound.topic == self.settings.output_topic and isinstance(exc, UNSENDABLE):
            self._limits.forget(outbound.topic)
            if not self._commits.exactly_once and state.active:
                # The rest of the partition is written normally; this input is dead-lettered
                # (out of order on the dead-letter topic, which order does not matter for).
                dead = self._too_large_dead_letter(taken, outbound, exc)
                self._commits.spawn(self.send(state, [(taken, dead)]))
                return
        if state.active:
            self._commits.write_failed(state, outbound.topic, exc)

    def _remember_too_large(self, coordinates: Coordinates) -> None:
        self._too_large[coordinates] = None
        while len(self._too_large) > TOO_LARGE_REMEMBERED:
            self._too_large.popitem(last=False)


def _coordinates(taken: Taken) -> Coordinates:
    record = taken.record
    return record.topic, record.partition, record.offset


def _succeeded(task: asyncio.Task[OutboundRecord]) -> bool:
    return task.done() and not task.cancelled() and task.exception() is None
