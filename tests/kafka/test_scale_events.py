"""Scale events lose nothing: a 6-partition topic with a 20,000-record backlog and a live stream
on top, consumed by transformers that come and go the way an autoscaler makes them (one, then a
second and a third added mid-stream, one stopped with SIGTERM, one killed with SIGKILL) while the
broker restarts once. For each processing guarantee, on the real broker and predictor:

- at least once: every input has an output or dead letter, duplicates are the same record again
  (counted and reported);
- exactly once: read with read_committed, every input has exactly one output or dead letter;
- both: exact translations, per-key order, the group's offsets at the end of the input.

The end-to-end rate (first record taken to last output written) and the duplicates are printed.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator

import pytest

from tests.kafka.accounting import (
    KEYS,
    assert_translated,
    collect,
    duplicates_keep_their_identity,
    expected_coordinates,
    good_records,
)
from tests.kafka.services import (
    Predictor,
    Transformer,
    TransformerFactory,
    running_broker,
    topic_names,
)
from tests.support.kafka import KafkaBroker, StreamingProducer, wait_until
from tests.support.metrics import metric_value

pytestmark = pytest.mark.kafka

PARTITIONS = 6
BACKLOG = 20_000
POISON_EVERY = 1_000  # one undecodable record per thousand: dead letters in the same run
POISON = b'{"text": "The cat'
LIVE = 20_000  # at most, at 100 records/s: stopped once every fault has happened
STEP_TIMEOUT = 120.0
DEADLINE = 300.0


@pytest.fixture(scope="module")
def scale_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """A broker of this module's own: it is restarted mid-test."""
    yield from running_broker(KafkaBroker(tmp_path_factory.mktemp("scale-kafka")))


def backlog() -> list[tuple]:
    records: list[tuple] = []
    for n, record in enumerate(good_records("scale", BACKLOG)):
        if n % POISON_EVERY == 0:
            records.append((KEYS[n % len(KEYS)], POISON))
        records.append(record)
    return records


def good_ids_in(broker: KafkaBroker, topic: str, count: int) -> set[str]:
    """The ids of the translatable records among the first `count` records of `topic`."""
    records = broker.read_all(topic, until=lambda got: len(got) >= count, timeout=STEP_TIMEOUT)
    assert len(records) == count
    return {json.loads(r.value)["id"] for r in records if r.value != POISON}


def produced(member: Transformer) -> float:
    return metric_value(member.metrics(), "argos_kafka_records_produced_total")


def consuming(member: Transformer, topic: str) -> bool:
    return f"kafka partitions assigned {topic}" in member.server.log() and (
        metric_value(member.metrics(), "argos_kafka_records_consumed_total") > 0
    )


@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
def test_scale_out_scale_in_kill_and_broker_restart_lose_nothing(
    scale_broker: KafkaBroker, shared_predictor: Predictor,
    kafka_transformer: TransformerFactory, guarantee: str,
) -> None:
    broker, names = scale_broker, topic_names()
    broker.create_topics(names.input, names.output, names.dlq, partitions=PARTITIONS)
    exactly_once = guarantee == "exactly_once"
    flags = ["--kafka_processing_guarantee", guarantee]
    if exactly_once:  # a killed member's open transaction is aborted after this
        flags += ["--kafka_transaction_timeout_ms", "6000"]

    def member() -> Transformer:
        return kafka_transformer(shared_predictor.host, *flags, broker=broker, names=names)

    broker.produce(names.input, backlog())
    live_records = good_records("scale", BACKLOG + LIVE)[BACKLOG:]  # ids go on in sequence
    live = StreamingProducer(
        broker, names.input, live_records, duration=LIVE / 100, ticks_per_s=10
    ).start()
    started = time.time()
    steps: list[str] = []

    def step(what: str) -> None:
        steps.append(f"{what} at {time.time() - started:.0f}s")

    first = member()
    assert wait_until(lambda: produced(first) >= 1_500, STEP_TIMEOUT)
    second = member()
    assert wait_until(lambda: consuming(second, names.input), STEP_TIMEOUT)
    step("second member")
    third = member()
    assert wait_until(lambda: consuming(third, names.input), STEP_TIMEOUT)
    step("third member")
    second.server.signal(signal.SIGTERM)
    assert second.server.process.wait(STEP_TIMEOUT) == 0
    assert "kafka drained finished=True" in second.server.log()
    step("SIGTERM")
    first.server.signal(signal.SIGKILL)
    first.server.process.wait(30)
    step("SIGKILL")
    before_restart = produced(third)
    assert wait_until(lambda: produced(third) > before_restart, STEP_TIMEOUT), (
        "the last member took over"
    )
    broker.restart(down_for=2)
    step("broker restart")
    assert wait_until(lambda: produced(third) > before_restart + 500, STEP_TIMEOUT)
    live_sent = live.stop()
    inputs = expected_coordinates(broker, names.input)
    # The input holds every record its producer confirmed (and, after the broker restart,
    # possibly a few it could not confirm): account for what is there.
    planned = good_ids_in(broker, names.input, len(inputs))
    assert len(planned) >= BACKLOG + live_sent, (len(planned), BACKLOG, live_sent, len(inputs))
    assert planned == {f"scale-{n}" for n in range(len(planned))}

    outcome = collect(
        broker, names.output, names.dlq, inputs, DEADLINE, read_committed=exactly_once
    )

    assert_translated(outcome, inputs, "scale", len(planned), exactly_once)
    duplicates = duplicates_keep_their_identity(outcome.outputs)
    assert len(outcome.dead) >= BACKLOG // POISON_EVERY
    assert all(r.value == POISON for r in outcome.dead), "only the poison is dead"
    ends = broker.end_offsets(names.input)
    assert wait_until(lambda: broker.committed(names.group, names.input) == ends, STEP_TIMEOUT), (
        "the group's offsets reach the end of the input"
    )
    last_output = max(r.timestamp for r in [*outcome.outputs, *outcome.dead]) / 1000
    seconds = last_output - started
    print(
        f"\nscale events [{guarantee}]: {len(inputs)} inputs ({len(planned) - BACKLOG} live), "
        f"{duplicates} duplicate outputs, {len(inputs) / seconds:.0f} messages/s end to end "
        f"over {seconds:.0f}s; {', '.join(steps)}; {len(outcome.dead)} dead letters"
    )
