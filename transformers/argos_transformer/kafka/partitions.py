"""Partition state: what the delivery loop holds for each assigned partition.

A `PartitionState` lives for one *span* of a partition: from its assignment (or a rewind) to its
revocation (or the next rewind). A rewind replaces the state, so the records, tasks and
callbacks of the old span can never touch the new one. `PartitionTable` is the set of current
spans and the seeks still to be applied by the consumer thread.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from kafka.structs import OffsetAndMetadata, TopicPartition

from argos_transformer.kafka import metrics
from argos_transformer.kafka.offsets import PartitionOffsets
from argos_transformer.kafka.outbound import InboundRecord, OutboundRecord


@dataclass(eq=False)
class Taken:
    """A record taken from a poll, with the task deciding its outcome."""

    record: InboundRecord
    taken_at: float
    task: asyncio.Task[OutboundRecord]


@dataclass(eq=False)
class PartitionState:
    tp: TopicPartition
    offsets: PartitionOffsets = field(default_factory=PartitionOffsets)
    queue: deque[Taken] = field(default_factory=deque)  # in offset order, not yet written
    active: bool = True
    # False once nothing more may be handed to the producer for this span. Cleared by the loop
    # (deactivate) or by the send thread itself (a write it could not make, an aborted
    # transaction), which then skips the span's remaining runs.
    sendable: bool = True
    retrying: int = 0  # records in retry after a transient fault: the partition stays paused
    # The group's position for this partition as far as this member knows: where a re-read
    # starts when nothing newer is durable (None until something is committed).
    committed: int | None = None
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    writer: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self.idle.set()

    def deactivate(self) -> None:
        """Write nothing more for this span: its unfinished records are abandoned (whoever reads
        the partition next translates them again)."""
        if not self.active:
            return
        self.active = False
        self.sendable = False
        self.wakeup.set()
        for taken in self.queue:
            taken.task.cancel()
        self.queue.clear()
        self.idle.set()
        if self.writer is not None:
            self.writer.cancel()


StartWriter = Callable[[PartitionState], "asyncio.Task[None]"]


class PartitionTable:
    """The current span of every assigned partition, and the seeks the next poll applies."""

    def __init__(self, start_writer: StartWriter) -> None:
        self._start_writer = start_writer
        self._states: dict[TopicPartition, PartitionState] = {}
        self.pending_seeks: dict[TopicPartition, int] = {}

    def __iter__(self) -> Iterator[PartitionState]:
        return iter(list(self._states.values()))

    def __contains__(self, tp: object) -> bool:
        return tp in self._states

    def get(self, tp: TopicPartition) -> PartitionState | None:
        return self._states.get(tp)

    def partitions(self) -> set[TopicPartition]:
        return set(self._states)

    def start(self, tp: TopicPartition, committed: int | None = None) -> PartitionState:
        state = PartitionState(tp, committed=committed)
        state.writer = self._start_writer(state)
        self._states[tp] = state
        return state

    def forget(self, state: PartitionState) -> None:
        state.deactivate()
        if self._states.get(state.tp) is state:
            del self._states[state.tp]
            self.pending_seeks.pop(state.tp, None)
            with contextlib.suppress(KeyError):
                metrics.LAG.remove(state.tp.topic, str(state.tp.partition))

    def rewind(self, state: PartitionState, position: int | None) -> PartitionState | None:
        """Replace the span with a fresh one that re-reads the partition from `position`."""
        if not state.active or self._states.get(state.tp) is not state:
            return None
        state.deactivate()
        metrics.REWOUND.labels(state.tp.topic).inc()
        fresh = self.start(state.tp, committed=state.committed)
        if position is not None:
            self.pending_seeks[state.tp] = position
        return fresh

    def take_seeks(self) -> dict[TopicPartition, int]:
        seeks, self.pending_seeks = self.pending_seeks, {}
        return seeks

    def in_flight(self) -> int:
        """Records taken and not yet acknowledged (translating, waiting, being written)."""
        return sum(len(state.offsets) for state in self._states.values())

    def clear(self) -> None:
        for state in self:
            state.deactivate()
        self._states.clear()
        self.pending_seeks.clear()


async def wait_idle(states: Iterable[PartitionState], timeout_s: float) -> bool:
    """Wait (bounded) until every active state has all its taken records acknowledged."""
    waits = [asyncio.create_task(state.idle.wait()) for state in states if state.active]
    if not waits:
        return True
    _, pending = await asyncio.wait(waits, timeout=timeout_s)
    for task in pending:
        task.cancel()
    return not pending


def name(tp: TopicPartition) -> str:
    return f"{tp.topic}-{tp.partition}"


def names(partitions: Iterable[TopicPartition]) -> str:
    return ",".join(sorted(name(tp) for tp in partitions)) or "none"


def offsets_text(offsets: Mapping[TopicPartition, OffsetAndMetadata]) -> str:
    return ",".join(f"{name(tp)}@{meta.offset}" for tp, meta in offsets.items()) or "nothing"
