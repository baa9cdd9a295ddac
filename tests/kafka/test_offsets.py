"""The contiguous done mark: never past an unfinished record, whatever order records finish in."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from argos_transformer.kafka.offsets import OffsetOrderError, PartitionOffsets


def test_mark_waits_for_the_oldest_record() -> None:
    offsets = PartitionOffsets()
    for offset in (10, 11, 12):
        offsets.take(offset)
    assert offsets.commit_position() is None
    offsets.done(12)
    offsets.done(11)
    assert offsets.commit_position() is None, "10 is still in flight"
    assert len(offsets) == 1
    offsets.done(10)
    assert offsets.commit_position() == 13
    assert len(offsets) == 0


def test_gaps_in_offsets_are_skipped() -> None:
    offsets = PartitionOffsets()
    for offset in (3, 7, 8):  # compaction or transaction markers leave gaps
        offsets.take(offset)
    offsets.done(3)
    assert offsets.commit_position() == 4
    offsets.done(8)
    assert offsets.commit_position() == 4
    assert offsets.first_pending() == 7
    offsets.done(7)
    assert offsets.commit_position() == 9
    assert offsets.first_pending() is None


def test_out_of_order_take_is_refused() -> None:
    offsets = PartitionOffsets()
    offsets.take(5)
    with pytest.raises(OffsetOrderError):
        offsets.take(5)
    with pytest.raises(OffsetOrderError):
        offsets.take(2)


def test_repeated_acknowledgement_is_harmless() -> None:
    offsets = PartitionOffsets()
    offsets.take(0)
    offsets.take(1)
    offsets.done(0)
    offsets.done(0)
    assert offsets.commit_position() == 1
    assert len(offsets) == 1


@given(
    st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=60),
    st.randoms(use_true_random=False),
)
def test_mark_is_always_the_first_unfinished_offset(gaps: list[int], rng) -> None:
    taken = []
    position = 0
    for gap in gaps:
        position += gap
        taken.append(position)
    offsets = PartitionOffsets()
    for offset in taken:
        offsets.take(offset)
    order = taken[:]
    rng.shuffle(order)
    finished: set[int] = set()
    for offset in order:
        offsets.done(offset)
        finished.add(offset)
        unfinished = [o for o in taken if o not in finished]
        mark = offsets.commit_position()
        if unfinished and unfinished[0] == taken[0]:
            assert mark is None
        elif unfinished:
            # one past the last offset before the first unfinished one
            before = [o for o in taken if o < unfinished[0]]
            assert mark == before[-1] + 1
            assert mark <= unfinished[0]
        else:
            assert mark == taken[-1] + 1
        assert len(offsets) == len(unfinished)
