"""Per-partition offset tracking: which offset may be committed.

Records of one partition finish out of order (many are in flight), but the group offset may only
move past a record once it and every record before it are done (their output or dead-letter
record acknowledged by the broker). `commit_position()` is that contiguous done mark.
"""

from __future__ import annotations

from collections import deque


class OffsetOrderError(ValueError):
    """A record offset that does not follow the previous one (a duplicate or rewound fetch)."""


class PartitionOffsets:
    """Offsets taken from one partition, in fetch order, and which of them are done."""

    def __init__(self) -> None:
        self._pending: deque[int] = deque()  # taken, not yet below the done mark, ascending
        self._done: set[int] = set()
        self._first_taken: int | None = None
        self._last_taken: int | None = None
        self._committable: int | None = None  # next offset to consume once all before are done

    def __len__(self) -> int:
        """Records taken and not yet done."""
        return len(self._pending) - len(self._done)

    @property
    def first_taken(self) -> int | None:
        return self._first_taken

    @property
    def last_taken(self) -> int | None:
        return self._last_taken

    def take(self, offset: int) -> None:
        """Record that `offset` was fetched and is now in flight."""
        if self._last_taken is not None and offset <= self._last_taken:
            raise OffsetOrderError(f"offset {offset} is not after {self._last_taken}")
        self._pending.append(offset)
        if self._first_taken is None:
            self._first_taken = offset
        self._last_taken = offset

    def first_pending(self) -> int | None:
        """The oldest offset taken and not done (where a re-read must start), or None."""
        return self._pending[0] if self._pending else None

    def done(self, offset: int) -> None:
        """Mark `offset` as finished (its output or DLQ record is acknowledged)."""
        if not self._pending or offset < self._pending[0]:
            return  # already below the done mark: a repeated acknowledgement
        self._done.add(offset)
        while self._pending and self._pending[0] in self._done:
            finished = self._pending.popleft()
            self._done.discard(finished)
            self._committable = finished + 1

    def commit_position(self) -> int | None:
        """The offset to commit (the next record to consume), or None if nothing is done yet.

        Offsets need not be contiguous (compaction, transaction markers): the mark is one past
        the last record whose predecessors are all done.
        """
        return self._committable
