"""kafka-python 3.0.x parks a partly returned batch of a paused partition and, once another
partition's batch has been in line, never fetches that partition again after resume().
`release_parked_fetches` (what the engine calls on every poll) must make it fetch again."""

from __future__ import annotations

import time

import pytest
from kafka import KafkaConsumer, TopicPartition

from argos_transformer.kafka.compat import release_parked_fetches
from tests.support.kafka import KafkaBroker, unique

pytestmark = pytest.mark.kafka


def test_paused_partitions_are_fetched_again_after_resume(kafka_broker: KafkaBroker) -> None:
    topic = unique("pause")
    kafka_broker.create_topics(topic, partitions=3)
    kafka_broker.produce(topic, [(f"k{i % 9}".encode(), b"%d" % i) for i in range(900)])
    consumer = KafkaConsumer(
        bootstrap_servers=kafka_broker.bootstrap, enable_auto_commit=False
    )
    try:
        partitions = [TopicPartition(topic, p) for p in range(3)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        received = 0
        deadline = time.monotonic() + 60
        rounds = 0
        while received < 900 and time.monotonic() < deadline:
            rounds += 1
            # Pause one partition in turn, as the engine does while a record retries.
            paused = partitions[rounds % 3]
            consumer.resume(*[tp for tp in partitions if tp != paused])
            consumer.pause(paused)
            release_parked_fetches(consumer)
            for records in consumer.poll(timeout_ms=100, max_records=7).values():
                received += len(records)
        consumer.resume(*partitions)
        while received < 900 and time.monotonic() < deadline:
            release_parked_fetches(consumer)
            for records in consumer.poll(timeout_ms=100, max_records=7).values():
                received += len(records)
        assert received == 900
    finally:
        consumer.close(autocommit=False)
