"""A partition given back to the member that gave it up is read from the group's committed offset.

kafka-python 3.0.12 keeps a member's fetch position for a partition that an eager rebalance
revokes and then assigns back to it. Records the member abandoned on revocation (translations
still running after the grace) would be skipped, and its next commit would move the group past
them: lost, in both processing guarantees. On the real broker: first a plain consumer shows
kafka-python's behaviour and the work-around (`forget_revoked_positions`), then the transformer
process abandons records to a rebalance that gives every partition back to it, and must still
translate every input (exactly once under exactly once).

The rebalance comes from a second member joining the group with a subscription to another topic:
the group rebalances, and every partition of the input goes back to the only member subscribed
to it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from argos_transformer.kafka.compat import forget_revoked_positions
from tests.kafka.accounting import assert_translated, collect, expected_coordinates, good_records
from tests.kafka.latency_proxy import LatencyProxy
from tests.kafka.services import (
    Predictor,
    Topics,
    Transformer,
    TransformerFactory,
    group_member,
)
from tests.support.kafka import KafkaBroker, unique, wait_until
from tests.support.metrics import metric_value

pytestmark = pytest.mark.kafka

RECORDS = 10
COMMITTED = 3
STEP_TIMEOUT = 60.0
# The predictor's responses are held this long while the rebalance happens: far beyond the
# bridge's revocation grace (2 s), so the records in flight are abandoned.
HELD_S = 60.0
DEADLINE = 120.0


@contextmanager
def joining_member(broker: KafkaBroker, group: str, topic: str) -> Iterator[KafkaConsumer]:
    """A member that joins `group` subscribed to `topic` only, and leaves at the end."""
    consumer = group_member(broker, group, auto_offset_reset="earliest")
    consumer.subscribe([topic])
    try:
        yield consumer
    finally:
        consumer.close(autocommit=False)


class Revocations(ConsumerRebalanceListener):
    def __init__(self, consumer: KafkaConsumer, fixed: bool) -> None:
        self.consumer = consumer
        self.fixed = fixed
        self.events: list[str] = []

    def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self.events.append("revoked " + ",".join(sorted(str(tp.partition) for tp in revoked)))
        if self.fixed:
            forget_revoked_positions(self.consumer, revoked)

    def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.events.append("assigned " + ",".join(sorted(str(tp.partition) for tp in assigned)))


@pytest.mark.parametrize("fixed", [False, True], ids=["kafka-python-as-is", "work-around"])
def test_a_partition_given_back_resumes_at_the_committed_offset(
    kafka_broker: KafkaBroker, fixed: bool
) -> None:
    topic, other, group = unique("back"), unique("other"), unique("group")
    kafka_broker.create_topics(topic, other, partitions=1)
    kafka_broker.produce(topic, [(b"k", b"%d" % n) for n in range(RECORDS)])
    tp = TopicPartition(topic, 0)
    consumer = group_member(kafka_broker, group, auto_offset_reset="earliest")
    listener = Revocations(consumer, fixed)
    consumer.subscribe([topic], listener=listener)
    try:
        read = poll_values(consumer, RECORDS)
        assert read == list(range(RECORDS))
        # The member finished only the first records: the group's position is after them.
        consumer.commit({tp: OffsetAndMetadata(COMMITTED, "", -1)})
        again: list[int] = []  # what the member reads from now on
        with joining_member(kafka_broker, group, other) as second:
            deadline = time.monotonic() + STEP_TIMEOUT
            while time.monotonic() < deadline and not (
                second.assignment() and listener.events[-2:] == ["revoked 0", "assigned 0"]
            ):
                again += values(consumer.poll(timeout_ms=100))
                second.poll(timeout_ms=100)
            assert listener.events[-2:] == ["revoked 0", "assigned 0"], listener.events
            assert second.assignment() == {TopicPartition(other, 0)}
            again += poll_values(consumer, RECORDS - COMMITTED, also=second)
    finally:
        consumer.close(autocommit=False)
    if fixed:
        # (read once per rebalance that gave the partition back: there may be two)
        assert sorted(set(again)) == list(range(COMMITTED, RECORDS)), again
    else:
        # If this fails, kafka-python resumes from the committed offset itself: drop the
        # work-around.
        assert again == [], "kafka-python no longer keeps the position of a partition given back"


def poll_values(
    consumer: KafkaConsumer, count: int, also: KafkaConsumer | None = None, timeout: float = 5.0
) -> list[int]:
    """Poll (keeping `also` in the group too) until `count` records came or `timeout` passed
    without one; their values as numbers."""
    read: list[int] = []
    idle_until = time.monotonic() + timeout
    while len(read) < count and time.monotonic() < idle_until:
        if polled := values(consumer.poll(timeout_ms=100)):
            read += polled
            idle_until = time.monotonic() + timeout
        if also is not None:
            also.poll(timeout_ms=0)
    return read


def values(polled: dict[TopicPartition, list[Any]]) -> list[int]:
    return [int(record.value) for records in polled.values() for record in records]


@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
def test_records_abandoned_to_a_rebalance_are_translated_when_their_partitions_come_back(
    kafka_broker: KafkaBroker, topics: Topics, shared_predictor: Predictor,
    kafka_transformer: TransformerFactory, guarantee: str,
) -> None:
    exactly_once = guarantee == "exactly_once"
    other = unique("other")
    kafka_broker.create_topics(other, partitions=1)
    count = 60
    proxy = LatencyProxy("127.0.0.1", shared_predictor.http_port, latency_s=HELD_S).start()
    try:
        kafka_broker.produce(topics.input, good_records("back", count))
        transformer = kafka_transformer(
            proxy.host, "--kafka_processing_guarantee", guarantee,
        )
        assert wait_until(lambda: consumed(transformer) >= count, STEP_TIMEOUT), (
            "every record is taken and waits for the held predictor"
        )
        assert wait_until(lambda: proxy.delayed_chunks > 0, STEP_TIMEOUT)
        marker = len(transformer.server.log())
        with joining_member(kafka_broker, topics.group, other) as second:
            assert wait_until(lambda: poll_assigned(second), STEP_TIMEOUT), (
                "the second member joined the group"
            )
            assert wait_until(
                lambda: "kafka partitions assigned" in transformer.server.log()[marker:],
                STEP_TIMEOUT,
            ), transformer.server.log()[-3000:]
            proxy.latency_s = 0.0  # the abandoned records' responses are never read
        log = transformer.server.log()[marker:]
        revoked_all = ",".join(f"{topics.input}-{p}" for p in range(3))
        assert f"kafka partitions {revoked_all} revoked" in log, log
        assert f"kafka partitions assigned {revoked_all}" in log, log
        inputs = expected_coordinates(kafka_broker, topics.input)
        outcome = collect(
            kafka_broker, topics.output, topics.dlq, inputs, DEADLINE, read_committed=exactly_once
        )
    finally:
        proxy.stop()

    assert_translated(outcome, inputs, "back", count, exactly_once)
    assert outcome.dead == []
    assert consumed(transformer) > count, "the abandoned records were read again"


def consumed(transformer: Transformer) -> float:
    return metric_value(transformer.metrics(), "argos_kafka_records_consumed_total")


def poll_assigned(consumer: KafkaConsumer) -> bool:
    consumer.poll(timeout_ms=200)
    return bool(consumer.assignment())
