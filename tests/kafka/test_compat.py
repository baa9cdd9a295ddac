"""kafka-python 3.0.12 defects and their work-arounds in `argos_transformer.kafka.compat`, on the
real broker (the rejoin stall and revoked positions have modules of their own):

- it parks a partly returned batch of a paused partition and, once another partition's batch
  has been in line, never fetches that partition again after resume():
  `release_parked_fetches` (what the engine calls on every poll) must make it fetch again;
- a producer whose close() times out on its flush keeps its sender thread running:
  `close_producer` must stop it.
"""

from __future__ import annotations

import signal
import time

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaTimeoutError

from argos_transformer.kafka.compat import close_producer, release_parked_fetches
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


def test_a_producer_whose_flush_times_out_is_closed_all_the_same(
    kafka_broker: KafkaBroker,
) -> None:
    topic = unique("stuck")
    kafka_broker.create_topics(topic, partitions=1)
    producer = KafkaProducer(bootstrap_servers=kafka_broker.bootstrap, acks="all")
    producer.send(topic, b"first").get(timeout=30)  # connected, metadata known
    broker = kafka_broker.server.process
    broker.send_signal(signal.SIGSTOP)  # the broker stops answering (a stuck batch)
    try:
        held = producer.send(topic, b"held")
        with pytest.raises(KafkaTimeoutError):
            producer.close(timeout=1)
        # If this fails, kafka-python's close() stops the sender itself: drop close_producer.
        assert producer._sender.is_alive(), "kafka-python's close() left the sender running"
        close_producer(producer, timeout_s=1)
        assert not producer._sender.is_alive()
        assert held.is_done and held.failed()
    finally:
        broker.send_signal(signal.SIGCONT)
