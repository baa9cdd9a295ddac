"""The rejoin stall, at its root: kafka-python 3.0.12 never applies a group join round that
completes while no poll() is waiting for it. It either sends another JoinGroup (from the leader,
another rebalance) or, when that round was the leader's rejoin after a metadata change, nothing
at all: the member keeps its old assignment with heartbeats off. A process that polls briefly
with pauses in between, as the delivery loop's consumer thread does while the machine is busy or
while its revocation listener runs, then waits for partitions that never come.

Real consumers on the real broker poll exactly that way (without waiting, a pause between polls)
in the two situations: a member joining a running group, and partitions added to the topic
after its only member joined (so the leader rejoins). Without the work-around the group never
settles, with it the group settles within a few polls.
"""

from __future__ import annotations

import time

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewPartitions

from tests.kafka.services import group_member
from tests.support.kafka import KafkaBroker, unique, wait_until

pytestmark = pytest.mark.kafka

PARTITIONS = 6
ROUNDS = 60  # polls per member, each round followed by a pause
PAUSE_S = 0.05
FIXES = pytest.mark.parametrize("fixed", [False, True], ids=["kafka-python-as-is", "work-around"])


def settled(members: list[KafkaConsumer], topic: str) -> bool:
    """Every member owns a share, and the shares cover the topic's partitions exactly once."""
    shares = [member.assignment() for member in members]
    owned = [tp for share in shares for tp in share]
    every = {TopicPartition(topic, p) for p in range(PARTITIONS)}
    return all(shares) and len(owned) == len(every) and set(owned) == every


def busy_polls(members: list[KafkaConsumer], topic: str) -> int | None:
    """Poll each member without waiting, pausing between rounds; the round it settled in."""
    for round_ in range(ROUNDS):
        for consumer in members:
            consumer.poll(timeout_ms=0)
        if settled(members, topic):
            return round_
        time.sleep(PAUSE_S)
    return None


def joined(consumer: KafkaConsumer, timeout: float = 60) -> None:
    """Poll, waiting as long as a poll may, until the member has joined its group."""
    deadline = time.monotonic() + timeout
    while consumer._coordinator.need_rejoin() and time.monotonic() < deadline:
        consumer.poll(timeout_ms=500)
    assert not consumer._coordinator.need_rejoin(), "the member did not join"


def check(settled_in: int | None, fixed: bool, members: list[KafkaConsumer]) -> None:
    print(f"settled in round {settled_in}")
    if fixed:
        shares = [sorted(tp.partition for tp in m.assignment()) for m in members]
        assert settled_in is not None, f"not settled after {ROUNDS} rounds: {shares}"
    else:
        # If this fails, kafka-python applies such joins itself: drop the work-around.
        assert settled_in is None, "kafka-python applied a join completed between polls"


@FIXES
def test_a_member_joins_a_running_group(kafka_broker: KafkaBroker, fixed: bool) -> None:
    topic, group = unique("rejoin"), unique("group")
    kafka_broker.create_topics(topic, partitions=PARTITIONS)
    first = group_member(kafka_broker, group, fixed)
    second = group_member(kafka_broker, group, fixed)
    try:
        first.subscribe([topic])
        joined(first)
        assert len(first.assignment()) == PARTITIONS
        second.subscribe([topic])  # the group rebalances: the leader must join again

        check(busy_polls([first, second], topic), fixed, [first, second])
    finally:
        for consumer in (first, second):
            consumer.close(autocommit=False)


@FIXES
def test_the_topic_grows_after_the_member_joined(kafka_broker: KafkaBroker, fixed: bool) -> None:
    topic, group = unique("grows"), unique("group")
    kafka_broker.create_topics(topic, partitions=PARTITIONS // 2)
    alone = group_member(kafka_broker, group, fixed, metadata_max_age_ms=300)
    try:
        alone.subscribe([topic])
        joined(alone)
        assert len(alone.assignment()) == PARTITIONS // 2
        grow(kafka_broker, topic, PARTITIONS)
        # the leader rejoins once its metadata has the new partitions
        assert wait_until(lambda: len(alone.partitions_for_topic(topic)) == PARTITIONS, 30)

        check(busy_polls([alone], topic), fixed, [alone])
    finally:
        alone.close(autocommit=False)


def grow(broker: KafkaBroker, topic: str, partitions: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        admin.create_partitions({topic: NewPartitions(total_count=partitions)})
    finally:
        admin.close()
