"""What the ingestion tests send and how they check that nothing was lost.

Every input record is identified by its coordinates (partition, offset), which both output and
dead-letter records carry in headers; a test passes when the coordinates found in output ∪ DLQ
are exactly the coordinates of the inputs (at-least-once: duplicates allowed, loss not).
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import DEMO_EXAMPLES
from tests.support.kafka import KafkaBroker, StreamingProducer, header

KEYS = [f"customer-{n}".encode() for n in range(12)]
_SEQ = re.compile(r"-(\d+)$")


def good_records(prefix: str, count: int) -> list[tuple[bytes, bytes]]:
    """`count` demo sentences as JSON records `{"text", "id"}`, keyed round-robin over KEYS.

    The id ends in the send sequence number, so per-key order can be checked on the output.
    """
    records = []
    for n in range(count):
        text = DEMO_EXAMPLES[n % len(DEMO_EXAMPLES)][0]
        value = json.dumps({"text": text, "id": f"{prefix}-{n}"}).encode()
        records.append((KEYS[n % len(KEYS)], value))
    return records


def coordinates(record: Any) -> tuple[int, int]:
    return int(header(record, "argos.source.partition")), int(header(record, "argos.source.offset"))


@dataclass
class Outcome:
    """Output and DLQ records of one test, read back from the broker."""

    outputs: list[Any] = field(default_factory=list)
    dead: list[Any] = field(default_factory=list)

    def covered(self) -> set[tuple[int, int]]:
        return {coordinates(r) for r in self.outputs} | {coordinates(r) for r in self.dead}

    def output_ids(self) -> set[str]:
        return {json.loads(r.value)["id"] for r in self.outputs}


def expected_coordinates(broker: KafkaBroker, topic: str) -> set[tuple[int, int]]:
    """Every (partition, offset) of the input topic (no compaction or transactions here)."""
    return {
        (partition, offset)
        for partition, end in broker.end_offsets(topic).items()
        for offset in range(end)
    }


def collect(
    broker: KafkaBroker, output: str, dlq: str, inputs: set[tuple[int, int]], timeout: float,
    read_committed: bool = False,
) -> Outcome:
    """Read output and DLQ until every input is accounted for in one of them (or timeout)."""
    outcome = Outcome()

    def done(records: list[Any]) -> bool:
        outcome.outputs = [r for r in records if r.topic == output]
        outcome.dead = [r for r in records if r.topic == dlq]
        return inputs <= outcome.covered()

    done(broker.read_all(
        [output, dlq], until=done, timeout=timeout, read_committed=read_committed
    ))
    return outcome


def assert_nothing_lost(outcome: Outcome, inputs: set[tuple[int, int]]) -> None:
    missing = inputs - outcome.covered()
    assert not missing, (
        f"{len(missing)} inputs neither translated nor dead-lettered: {sorted(missing)[:10]}"
    )


def assert_translations_correct(outputs: Iterable[Any]) -> None:
    for record in outputs:
        body = json.loads(record.value)
        assert set(body) == {"id", "translation", "source", "target"}
        assert header(record, "argos.id") == body["id"]
        assert header(record, "argos.source.topic")
        # good_records sent demo sentence number seq % 8, which translates exactly
        sequence = int(_SEQ.search(body["id"]).group(1))
        assert body["translation"] == DEMO_EXAMPLES[sequence % len(DEMO_EXAMPLES)][1], body


def assert_per_key_order(outputs: Sequence[Any]) -> None:
    """Per key, the first appearance of each id follows the send order (duplicates allowed)."""
    firsts: dict[bytes, list[int]] = defaultdict(list)
    seen: set[str] = set()
    for record in outputs:
        record_id = json.loads(record.value)["id"]
        if record_id in seen:
            continue
        seen.add(record_id)
        firsts[record.key].append(int(_SEQ.search(record_id).group(1)))
    for key, sequence in firsts.items():
        assert sequence == sorted(sequence), f"key {key!r} out of order: {sequence[:20]}"


def duplicates_keep_their_identity(outputs: list[Any]) -> int:
    """Asserts that every repeated output is the same record again (same id, coordinates and
    translation); returns how many repeats there are."""
    first: dict[str, tuple] = {}
    repeats = 0
    for record in outputs:
        body = json.loads(record.value)
        seen = (coordinates(record), body["translation"], record.key)
        if body["id"] in first:
            repeats += 1
            assert first[body["id"]] == seen, f"a duplicate changed: {body['id']}"
        else:
            first[body["id"]] = seen
    return repeats


def assert_answered_once(outcome: Outcome, inputs: set[tuple[int, int]]) -> None:
    """Exactly once: every input has one output or dead letter, and none has two."""
    answers = Counter(coordinates(record) for record in [*outcome.outputs, *outcome.dead])
    repeated = {position: n for position, n in answers.items() if n > 1}
    assert not repeated, f"{len(repeated)} inputs answered more than once: {list(repeated)[:10]}"
    assert set(answers) == inputs


def assert_translated(
    outcome: Outcome, inputs: set[tuple[int, int]], prefix: str, count: int,
    exactly_once: bool = False,
) -> None:
    """Every input accounted for (exactly once: answered once), the outputs are exactly
    `good_records(prefix, count)` translated, in per-key order."""
    assert_nothing_lost(outcome, inputs)
    if exactly_once:
        assert_answered_once(outcome, inputs)
    assert outcome.output_ids() == {f"{prefix}-{n}" for n in range(count)}
    assert_translations_correct(outcome.outputs)
    assert_per_key_order(outcome.outputs)


def stop_and_account(
    broker: KafkaBroker, input_topic: str, output_topic: str, dlq_topic: str,
    stream: StreamingProducer, prefix: str, planned: int, deadline: float,
) -> Outcome:
    """Stop a stream of `good_records(prefix, planned)` that must still have been running at
    the fault, then check every record it sent: translated exactly, none dead-lettered, per-key
    order kept."""
    sent = stream.stop()
    assert sent < planned, "the stream had ended before the fault"
    inputs = expected_coordinates(broker, input_topic)
    assert len(inputs) == sent

    outcome = collect(broker, output_topic, dlq_topic, inputs, deadline)

    assert_nothing_lost(outcome, inputs)
    assert outcome.dead == []
    assert outcome.output_ids() == {f"{prefix}-{n}" for n in range(sent)}
    assert_translations_correct(outcome.outputs)
    assert_per_key_order(outcome.outputs)
    return outcome
